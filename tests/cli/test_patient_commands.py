"""`carepath patient add|list|show`, `course start` and `transition` as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from carepath.cli import app
from models.observation import Observation
from models.patient import Patient
from models.session import transaction
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
    refused = run("transition", "1", "complete_workup", "--actor", "Dr B", "--reason", "too early")
    assert refused.exit_code == 2
    assert "not allowed for patient 1 in phase 'suspected_rr'" in refused.stderr
    ok = run("transition", "1", "document_rr_diagnosis", "--actor", "Dr B", "--reason", "marrow")
    assert ok.exit_code == 0 and "suspected_rr -> workup" in ok.output
    unknown = run("transition", "1", "fly", "--actor", "Dr B", "--reason", "x")
    assert unknown.exit_code == 2 and "unknown event 'fly'" in unknown.stderr
    shown = run("patient", "show", "1")
    assert "document_rr_diagnosis" in shown.output and "Dr B" in shown.output


def test_course_start_records_the_cycle(cli_env: str) -> None:
    assert run(*ADD).exit_code == 0
    bad = run("course", "start", "1", "--regimen", "aspirin", "--anchor", "2026-11-20")
    assert bad.exit_code == 2 and "regimen: unknown option id" in bad.stderr
    ok = run("course", "start", "1", "--regimen", "inotuzumab_ozogamicin", "--anchor", "2026-11-20")
    assert ok.exit_code == 0 and "cycle 1 from 2026-11-20" in ok.output


def test_show_unknown_patient(cli_env: str) -> None:
    result = run("patient", "show", "999")
    assert result.exit_code == 2 and "patient 999 not found" in result.stderr
