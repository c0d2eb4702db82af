"""INO-05 end to end below the browser: a hand-entered bilirubin, one evaluation, a critical hold.

The coordinator types total bilirubin 3.2 mg/dL on inotuzumab cycle 1 and no
ULN; one run of ``evaluate_results`` (its batch core, on the app's database)
raises a critical INO-05 hold whose review task is due now and names the value,
the ULN used and where it came from, the rule text and the dose. A clinician's
decision on the review task acknowledges the alert; acknowledging the alert
completes the review task: the two never disagree.
"""

from __future__ import annotations

import html
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from flows.evaluate_results import evaluate_batch
from flows.runtime import Runtime
from models.pathway import CourseCreate
from models.repositories.audit import Actor
from models.repositories.courses import start_course
from models.task import CareTask, ClinicalAlert
from pathways.definition import shipped_definition
from pathways.vocab import TaskStatus
from tests.web.support import TZ, Web


def ino_patient(web: Web, *, day: int = 7) -> int:
    """A patient on inotuzumab cycle 1, ``day`` being today's cycle day."""
    pid = web.patient("Ivo Liver", cd22="positive", cd19="positive")
    with web.db() as session:
        start_course(
            session,
            patient_id=pid,
            course=CourseCreate(
                regimen="inotuzumab_ozogamicin",
                phase="induction",
                anchor_date=web.clock.today - timedelta(days=day - 1),
            ),
            actor=Actor("clinician1", "clinician", "web"),
        )
    return pid


def enter_bilirubin(web: Web, pid: int, value: str = "3.2") -> None:
    client = web.client("coordinator")
    response = client.post(
        f"/patients/{pid}/observations",
        data={
            "csrf_token": client.csrf,  # type: ignore[attr-defined]
            "total_bilirubin": value,
            "total_bilirubin__unit": "mg/dL",
            "observed_on": web.clock.today.isoformat(),
            "observed_time": "08:00",
        },
    )
    assert response.status_code == 303, response.text


def evaluate(web: Web) -> dict[str, Any]:
    definition = shipped_definition()
    runtime = Runtime(
        engine=web.engine, timezone=TZ, definition=lambda _version: definition, clock=web.clock
    )
    return evaluate_batch(runtime, now=web.clock())


def the_alert(web: Web) -> tuple[ClinicalAlert, CareTask]:
    with web.db() as session:
        alert = session.execute(select(ClinicalAlert)).scalar_one()
        task = session.get(CareTask, alert.task_id)
        assert task is not None
        return alert, task


def test_a_hand_entered_bilirubin_without_a_uln_raises_a_critical_hold_due_now(web: Web) -> None:
    # rule: INO-05, MON-05 — 3.2 mg/dL > 1.5 x the local ULN 1.2 mg/dL ([DEFAULT] lab_reference_uln)
    pid = ino_patient(web)
    enter_bilirubin(web, pid)
    counts = evaluate(web)
    assert counts["observations"] == 1 and counts["alerts"] == 1 and counts["problems"] == 0
    alert, task = the_alert(web)
    assert alert.severity.value == "critical" and alert.rule_id == "INO-05"
    for named in (
        "total bilirubin 3.2 mg/dL > 1.5 x ULN",  # the value
        "ULN 1.2 mg/dL: the local reference range (lab_reference_uln, local policy [DEFAULT])",
        "interrupt inotuzumab when total bilirubin > 1.5 x ULN and AST/ALT > 2.5 x ULN",
        "cycle 1 day 8 inotuzumab dose",  # today is day 7: the next dose is day 8
    ):
        assert named in alert.message, named
    assert task.due == web.clock() and task.safety and task.role_queue.value == "clinician"
    assert task.result_fields == ["decision"]
    assert "Hold the cycle 1 day 8 inotuzumab dose" in task.title
    clinician = web.client("clinician")
    queue = html.unescape(clinician.get("/queue").text)
    assert queue.index("Critical alerts") < queue.index('aria-label="Views"')
    assert "total bilirubin 3.2 mg/dL" in queue and f'href="/tasks/{task.id}"' in queue
    assert "due now" in queue
    page = html.unescape(clinician.get(f"/patients/{pid}").text)
    banner = page.index('class="alert-banner sev-critical"')
    assert banner < page.index('id="facts-h"')  # in the header, above the facts
    assert "ULN 1.2 mg/dL" in page[banner:]
    task_page = html.unescape(clinician.get(f"/tasks/{task.id}").text)
    assert "ULN 1.2 mg/dL: the local reference range (lab_reference_uln" in task_page
    clinician.post(f"/tasks/{task.id}/claim", data={"csrf_token": clinician.csrf})  # type: ignore[attr-defined]
    assert 'name="decision"' in clinician.get(f"/tasks/{task.id}").text


def test_the_clinicians_decision_on_the_review_task_acknowledges_the_alert(web: Web) -> None:
    # rule: INO-05 — alert and task never disagree
    pid = ino_patient(web)
    enter_bilirubin(web, pid)
    evaluate(web)
    alert, task = the_alert(web)
    clinician = web.client("clinician")
    csrf = clinician.csrf  # type: ignore[attr-defined]
    assert clinician.post(f"/tasks/{task.id}/claim", data={"csrf_token": csrf}).status_code == 303
    empty = clinician.post(f"/tasks/{task.id}/complete", data={"csrf_token": csrf, "decision": ""})
    assert empty.status_code == 422 and 'id="err-decision"' in empty.text
    decided = clinician.post(
        f"/tasks/{task.id}/complete",
        data={"csrf_token": csrf, "decision": "Day 8 dose held; repeat LFT panel tomorrow"},
    )
    assert decided.status_code == 303
    alert, task = the_alert(web)
    assert task.status is TaskStatus.COMPLETED
    assert alert.acknowledged_at is not None and alert.acknowledged_by == task.completed_by
    assert alert.acknowledge_reason == "Day 8 dose held; repeat LFT panel tomorrow"
    page = clinician.get(f"/patients/{pid}").text
    assert 'class="alert-banner sev-critical"' not in page


def test_acknowledging_the_alert_completes_its_review_task(web: Web) -> None:
    # rule: INO-05 — the other way round: the patient page's acknowledgement closes the task
    pid = ino_patient(web)
    enter_bilirubin(web, pid)
    evaluate(web)
    alert, task = the_alert(web)
    clinician = web.client("clinician")
    response = clinician.post(
        f"/patients/{pid}/alerts/{alert.id}/acknowledge",
        data={"csrf_token": clinician.csrf, "reason": "dose held"},  # type: ignore[attr-defined]
    )
    assert response.status_code == 303
    alert, task = the_alert(web)
    assert alert.acknowledged_at is not None
    assert task.status is TaskStatus.COMPLETED and task.result == {"decision": "dose held"}
    assert task.status_reason == "alert acknowledged"


def test_only_a_clinician_decides_on_an_alert(web: Web) -> None:
    # rule: INO-05 — a coordinator holding the review task cannot complete it
    pid = ino_patient(web)
    enter_bilirubin(web, pid)
    evaluate(web)
    _alert, task = the_alert(web)
    with web.db() as session:
        row = session.get(CareTask, task.id)
        assert row is not None
        row.owner = "coordinator1"
        row.lease_expires_at = web.clock() + timedelta(hours=1)
    coordinator = web.api("coordinator", "coordinator1")
    refused = coordinator.post(
        f"/api/v1/tasks/{task.id}/complete", json={"result": {"decision": "give the dose"}}
    )
    assert refused.status_code == 403
    alert, task = the_alert(web)
    assert alert.acknowledged_at is None and task.status is not TaskStatus.COMPLETED


def test_a_bilirubin_within_the_local_uln_raises_no_hold(web: Web) -> None:
    # rule: INO-05 — 1.7 mg/dL is not above 1.5 x 1.2 = 1.8: no hold (only the above-ULN warning)
    pid = ino_patient(web)
    enter_bilirubin(web, pid, "1.7")
    evaluate(web)
    with web.db() as session:
        codes = [a.code for a in session.execute(select(ClinicalAlert)).scalars()]
    assert codes == ["lft_elevated_on_inotuzumab"]
