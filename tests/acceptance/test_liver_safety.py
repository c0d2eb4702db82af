"""Journey b — inotuzumab liver safety (INO-05, MON-05) and the lab form itself.

The real `carepath serve`, a real Chromium, the clinic's clock fixed at
``harness.NOW`` (Tuesday 2026-11-24 10:00, New York). A patient is on
inotuzumab cycle 1, day 7. A coordinator types total bilirubin 3.2 mg/dL into
the lab form and no ULN. One run of ``evaluate-results`` raises a critical
INO-05 hold: first on the clinician's queue and in the patient page's header,
its review task due now, naming the value, the ULN used (1.2 mg/dL, the local
reference range, [DEFAULT] lab_reference_uln) and where it came from, the rule
text and the dose it concerns (cycle 1 day 8, 2026-11-25). The clinician
completes the review task with a decision, and that acknowledges the alert.

The lab form journey: the person picks each value's unit; a platelet count of
45 typed as /µL is refused beside the field with the likely slip, and nothing
is stored until it is corrected.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from tests.acceptance.harness import NOW, TODAY, Carepath, User, sign_in

# A journey runs CLI commands and a flow beside the server; on a busy 2-core machine the
# first journey of a session also waits for the server to come up.
pytestmark = [pytest.mark.acceptance, pytest.mark.browser, pytest.mark.timeout(900)]

CASE = {
    "format": "carepath.case/1",
    "as_of": TODAY,
    "timezone": "America/New_York",
    "patient": {"birth_date": "1968-03-14", "weight_kg": 72, "height_cm": 170},
    "disease": {"lineage": "B", "cd19": "positive", "cd22": "positive", "ph_positive": False},
    "history": {"status": "relapsed", "relapse_dates": ["2026-10-20"]},
}
CYCLE_1_DAY_1 = "2026-11-18"  # today, 2026-11-24, is cycle day 7; the next dose is day 8


def patient_on_inotuzumab(server: Carepath, coordinator: User, name: str) -> int:
    """Intake through the API (a carepath.case/1 document), the course through the CLI."""
    with server.api(coordinator) as api:
        answer = api.post(
            "/patients", json={"mrn": f"ACC-{name[:3].upper()}", "display_name": name, "case": CASE}
        )
    assert answer.status_code == 201, answer.text
    pid = int(answer.json()["id"])
    server.cli(
        "course", "start", str(pid), "--regimen", "inotuzumab_ozogamicin",
        "--anchor", CYCLE_1_DAY_1, "--actor", coordinator.username,  # an active account
    )  # fmt: skip
    return pid


def open_lab_form(page: Any, server: Carepath, pid: int) -> Any:
    page.goto(f"{server.url}/patients/{pid}#labs")
    page.click("#lab-entry summary")
    return page.locator("#lab-entry form")


def test_a_hand_entered_bilirubin_gives_a_critical_hold_the_clinicians_decision_acknowledges(
    server: Carepath, coordinator: User, clinician: User, page: Any, shots: Any
) -> None:
    # rule: INO-05, MON-05
    pid = patient_on_inotuzumab(server, coordinator, "Ines Liver")

    # The coordinator types the value as the report gives it, and no ULN.
    sign_in(page, server, coordinator)
    form = open_lab_form(page, server, pid)
    form.locator("[name=total_bilirubin]").fill("3.2")
    assert form.locator("[name=total_bilirubin__unit]").input_value() == "mg/dL"
    assert form.locator("[name=total_bilirubin__uln]").input_value() == ""
    shots(page, "1-bilirubin-typed")
    form.locator("button:has-text('Record results')").click()
    page.wait_for_load_state()
    assert "Recorded." in page.inner_text("body")
    stored = server.rows(
        "SELECT code, value, unit, uln, entered_value, entered_unit, source FROM observation"
    )
    assert [tuple(r) for r in stored] == [
        ("total_bilirubin", 3.2, "mg/dL", None, 3.2, "mg/dL", "web")
    ]

    # One evaluation run.
    run = server.run_job("evaluate-results")
    assert run.returncode == 0, run.stdout + run.stderr
    alerts = server.rows(
        "SELECT id, code, rule_id, severity, message, task_id, acknowledged_at FROM clinical_alert"
    )
    assert [(a.code, a.rule_id, a.severity) for a in alerts] == [
        ("inotuzumab_liver_hold", "INO-05", "critical")
    ]
    alert = alerts[0]
    for named in (
        "total bilirubin 3.2 mg/dL > 1.5 x ULN",  # the value
        "ULN 1.2 mg/dL: the local reference range (lab_reference_uln, local policy [DEFAULT])",
        "interrupt inotuzumab when total bilirubin > 1.5 x ULN and AST/ALT > 2.5 x ULN",
        "the cycle 1 day 8 inotuzumab dose (2026-11-25)",  # the dose it concerns
    ):
        assert named in alert.message, named
    (task,) = server.rows(
        "SELECT id, title, due, not_before, safety, role_queue, status, result_fields "
        "FROM care_task WHERE id = :id",
        id=alert.task_id,
    )
    assert task.due == datetime.fromisoformat(NOW)  # due now, not tomorrow
    assert task.safety and task.role_queue == "clinician" and task.status == "requested"
    assert task.result_fields == ["decision"] and "INO-05" in task.title

    # The clinician sees it first: at the top of the queue and in the patient's header.
    sign_in(page, server, clinician)
    page.goto(f"{server.url}/queue")
    shots(page, "2-clinician-queue")
    first = page.locator(".alerts-box .alert-list li").first
    assert "critical" in first.inner_text() and "total bilirubin 3.2 mg/dL" in first.inner_text()
    assert page.locator(f"tr[data-task='{task.id}']").count() == 1  # due now: the first bucket
    assert "due now" in page.inner_text(f"tr[data-task='{task.id}']")
    page.goto(f"{server.url}/patients/{pid}")
    shots(page, "3-patient-header")
    banner = page.locator(".alert-banner.sev-critical")
    assert banner.count() == 1
    box = banner.bounding_box()
    facts = page.locator("#facts-h").bounding_box()
    assert box is not None and facts is not None and box["y"] < facts["y"]  # above the facts
    assert "ULN 1.2 mg/dL" in banner.inner_text() and "INO-05" in banner.inner_text()

    # The clinician decides on the review task; that acknowledges the alert.
    banner.locator("a:has-text('review task')").click()
    page.wait_for_load_state()
    assert "lab_reference_uln" in page.inner_text("main")
    page.click("button:has-text('Claim')")
    page.wait_for_load_state()
    page.fill("[name=decision]", "Day 8 dose held; repeat the LFT panel tomorrow")
    shots(page, "4-decision")
    page.click("button:has-text('Complete task')")
    page.wait_for_load_state()
    (done,) = server.rows(
        "SELECT t.status, t.completed_by, a.acknowledged_by, a.acknowledge_reason "
        "FROM care_task t JOIN clinical_alert a ON a.task_id = t.id WHERE t.id = :id",
        id=task.id,
    )
    assert tuple(done) == (
        "completed",
        clinician.username,
        clinician.username,
        "Day 8 dose held; repeat the LFT panel tomorrow",
    )
    page.goto(f"{server.url}/patients/{pid}")
    shots(page, "5-acknowledged")
    assert page.locator(".alert-banner.sev-critical").count() == 0
    assert "Day 8 dose held" in page.inner_text("#alerts")


def test_the_lab_form_takes_each_unit_as_picked_and_refuses_an_implausible_value(
    server: Carepath, coordinator: User, page: Any, shots: Any
) -> None:
    # rule: DEF-03, MON-22 — "platelets 45" from a K/uL report, typed as /uL
    pid = patient_on_inotuzumab(server, coordinator, "Lars Units")
    sign_in(page, server, coordinator)
    form = open_lab_form(page, server, pid)
    form.locator("[name=wbc]").fill("3.2")  # x10^3/uL, the unit offered first
    form.locator("[name=platelets]").fill("45")
    form.locator("[name=platelets__unit]").select_option(label="/µL")
    shots(page, "1-typed")
    form.locator("button:has-text('Record results')").click()
    page.wait_for_load_state()
    shots(page, "2-refused")
    error = page.locator("#err-platelets")
    assert error.inner_text() == (
        "45 /µL is not plausible for platelets (at least 1,000 /µL); did you mean 45 ×10³/µL?"
    )
    row = page.locator("tr[data-test=platelets]")
    assert row.locator("#err-platelets").count() == 1  # beside the field it is about
    assert server.rows("SELECT id FROM observation") == []  # the WBC was not kept either
    assert page.locator("[name=platelets]").input_value() == "45"  # as typed, to correct

    page.locator("[name=platelets__unit]").select_option(label="×10³/µL")
    page.locator("#lab-entry button:has-text('Record results')").click()
    page.wait_for_load_state()
    shots(page, "3-recorded")
    stored = server.rows(
        "SELECT code, value, unit, entered_value, entered_unit FROM observation ORDER BY code"
    )
    assert [tuple(r) for r in stored] == [
        ("platelets", 45000.0, "/uL", 45.0, "10*3/uL"),
        ("wbc", 3200.0, "/uL", 3.2, "10*3/uL"),
    ]
