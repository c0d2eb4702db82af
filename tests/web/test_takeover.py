"""Taking over a task a colleague holds (issue 12 point 9): its own action, with a reason,
audited, and shown to the colleague; a claim or a reassignment never takes it silently."""

from __future__ import annotations

from sqlalchemy import select

from models.audit import AuditEvent
from models.task import CareTask
from tests.web.support import Web


def _owner(web: Web, task_id: int) -> str | None:
    with web.db() as session:
        return session.execute(select(CareTask.owner).where(CareTask.id == task_id)).scalar_one()


def test_a_held_task_is_taken_over_only_explicitly_and_the_holder_sees_it(web: Web) -> None:
    pid = web.patient()
    task = web.task(pid)
    holder = web.client("coordinator", "coordinator1")
    colleague = web.client("coordinator", "coordinator2")
    assert holder.post(f"/tasks/{task}/claim", data={"csrf_token": holder.csrf}).status_code == 303  # type: ignore[attr-defined]
    # A claim does not take it, nor a reassignment to oneself.
    claim = colleague.post(f"/tasks/{task}/claim", data={"csrf_token": colleague.csrf})  # type: ignore[attr-defined]
    assert claim.status_code == 409 and "take it over" in claim.text
    reassign = colleague.post(
        f"/tasks/{task}/reassign",
        data={"csrf_token": colleague.csrf, "to": "coordinator2"},  # type: ignore[attr-defined]
    )
    assert reassign.status_code == 409
    assert _owner(web, task) == "coordinator1"
    page = colleague.get(f"/tasks/{task}").text
    assert "Take over from coordinator1" in page
    no_reason = colleague.post(
        f"/tasks/{task}/take-over",
        data={"csrf_token": colleague.csrf, "reason": " "},  # type: ignore[attr-defined]
    )
    assert no_reason.status_code == 422 and "a reason is required" in no_reason.text
    taken = colleague.post(
        f"/tasks/{task}/take-over",
        data={"csrf_token": colleague.csrf, "reason": "Sam is off sick today"},  # type: ignore[attr-defined]
    )
    assert taken.status_code == 303 and _owner(web, task) == "coordinator2"
    queue = holder.get("/queue").text
    assert "Taken from you" in queue and "Sam is off sick today" in queue
    assert "coordinator2" in queue
    with web.db() as session:
        event = session.execute(
            select(AuditEvent).where(AuditEvent.action == "take_over")
        ).scalar_one()
    assert event.actor == "coordinator2" and event.detail == {"from": "coordinator1"}
    assert (event.credential or "").startswith("session ")
    # Dismissed by the holder, it leaves their queue; the task page keeps the history.
    handover = int(queue.split('action="/handovers/')[1].split("/")[0])
    holder.post(f"/handovers/{handover}/seen", data={"csrf_token": holder.csrf})  # type: ignore[attr-defined]
    assert "Taken from you" not in holder.get("/queue").text
    assert "Sam is off sick today" in colleague.get(f"/tasks/{task}").text


def test_take_over_through_the_api(web: Web) -> None:
    pid = web.patient()
    task = web.task(pid)
    holder = web.api("coordinator", "coordinator1")
    colleague = web.api("coordinator", "coordinator2")
    assert holder.post(f"/api/v1/tasks/{task}/claim").status_code == 200
    assert colleague.post(f"/api/v1/tasks/{task}/claim").status_code == 409
    unheld = web.task(pid)
    refused = colleague.post(f"/api/v1/tasks/{unheld}/take-over", json={"reason": "x"})
    assert refused.status_code == 409  # no one holds it: claim it instead
    taken = colleague.post(f"/api/v1/tasks/{task}/take-over", json={"reason": "covering"})
    assert taken.status_code == 200 and taken.json()["owner"] == "coordinator2"
    assert holder.post(f"/api/v1/tasks/{task}/complete", json={"result": {}}).status_code == 409
