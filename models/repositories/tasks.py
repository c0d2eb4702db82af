"""The work queue's changes: claim, complete, skip, cancel, hand back and reassign tasks.

The queue's reads (buckets, counts, pages) are in ``task_queue`` and are
re-exported here, so callers import the queue from one module. Claiming takes a lease
under ``SELECT … FOR UPDATE SKIP LOCKED``: of any number of people claiming
at once, exactly one gets a task; the others are told it is taken and never
wait on each other's locks.

Every change of a task is an audit event in the same transaction; a task that
no longer applies is cancelled with a reason, never deleted. A safety task
(RULES.md §10 rule 3) is skipped or cancelled only by a clinician.

A task a colleague holds is never taken by a claim or a reassignment: taking
it over is its own action, with a reason, audited, and written as a
``TaskHandover`` that the former holder's queue shows until they dismiss it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlmodel import Session, col

from models.observation import Observation, ObservationCreate
from models.pathway import ResponseAssessmentRecord
from models.patient import Patient
from models.repositories.alerts import acknowledge_task_alerts, open_task_alerts
from models.repositories.audit import Actor, record
from models.repositories.completion import mark_completed
from models.repositories.handovers import record_handover
from models.repositories.task_queue import (
    COUNT_LIMIT,
    UPCOMING_DAYS,
    Bucket,
    QueueCounts,
    QueueFilters,
    QueueRow,
    QueueWindow,
    list_patient_tasks,
    list_queue,
    queue_counts,
)
from models.repositories.task_results import MARROW_FIELDS, FieldSpec, parse_result, specs_for
from models.repositories.users import normalise_username
from models.sql import table_of
from models.task import CareTask
from models.task_sql import OPEN_LIST
from models.user import AccountKind, AppUser
from pathways.core.labs import LabCatalogue
from pathways.core.window import Closure
from pathways.vocab import Role, TaskKind, TaskStatus

LEASE = timedelta(hours=4)
OPEN = tuple(OPEN_LIST)
MAX_REASON = 2000


class TaskError(Exception):
    """A refused task operation; ``status`` is the HTTP status it maps to."""

    status = 409
    field: str | None = None


class TaskNotFound(TaskError, LookupError):
    status = 404

    def __init__(self, task_id: int) -> None:
        super().__init__(f"task {task_id} not found")
        self.task_id = task_id


class TaskConflict(TaskError):
    """The task is not in a state that allows this (taken by someone else, already closed)."""

    status = 409


class TaskForbidden(TaskError):
    status = 403


class TaskInputError(TaskError):
    """Bad input; ``problems`` maps each field to what is wrong with it."""

    status = 422

    def __init__(self, problems: Mapping[str, str]) -> None:
        self.problems = dict(problems)
        self.field = next(iter(self.problems))
        super().__init__(f"{self.field}: {self.problems[self.field]}")


@dataclass(frozen=True, slots=True)
class TaskView:
    task: CareTask
    mrn: str
    patient_name: str
    fields: list[FieldSpec]
    birth_date: date | None = None  # for the printed page's running header


def get_task(session: Session, *, task_id: int, actor: Actor, labs: LabCatalogue) -> TaskView:
    row = session.execute(
        select(CareTask, col(Patient.mrn), col(Patient.display_name), col(Patient.birth_date))
        .join(Patient, col(Patient.id) == col(CareTask.patient_id))
        .where(col(CareTask.id) == task_id)
    ).first()
    if row is None:
        raise TaskNotFound(task_id)
    task, mrn, name, born = row
    record(
        session,
        actor=actor,
        action="read",
        entity="care_task",
        patient_id=task.patient_id,
        entity_id=task_id,
    )
    return TaskView(
        task=task,
        mrn=mrn,
        patient_name=name,
        fields=specs_for(task.result_fields, labs),
        birth_date=born,
    )


def _locked(session: Session, task_id: int) -> CareTask:
    """The task row, locked for this transaction; a row another transaction holds is 'busy'."""
    task = session.scalars(
        select(CareTask)
        .where(col(CareTask.id) == task_id)
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    ).one_or_none()
    if task is None:
        exists = session.execute(
            select(col(CareTask.id)).where(col(CareTask.id) == task_id)
        ).first()
        if exists is None:
            raise TaskNotFound(task_id)
        raise TaskConflict(f"task {task_id} is being changed by someone else; try again")
    return task


def _held_by_other(task: CareTask, username: str, now: datetime) -> bool:
    return (
        task.owner is not None
        and task.owner != username
        and task.lease_expires_at is not None
        and task.lease_expires_at > now
    )


def _check_access(task: CareTask, actor: Actor) -> None:
    if task.role_queue.value != actor.role and task.owner != actor.name:
        raise TaskForbidden(
            f"task {task.id} belongs to the {task.role_queue.value} queue, not yours"
        )


def _check_open(task: CareTask) -> None:
    if task.status.value not in OPEN:
        raise TaskConflict(f"task {task.id} is {task.status.value}; it can no longer change")


def _reason(reason: str | None) -> str:
    text = (reason or "").strip()
    if not text:
        raise TaskInputError({"reason": "a reason is required"})
    if len(text) > MAX_REASON:
        raise TaskInputError({"reason": f"at most {MAX_REASON} characters"})
    return text


def claim_task(session: Session, *, task_id: int, actor: Actor, now: datetime) -> CareTask:
    """Take the task with a lease; refused when someone else holds a live lease on it
    (``take_over_task`` is the explicit way to take it from them)."""
    task = _locked(session, task_id)
    _check_access(task, actor)
    _check_open(task)
    if _held_by_other(task, actor.name, now):
        raise TaskConflict(
            f"task {task_id} is held by {task.owner}; take it over, with a reason, "
            "if they cannot finish it"
        )
    if task.owner is not None and task.owner != actor.name:
        record_handover(
            session, task, to=actor.name, actor=actor, reason="their claim had lapsed", now=now
        )
    task.owner = actor.name
    task.lease_expires_at = now + LEASE
    if task.status in (TaskStatus.REQUESTED, TaskStatus.ACCEPTED):
        task.status = TaskStatus.ACCEPTED
    task.updated_at = now
    session.add(task)
    record(
        session,
        actor=actor,
        action="claim",
        entity="care_task",
        patient_id=task.patient_id,
        entity_id=task_id,
    )
    session.flush()
    return task


def take_over_task(
    session: Session, *, task_id: int, actor: Actor, now: datetime, reason: str | None
) -> CareTask:
    """Take a task a colleague holds, with a reason; they see it on their queue."""
    text = _reason(reason)
    task = _locked(session, task_id)
    _check_access(task, actor)
    _check_open(task)
    if not _held_by_other(task, actor.name, now):
        raise TaskConflict(f"no one else holds task {task_id}; claim it instead")
    previous = task.owner
    record_handover(session, task, to=actor.name, actor=actor, reason=text, now=now)
    task.owner = actor.name
    task.lease_expires_at = now + LEASE
    task.status = TaskStatus.ACCEPTED
    task.updated_at = now
    session.add(task)
    record(
        session,
        actor=actor,
        action="take_over",
        entity="care_task",
        patient_id=task.patient_id,
        entity_id=task_id,
        detail={"from": previous},
    )
    session.flush()
    return task


def claim_next(
    session: Session, *, role: Role, actor: Actor, now: datetime, kind: TaskKind | None = None
) -> CareTask | None:
    """The most urgent unclaimed task of the role's queue, claimed; None when there is none."""
    c = table_of(CareTask).c
    query = (
        select(c.id)
        .where(
            c.role_queue == role.value,
            c.status.in_((TaskStatus.REQUESTED.value, TaskStatus.ACCEPTED.value)),
            or_(c.owner.is_(None), c.lease_expires_at <= now),
        )
        .order_by(c.due, c.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    if kind is not None:
        query = query.where(c.kind == kind.value)
    task_id = session.execute(query).scalar_one_or_none()
    if task_id is None:
        return None
    return claim_task(session, task_id=task_id, actor=actor, now=now)


def complete_task(
    session: Session,
    *,
    task_id: int,
    values: Mapping[str, Any],
    actor: Actor,
    now: datetime,
    clinic_date: date,
    labs: LabCatalogue,
) -> CareTask:
    """Complete a task the actor holds, with the result it asks for.

    Lab values become observations in their canonical unit beside the value and
    unit as entered (so charts and the monitoring rules see them); marrow
    findings become an unsigned response assessment, which a clinician then
    signs; the decision on an alert's review task acknowledges its alerts. Any
    bad field refuses the whole completion.
    """
    task = _locked(session, task_id)
    _check_open(task)
    if task.owner != actor.name:
        raise TaskConflict(f"claim task {task_id} before completing it")
    if open_task_alerts(session, task_id=task_id) and actor.role != Role.CLINICIAN.value:
        raise TaskForbidden(f"task {task_id} decides on an alert: a clinician completes it")
    deciding = open_task_alerts(session, task_id=task_id) > 0
    parsed = parse_result(specs_for(task.result_fields, labs), values, labs)
    problems = dict(parsed.problems)
    if deciding and not (parsed.values.get("decision") or parsed.values.get("note")):
        # Every alert-review task: the decision is what acknowledges its alerts.
        problems.setdefault("decision", "say what you decided: it acknowledges the alert")
    if problems:
        raise TaskInputError(problems)
    result = parsed.values
    session.add_all(
        Observation.model_validate(
            ObservationCreate.measured(m, at=now, source=f"task:{task_id}"),
            update={"patient_id": task.patient_id, "recorded_by": actor.name},
        )
        for m in parsed.labs
    )
    assessment_id = _assessment(session, task, result, actor, now, clinic_date)
    mark_completed(
        session,
        task,
        at=now,
        by=actor,
        result=result | ({"response_assessment_id": assessment_id} if assessment_id else {}),
        detail={"fields": sorted(result)},
    )
    session.flush()
    decision = result.get("decision") or result.get("note")
    if decision:
        acknowledge_task_alerts(session, task_id=task_id, reason=decision, actor=actor, now=now)
    return task


def _assessment(
    session: Session,
    task: CareTask,
    result: Mapping[str, Any],
    actor: Actor,
    now: datetime,
    clinic_date: date,
) -> int | None:
    """Marrow findings of a completed task, as an unsigned response assessment."""
    if not MARROW_FIELDS & result.keys():
        return None
    assessment = ResponseAssessmentRecord(
        patient_id=task.patient_id,
        course_id=task.course_id,
        assessed_on=clinic_date,
        marrow_blast_pct=result.get("marrow_blast_pct"),
        trilineage_hematopoiesis=result.get("trilineage_hematopoiesis"),
        circulating_blasts=result.get("circulating_blasts"),
        mrd_method=result.get("mrd_method"),
        mrd_value=result.get("mrd_value"),
        recorded_by=actor.name,
        recorded_at=now,
    )
    session.add(assessment)
    session.flush()
    return assessment.id


def close_task(
    session: Session,
    *,
    task_id: int,
    outcome: str,
    reason: str | None,
    actor: Actor,
    now: datetime,
) -> CareTask:
    """Skip (this occurrence is not done, on purpose) or cancel (it no longer applies), with a reason.

    Both end the task as FHIR ``cancelled`` with the reason; ``closed_as`` keeps
    which of the two it was, for the adherence report, and ``closed_by`` who.
    """
    if outcome not in (Closure.SKIPPED, Closure.CANCELLED):
        raise TaskInputError({"outcome": "skipped or cancelled"})
    text = _reason(reason)
    task = _locked(session, task_id)
    _check_access(task, actor)
    _check_open(task)
    if _held_by_other(task, actor.name, now):
        raise TaskConflict(f"task {task_id} is claimed by {task.owner}")
    if task.safety and actor.role != Role.CLINICIAN.value:
        raise TaskForbidden(
            f"task {task_id} is a safety task: only a clinician may skip or cancel it "
            "(RULES.md §10 rule 3)"
        )
    task.status = TaskStatus.CANCELLED
    task.status_reason = text
    task.closed_as = Closure(outcome).value
    task.closed_by = actor.name
    task.lease_expires_at = None
    task.updated_at = now
    session.add(task)
    record(
        session,
        actor=actor,
        action="skip" if outcome == "skipped" else "cancel",
        entity="care_task",
        patient_id=task.patient_id,
        entity_id=task_id,
    )
    session.flush()
    return task


def release_task(session: Session, *, task_id: int, actor: Actor, now: datetime) -> CareTask:
    """Hand a claimed task back to its queue."""
    task = _locked(session, task_id)
    _check_open(task)
    if task.owner != actor.name:
        raise TaskConflict(f"task {task_id} is not yours to hand back")
    task.owner = None
    task.lease_expires_at = None
    task.status = TaskStatus.REQUESTED
    task.updated_at = now
    session.add(task)
    record(
        session,
        actor=actor,
        action="release",
        entity="care_task",
        patient_id=task.patient_id,
        entity_id=task_id,
    )
    session.flush()
    return task


def reassign_task(
    session: Session, *, task_id: int, to_username: str, actor: Actor, now: datetime
) -> CareTask:
    """Give the task to another person of the task's role (an admin may reassign any task)."""
    task = _locked(session, task_id)
    if actor.role != Role.ADMIN.value:
        _check_access(task, actor)
    _check_open(task)
    held = _held_by_other(task, actor.name, now)
    if held and actor.role != Role.ADMIN.value:
        raise TaskConflict(
            f"task {task_id} is held by {task.owner}; take it over, with a reason, "
            "before you give it to someone else"
        )
    target = session.execute(
        select(AppUser).where(col(AppUser.username) == normalise_username(to_username))
    ).scalar_one_or_none()
    if target is None or not target.active or target.kind != AccountKind.PERSON:
        raise TaskInputError({"to": "no active user with this name"})
    if target.role != task.role_queue:
        raise TaskInputError({"to": f"the task needs a {task.role_queue.value}"})
    previous = task.owner
    if held:
        record_handover(
            session, task, to=target.username, actor=actor, reason="reassigned by an admin", now=now
        )
    task.owner = target.username
    task.lease_expires_at = now + LEASE
    task.status = TaskStatus.ACCEPTED
    task.updated_at = now
    session.add(task)
    record(
        session,
        actor=actor,
        action="reassign",
        entity="care_task",
        patient_id=task.patient_id,
        entity_id=task_id,
        detail={"from": previous, "to": target.username},
    )
    session.flush()
    return task


__all__ = [
    "COUNT_LIMIT",
    "LEASE",
    "UPCOMING_DAYS",
    "Bucket",
    "QueueCounts",
    "QueueFilters",
    "QueueRow",
    "QueueWindow",
    "TaskConflict",
    "TaskError",
    "TaskForbidden",
    "TaskInputError",
    "TaskNotFound",
    "TaskView",
    "claim_next",
    "claim_task",
    "close_task",
    "complete_task",
    "get_task",
    "list_patient_tasks",
    "list_queue",
    "queue_counts",
    "reassign_task",
    "release_task",
    "take_over_task",
]
