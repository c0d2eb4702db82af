"""Comments on a task: written by the people working it, kept as written, audited."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session, col

from models.comment import TaskComment
from models.repositories.audit import Actor, record
from models.task import CareTask
from models.user import AppUser

MAX_COMMENT = 2000


class CommentError(ValueError):
    def __init__(self, problem: str, status: int = 422) -> None:
        super().__init__(problem)
        self.problem = problem
        self.status = status


def add_comment(
    session: Session, *, task_id: int, body: str | None, actor: Actor, now: datetime
) -> TaskComment:
    """A comment on a task of the actor's queue (or one they hold), with its audit event."""
    text = (body or "").strip()
    if not text:
        raise CommentError("write the comment first")
    if len(text) > MAX_COMMENT:
        raise CommentError(f"at most {MAX_COMMENT} characters")
    task = session.get(CareTask, task_id)
    if task is None:
        raise CommentError(f"task {task_id} not found", status=404)
    if task.role_queue.value != actor.role and task.owner != actor.name:
        raise CommentError(
            f"task {task_id} belongs to the {task.role_queue.value} queue, not yours", status=403
        )
    comment = TaskComment(
        task_id=task_id, patient_id=task.patient_id, author=actor.name, body=text, at=now
    )
    session.add(comment)
    session.flush()
    record(
        session,
        actor=actor,
        action="comment",
        entity="care_task",
        patient_id=task.patient_id,
        entity_id=task_id,
        detail={"comment_id": comment.id},
        at=now,
    )
    return comment


def task_comments(session: Session, *, task_id: int) -> list[tuple[TaskComment, str]]:
    """A task's comments, oldest first, each with its author's name for people.

    Read with the task, whose reading is audited by ``get_task``.
    """
    rows = session.execute(
        select(TaskComment, col(AppUser.display_name))
        .outerjoin(AppUser, col(AppUser.username) == col(TaskComment.author))
        .where(col(TaskComment.task_id) == task_id)
        .order_by(col(TaskComment.at), col(TaskComment.id))
    ).all()
    return [(c, name or c.author) for c, name in rows]
