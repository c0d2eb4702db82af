"""`carepath patient add|list|show`, `course start` and `transition` as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from typer.testing import CliRunner

from carepath.cli import app
from models.observation import Observation
from models.patient import Patient
from models.session import engine_for, transaction
from tests.pathways.factories import case

runner = CliRunner()

ADD = [
    "patient", "add", "--mrn", "MRN-001", "--name", "Ada Example", "--birth-date", "1968-03-14",
    "--sex", "female", "--lineage", "B", "--cd19", "positive", "--cd22", "negative",
    "--ph-negative", "--no-kmt2a", "--status", "relapsed", "--relapses", "2026-11-02",
    "--prior-therapies", "hyper_cvad", "--fitness", "fit", "--hct-eligible", "yes", "--goal", "cure",
]  # fmt: skip


def run(*args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, list(args))


def patient_count(url: str) -> int:
    from models.session import engine_for

    with transaction(engine_for(url)) as s:
        return s.execute(select(func.count()).select_from(Patient)).scalar_one()


def test_add_from_options_then_list_and_show(cli_env: str) -> None:
    result = run(*ADD)
    assert result.exit_code == 0, result.output
    assert "added patient 1" in result.output
    listing = run("patient", "list")
    assert "MRN-001" in listing.output and "suspected_rr" in listing.output
    shown = run("patient", "show", "1")
    assert shown.exit_code == 0
    for expected in ("Ada Example", "positive / negative", "enrol", "suspected_rr", "fit"):
        assert expected in shown.output


def test_add_from_a_case_file_imports_facts_and_labs(cli_env: str, tmp_path: Path) -> None:
    document = case(
        labs=[
            {
                "test": "total_bilirubin",
                "value": 34.2,
                "unit": "umol/L",
                "uln": 20.5,
                "at": "2026-11-22T08:10:00-05:00",
            }
        ]
    )
    path = tmp_path / "case.json"
    path.write_text(json.dumps(document))
    result = run("patient", "add", "--mrn", "C-1", "--name", "From Case", "--case", str(path))
    assert result.exit_code == 0, result.output
    from models.session import engine_for

    with transaction(engine_for(cli_env)) as s:
        lab = s.execute(select(Observation)).scalar_one()
    assert lab.code == "total_bilirubin" and lab.unit == "mg/dL"
    assert lab.value == pytest.approx(2.0) and lab.source == "case-file"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (["--lineage", "X"], "--lineage: must be 'B' or 'T'"),
        (["--birth-date", "1968-02-30"], "--birth-date: must be a date, YYYY-MM-DD"),
        (["--relapses", "2026-11-02,2025-01-01"], "--relapses: must be in order, oldest first"),
        (["--mrn", "bad mrn!"], "--mrn: must be 1 to 32 letters"),
        (["--cd22", "weak"], "--cd22: must be 'positive' or 'negative'"),
        (["--relapses", "2099-01-01"], "--relapses: is in the future (after 20"),
    ],
)
def test_bad_input_names_the_field_exits_2_and_writes_nothing(
    cli_env: str, change: list[str], message: str
) -> None:
    args = list(ADD)
    flag = change[0]
    at = args.index(flag)
    args[at : at + 2] = change
    result = run(*args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert patient_count(cli_env) == 0


@pytest.mark.parametrize(
    ("lab", "message"),
    [
        # rule: MON-22 — 45 platelets/uL from a K/uL report; a result from the future; 1890
        (
            {"test": "platelets", "value": 45, "unit": "/uL"},
            "labs[0].value: 45 /µL is not plausible",
        ),
        (
            {"test": "alt", "value": 40, "unit": "U/L", "at": "2099-01-01T08:00:00-05:00"},
            "labs[0].at: is in the future",
        ),
        (
            {"test": "alt", "value": 40, "unit": "U/L", "at": "1890-01-01T08:00:00-05:00"},
            "labs[0].at: is before 1900",
        ),
    ],
)
def test_a_case_file_lab_result_is_checked_by_the_lab_catalogue(
    cli_env: str, tmp_path: Path, lab: dict[str, object], message: str
) -> None:
    document = case(labs=[{"at": "2026-11-22T08:10:00-05:00", **lab}])
    path = tmp_path / "case.json"
    path.write_text(json.dumps(document))
    result = run("patient", "add", "--mrn", "C-3", "--name", "Late Lab", "--case", str(path))
    assert result.exit_code == 2
    assert message in result.stderr
    assert patient_count(cli_env) == 0


def test_unknown_case_field_is_refused(cli_env: str, tmp_path: Path) -> None:
    document = case(**{"disease.cd_22": "positive"})
    path = tmp_path / "case.json"
    path.write_text(json.dumps(document))
    result = run("patient", "add", "--mrn", "C-2", "--name", "X", "--case", str(path))
    assert result.exit_code == 2
    assert "disease.cd_22: unknown field" in result.stderr
    assert patient_count(cli_env) == 0


def test_duplicate_mrn_is_refused_and_writes_nothing(cli_env: str) -> None:
    assert run(*ADD).exit_code == 0
    again = list(ADD)
    again[again.index("--mrn") + 1] = " mrn-001 "  # the same MRN, typed otherwise
    result = run(*again)
    assert result.exit_code == 2
    assert result.stderr == (
        "carepath: error: --mrn: already belongs to Ada Example (patient 1): "
        "open that record instead of adding the patient again\n"
    )
    assert patient_count(cli_env) == 1


def test_transition_applies_or_refuses_with_exit_2(cli_env: str) -> None:
    assert run(*ADD).exit_code == 0
    assert (
        run("user", "add", "drb", "--role", "clinician", "--name", "Dr B", "--generate").exit_code
        == 0
    )
    refused = run("transition", "1", "complete_workup", "--actor", "drb", "--reason", "too early")
    assert refused.exit_code == 2
    assert "not allowed for patient 1 in phase 'suspected_rr'" in refused.stderr
    ok = run("transition", "1", "document_rr_diagnosis", "--actor", "drb", "--reason", "marrow")
    assert ok.exit_code == 0 and "suspected_rr -> workup" in ok.output
    unknown = run("transition", "1", "fly", "--actor", "drb", "--reason", "x")
    assert unknown.exit_code == 2 and "unknown event 'fly'" in unknown.stderr
    shown = run("patient", "show", "1")
    assert "document_rr_diagnosis" in shown.output and "drb" in shown.output
    with transaction(engine_for(cli_env)) as s:
        audited = s.execute(
            text("SELECT actor, credential FROM audit_event WHERE action = 'transition'")
        ).all()
    assert [tuple(row) for row in audited] == [("drb", "cli")]


def test_a_transition_is_confirmed_by_an_active_clinician_account(cli_env: str) -> None:
    assert run(*ADD).exit_code == 0
    assert (
        run(
            "user", "add", "cora", "--role", "coordinator", "--name", "Cora", "--generate"
        ).exit_code
        == 0
    )
    for actor, problem in (
        ("Dr B", "'Dr B' is no active account"),  # a free-text name: no account, no audit
        ("cora", "'cora' is a coordinator account; a phase change is a clinician's"),
    ):
        refused = run("transition", "1", "document_rr_diagnosis", "--actor", actor, "--reason", "x")
        assert refused.exit_code == 2 and problem in refused.stderr, refused.stderr
    assert "suspected_rr" in run("patient", "show", "1").output  # nothing applied


def test_course_start_records_the_cycle(cli_env: str) -> None:
    assert run(*ADD).exit_code == 0
    bad = run("course", "start", "1", "--regimen", "aspirin", "--anchor", "2026-11-20")
    assert bad.exit_code == 2 and "regimen: unknown option id" in bad.stderr
    ok = run("course", "start", "1", "--regimen", "inotuzumab_ozogamicin", "--anchor", "2026-11-20")
    assert ok.exit_code == 0 and "cycle 1 from 2026-11-20" in ok.output


def test_a_course_is_recorded_under_an_active_account_or_the_operator(cli_env: str) -> None:
    assert run(*ADD).exit_code == 0
    for name, role in (("cora", "coordinator"), ("quinn", "quality")):
        assert run("user", "add", name, "--role", role, "--name", name, "--generate").exit_code == 0
    start = ("course", "start", "1", "--regimen", "inotuzumab_ozogamicin", "--anchor")
    for actor, problem in (
        ("Dr Who", "'Dr Who' is no active account"),  # free text: no account, no audit
        ("quinn", "'quinn' is a quality account; recording a course is a coordinator or"),
    ):
        refused = run(*start, "2026-11-20", "--actor", actor)
        assert refused.exit_code == 2 and problem in refused.stderr, refused.stderr
    assert run(*start, "2026-11-20", "--actor", "cora").exit_code == 0
    assert run(*start, "2026-12-18", "--cycle", "2").exit_code == 0  # the operator's own
    with transaction(engine_for(cli_env)) as s:
        created = s.execute(text("SELECT created_by FROM course ORDER BY id")).scalars().all()
        audited = s.execute(
            text("SELECT actor, role FROM audit_event WHERE entity = 'course' ORDER BY id")
        ).all()
    assert created[0] == "cora" and created[1].startswith("cli:") and len(created) == 2
    assert ("cora", "coordinator") in [tuple(r) for r in audited]
    assert all(role != "clinician" for _, role in audited)  # nobody claims a role at the shell


def test_show_unknown_patient(cli_env: str) -> None:
    result = run("patient", "show", "999")
    assert result.exit_code == 2 and "patient 999 not found" in result.stderr


def test_course_start_before_p8_raises_the_blin_01_alert_the_day_it_is_recorded(
    cli_env: str,
) -> None:
    # rule: BLIN-01, IND-11 — critical from the day it is planned, before the infusion, once.
    from datetime import timedelta

    from sqlalchemy import text

    from carepath.timeutil import clinic_today
    from models.session import engine_for

    assert run(*ADD).exit_code == 0
    today = clinic_today("America/New_York")
    args = (
        "course", "start", "1", "--regimen", "blinatumomab", "--phase", "prephase",
        "--prephase-start", today.isoformat(), "--anchor", (today + timedelta(days=3)).isoformat(),
    )  # fmt: skip
    first = run(*args)
    assert first.exit_code == 0, first.output
    assert "1 new alert(s)" in first.output
    again = run(*args)  # recorded again with the same dates: the same alert, not raised twice
    assert again.exit_code == 0 and "new alert" not in again.output
    with engine_for(cli_env).connect() as conn:
        alerts = conn.execute(
            text("SELECT code, severity, rule_id, task_id FROM clinical_alert")
        ).all()
        due = conn.execute(
            text("SELECT due - now() < interval '2 hours' FROM care_task WHERE id = :id"),
            {"id": alerts[0].task_id},
        ).scalar_one()
    assert [(a.code, a.severity, a.rule_id) for a in alerts] == [
        ("blinatumomab_c1d1_before_prephase_complete", "critical", "BLIN-01")
    ]
    assert due  # the review task is due within the critical review hours, before day 1
    late = run(
        "course", "start", "1", "--regimen", "blinatumomab", "--phase", "prephase",
        "--prephase-start", (today + timedelta(days=5)).isoformat(), "--anchor", today.isoformat(),
    )  # fmt: skip
    assert late.exit_code == 2 and "treatment.prephase_start" in late.stderr


def test_a_case_file_whose_facts_contradict_each_other_adds_no_patient(
    cli_env: str, tmp_path: Path
) -> None:
    document = case(
        **{
            "disease.abl1_kinase_mutations": ["T315I"],
            "history.prior_allogeneic_hct_date": "2030-01-01",
        }
    )
    path = tmp_path / "contradicting.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    result = run("patient", "add", "--mrn", "MRN-C", "--name", "Contra", "--case", str(path))
    assert result.exit_code == 2 and result.stdout == ""
    lines = result.stderr.splitlines()
    assert [line.split(": ")[2] for line in lines] == [
        "history.prior_allogeneic_hct_date, as_of",
        "disease.abl1_kinase_mutations, disease.ph_positive",
    ]
    assert patient_count(cli_env) == 0
