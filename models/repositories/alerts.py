"""Clinical alerts: listing them and a clinician's acknowledgement (who, when, why).

An alert and its review task (``clinical_alert.task_id``) never disagree: a
clinician completing the review task with a decision acknowledges every alert
routed to it, with that decision as the reason; acknowledging an alert on the
patient page completes its review task once no alert of that task is left
unacknowledged.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session, col

from models.repositories.audit import Actor, record
from models.repositories.completion import mark_completed
from models.task import CareTask, ClinicalAlert
from pathways.vocab import OPEN_TASK_STATUSES, Role


class AlertNotFound(LookupError):
    def __init__(self, alert_id: int) -> None:
        super().__init__(f"alert {alert_id} not found for this patient")
        self.alert_id = alert_id


class AlertError(ValueError):
    def __init__(self, field: str, problem: str, status: int = 422) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem
        self.status = status


def list_alerts(session: Session, *, patient_id: int, actor: Actor) -> list[ClinicalAlert]:
    rows = list(
        session.execute(
            select(ClinicalAlert)
            .where(col(ClinicalAlert.patient_id) == patient_id)
            .order_by(col(ClinicalAlert.raised_at).desc(), col(ClinicalAlert.id).desc())
        ).scalars()
    )
    record(session, actor=actor, action="read", entity="clinical_alert", patient_id=patient_id)
    return rows


def acknowledge_alert(
    session: Session,
    *,
    patient_id: int,
    alert_id: int,
    reason: str | None,
    actor: Actor,
    now: datetime,
) -> ClinicalAlert:
    """A clinician acknowledges an alert of this patient, with a reason; it is never re-acknowledged."""
    if actor.role != Role.CLINICIAN.value:
        raise AlertError("role", "only a clinician acknowledges an alert", status=403)
    text = (reason or "").strip()
    if not text:
        raise AlertError("reason", "a reason is required")
    if len(text) > 2000:
        raise AlertError("reason", "at most 2000 characters")
    alert = session.scalars(
        select(ClinicalAlert)
        .where(col(ClinicalAlert.id) == alert_id, col(ClinicalAlert.patient_id) == patient_id)
        .with_for_update()
    ).one_or_none()
    if alert is None:
        raise AlertNotFound(alert_id)
    if alert.acknowledged_at is not None:
        raise AlertError("alert", f"already acknowledged by {alert.acknowledged_by}", status=409)
    _acknowledge(session, alert, text, actor, now)
    session.flush()
    if alert.task_id is not None:
        _complete_review_task(session, alert.task_id, text, actor, now)
    return alert


def _acknowledge(
    session: Session, alert: ClinicalAlert, reason: str, actor: Actor, now: datetime
) -> None:
    alert.acknowledged_by = actor.name
    alert.acknowledged_at = now
    alert.acknowledge_reason = reason[:2000]
    session.add(alert)
    record(
        session,
        actor=actor,
        action="acknowledge",
        entity="clinical_alert",
        patient_id=alert.patient_id,
        entity_id=alert.id,
    )


def _task_alerts(session: Session, task_id: int) -> list[ClinicalAlert]:
    return list(
        session.execute(
            select(ClinicalAlert)
            .where(
                col(ClinicalAlert.task_id) == task_id, col(ClinicalAlert.acknowledged_at).is_(None)
            )
            .order_by(col(ClinicalAlert.id))
            .with_for_update()
        ).scalars()
    )


def open_task_alerts(session: Session, *, task_id: int) -> int:
    """How many unacknowledged alerts are routed to this review task."""
    return len(_task_alerts(session, task_id))


def acknowledge_task_alerts(
    session: Session, *, task_id: int, reason: str, actor: Actor, now: datetime
) -> list[int]:
    """The review task was completed with ``reason``: its alerts are acknowledged with it."""
    alerts = _task_alerts(session, task_id)
    if alerts and actor.role != Role.CLINICIAN.value:
        raise AlertError("role", "only a clinician decides on an alert", status=403)
    for alert in alerts:
        _acknowledge(session, alert, reason, actor, now)
    session.flush()
    return [a.id for a in alerts if a.id is not None]


def _complete_review_task(
    session: Session, task_id: int, reason: str, actor: Actor, now: datetime
) -> None:
    """The last open alert of a review task was acknowledged: the task is done too."""
    if _task_alerts(session, task_id):
        return
    task = session.execute(
        select(CareTask).where(col(CareTask.id) == task_id).with_for_update()
    ).scalar_one_or_none()
    if task is None or task.status not in OPEN_TASK_STATUSES:
        return
    mark_completed(
        session,
        task,
        at=now,
        by=actor,
        result={"decision": reason},
        detail={"by": "alert acknowledgement"},
        reason="alert acknowledged",
    )
    session.flush()
