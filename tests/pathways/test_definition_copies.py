"""The loader refuses a definition whose copies of one fact disagree (issue 13, point 4).

Each test loads a deliberately broken copy of the shipped definition and expects
the refusal naming the disagreement; the shipped definition itself loads.
"""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from pathways.decisions import Alert
from pathways.definition import DEFINITIONS_DIR, load_definition, shipped_definition
from pathways.engine import Policy, escalation_grace_hours, review_task_for, signature_task_for
from pathways.errors import DefinitionError
from pathways.vocab import Role, Severity

SHIPPED = DEFINITIONS_DIR / "rr-all-adult" / "2026.1"
NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def _problems(tmp_path: Path, file: str, old: str, new: str) -> str:
    folder = tmp_path / "2026.1"
    shutil.copytree(SHIPPED, folder)
    path = folder / file
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} is not written once in {file}"
    path.write_text(text.replace(old, new), encoding="utf-8")
    with pytest.raises(DefinitionError) as caught:
        load_definition("rr-all-adult", folder=folder)
    return "\n".join(caught.value.problems)


def test_a_lab_panel_a_rule_reads_must_be_in_the_catalogue(tmp_path: Path) -> None:
    # rule: INO-05, MON-05 — the liver hold reads the transaminases panel
    problems = _problems(
        tmp_path, "labs.yaml", '    transaminases: {title: "AST and ALT", tests: [ast, alt]}\n', ""
    )
    assert "monitoring rules: reads lab panel 'transaminases'" in problems


def test_a_lab_test_a_rule_reads_must_be_in_the_catalogue(tmp_path: Path) -> None:
    # rule: MON-13, REV-06 — the QTcF rule reads qtcf_ms
    problems = _problems(tmp_path, "labs.yaml", "    qtcf_ms:\n", "    qtcf_msec:\n")
    assert "monitoring rules: reads lab test 'qtcf_ms'" in problems


def test_the_blinatumomab_maintenance_cadence_written_twice_must_agree(tmp_path: Path) -> None:
    # rule: BLIN-10, POST-10 — M_D1 every 84 days, in the regimen and in its task
    problems = _problems(tmp_path, "regimens-blinatumomab.yaml", "every: 84\n", "every: 91\n")
    assert "repeats every 91 days, but the regimen's maintenance_interval_days is 84" in problems


def test_the_main_states_must_equal_the_phase_vocabulary(tmp_path: Path) -> None:
    # rule: SM-01, SM-13 — the phases of pathway.yaml are the Phase vocabulary
    folder = tmp_path / "2026.1"
    shutil.copytree(SHIPPED, folder)
    pathway = yaml.safe_load((folder / "pathway.yaml").read_text(encoding="utf-8"))
    states = pathway["machines"]["main"]["states"]
    states["clinical_study"] = states.pop("clinical_trial")
    (folder / "pathway.yaml").write_text(yaml.safe_dump(pathway), encoding="utf-8")
    with pytest.raises(DefinitionError) as caught:
        load_definition("rr-all-adult", folder=folder)
    problems = "\n".join(caught.value.problems)
    assert "machines.main: no state for clinical_trial of the Phase vocabulary" in problems
    assert "machines.main: states clinical_study are not in the Phase vocabulary" in problems


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"alert_review_hours": {"critical": 0, "warning": 24}}, "no hours for info"),
        ({"alert_review_hours": {"critical": -1, "warning": 24, "info": 72}}, "at least 0"),
        ({"escalation_grace_hours": {"safety": 4}}, "needs a 'default' grace"),
    ],
)
def test_review_and_escalation_hours_are_refused_when_incomplete(
    overrides: dict[str, object], expected: str
) -> None:
    # rule: MON-05, RESP-04 — [DEFAULT] review and escalation hours (NOT IN SOURCE)
    with pytest.raises(DefinitionError) as caught:
        load_definition(overrides=overrides)
    assert expected in "\n".join(caught.value.problems)


def _alert(severity: Severity) -> Alert:
    return Alert(
        id="inotuzumab_liver_hold",
        severity=severity,
        rule_id="INO-05",
        message="Hold the inotuzumab dose: bilirubin 2.1 x ULN. Review the liver tests",
        role=Role.CLINICIAN,
    )


def test_the_door_decides_each_alerts_review_task_from_the_definitions_hours() -> None:
    # rule: INO-05, MON-05 — a critical alert is due at once, as a safety task
    policy = Policy(shipped_definition())
    critical = review_task_for(_alert(Severity.CRITICAL), NOW, policy)
    assert (critical.due, critical.safety, critical.result_fields) == (NOW, True, ("decision",))
    assert critical.title == "Review a critical alert (INO-05): Hold the inotuzumab dose"
    warning = review_task_for(_alert(Severity.WARNING), NOW, policy)
    assert (warning.due, warning.safety) == (NOW + timedelta(hours=24), False)
    assert review_task_for(_alert(Severity.INFO), NOW, policy).due == NOW + timedelta(hours=72)
    assert policy.used >= {"alert_review_hours"}


def test_the_policy_file_changes_the_review_signature_and_escalation_hours() -> None:
    # rule: RESP-04, DEF-15 — the signature task; MON-05 the escalation grace
    shipped = Policy(shipped_definition())
    assert signature_task_for(date(2026, 3, 1), NOW, shipped).due == NOW + timedelta(hours=48)
    assert escalation_grace_hours(shipped) == {"default": 24.0, "safety": 4.0}
    local = Policy(
        load_definition(
            overrides={
                "alert_review_hours": {"critical": 1, "warning": 8, "info": 48},
                "response_signature_hours": 12,
                "escalation_grace_hours": {"default": 12, "kind:lab_panel": 2},
            }
        )
    )
    sign = signature_task_for(date(2026, 3, 1), NOW, local)
    assert (sign.due, sign.rule_id, sign.role) == (
        NOW + timedelta(hours=12),
        "RESP-04",
        Role.CLINICIAN,
    )
    assert review_task_for(_alert(Severity.CRITICAL), NOW, local).due == NOW + timedelta(hours=1)
    assert escalation_grace_hours(local) == {"default": 12.0, "kind:lab_panel": 2.0}
