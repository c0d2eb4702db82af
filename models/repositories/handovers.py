"""Task hand-overs: a task taken from the person who held it, kept until they have seen it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session, col

from models.repositories.audit import Actor
from models.task import CareTask, TaskHandover


class HandoverNotFound(LookupError):
    def __init__(self, handover_id: int) -> None:
        super().__init__(f"hand-over {handover_id} not found among yours")


def record_handover(
    session: Session, task: CareTask, *, to: str, actor: Actor, reason: str, now: datetime
) -> None:
    """Tell the former holder (their queue shows it) that the task went to someone else."""
    if task.owner is None or task.owner == to or task.id is None:
        return
    session.add(
        TaskHandover(
            task_id=task.id,
            patient_id=task.patient_id,
            from_owner=task.owner,
            to_owner=to,
            by=actor.name,
            reason=reason,
            at=now,
        )
    )


def unseen_handovers(session: Session, *, username: str) -> list[TaskHandover]:
    """Tasks taken from this person that they have not dismissed yet, newest first."""
    return list(
        session.execute(
            select(TaskHandover)
            .where(col(TaskHandover.from_owner) == username, col(TaskHandover.seen_at).is_(None))
            .order_by(col(TaskHandover.id).desc())
        ).scalars()
    )


def task_handovers(session: Session, *, task_id: int) -> list[TaskHandover]:
    return list(
        session.execute(
            select(TaskHandover)
            .where(col(TaskHandover.task_id) == task_id)
            .order_by(col(TaskHandover.id))
        ).scalars()
    )


def dismiss_handover(session: Session, *, handover_id: int, username: str, now: datetime) -> None:
    """The former holder has seen it (only they can dismiss it)."""
    row = session.get(TaskHandover, handover_id)
    if row is None or row.from_owner != username:
        raise HandoverNotFound(handover_id)
    if row.seen_at is None:
        row.seen_at = now
        session.add(row)
