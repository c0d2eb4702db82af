"""Completing a care task: the one place its completed state is set.

Three doors complete a task one at a time — a person with the result it asks
for (``tasks.complete_task``), a clinician acknowledging the last alert of a
review task (``alerts``), a signature closing its "sign the response" task
(``responses``) — and all three go through ``mark_completed``. The set-based
completions (``results.close_signed``, ``simulation.complete_tasks``) write the
same columns with ``models.task_sql.completed_sql``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from models.repositories.audit import Actor, record
from models.task import CareTask
from pathways.vocab import TaskStatus


def mark_completed(
    session: Session,
    task: CareTask,
    *,
    at: datetime,
    by: Actor,
    result: dict[str, Any],
    detail: dict[str, Any],
    reason: str | None = None,
) -> None:
    """The task is completed by ``by`` at ``at`` with ``result``; audited with ``detail``.

    ``reason`` is the status reason (left as it was when None). The lease ends with the task.
    """
    task.status = TaskStatus.COMPLETED
    if reason is not None:
        task.status_reason = reason
    task.result = result
    task.completed_at = at
    task.completed_by = by.name
    task.lease_expires_at = None
    task.updated_at = at
    session.add(task)
    record(
        session,
        actor=by,
        action="complete",
        entity="care_task",
        patient_id=task.patient_id,
        entity_id=task.id,
        detail=detail,
    )
