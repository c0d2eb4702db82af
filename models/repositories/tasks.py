"""The work queue: list, claim, complete, skip, cancel, hand back and reassign tasks.

A person sees the open tasks of their role's queue and the tasks they hold,
split into overdue (past ``due``), due today (due before the end of the
clinic's day) and upcoming (due within the horizon). Claiming takes a lease
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
from enum import StrEnum
from typing import Any

from sqlalchemy import and_, func, or_, select, text
from sqlmodel import Session

from models.observation import Observation
from models.pathway import ResponseAssessmentRecord
from models.patient import Patient
from models.repositories.alerts import acknowledge_task_alerts, open_task_alerts
from models.repositories.audit import Actor, record, record_many
from models.repositories.handovers import record_handover
from models.repositories.task_results import MARROW_FIELDS, FieldSpec, parse_result, specs_for
from models.repositories.users import normalise_username
from models.task import CareTask
from models.user import AccountKind, AppUser
from pathways.core.labs import LabCatalogue
from pathways.vocab import OPEN_TASK_STATUSES, Role, TaskKind, TaskStatus

LEASE = timedelta(hours=4)
UPCOMING_DAYS = 14
# Bucket counts stop here (shown as "1000+").
COUNT_LIMIT = 1000
OPEN = tuple(s.value for s in OPEN_TASK_STATUSES)
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


class Bucket(StrEnum):
    OVERDUE = "overdue"
    TODAY = "today"
    UPCOMING = "upcoming"


@dataclass(frozen=True, slots=True)
class QueueFilters:
    kind: TaskKind | None = None
    patient_id: int | None = None
    regimen: str | None = None
    mine_only: bool = False


@dataclass(frozen=True, slots=True)
class QueueWindow:
    """The instants that split the queue: now, the end of the clinic's day, the horizon."""

    now: datetime
    day_end: datetime
    horizon: datetime


@dataclass(frozen=True, slots=True)
class QueueCounts:
    overdue: int
    today: int
    upcoming: int
    mine: int

    def of(self, bucket: Bucket) -> int:
        return int(getattr(self, bucket.value))

    @staticmethod
    def shown(value: int) -> str:
        return f"{COUNT_LIMIT}+" if value >= COUNT_LIMIT else str(value)


@dataclass(frozen=True, slots=True)
class QueueRow:
    """A queue line: the task's columns (typed, read-only, not an ORM object) and its patient."""

    task: Any
    mrn: str
    patient_name: str


def _filters(c: Any, filters: QueueFilters) -> list[Any]:
    where: list[Any] = []
    if filters.kind is not None:
        where.append(c.kind == filters.kind.value)
    if filters.patient_id is not None:
        where.append(c.patient_id == filters.patient_id)
    if filters.regimen:
        where.append(c.regimen == filters.regimen)
    return where


def _scope(c: Any, *, role: Role, username: str, filters: QueueFilters) -> list[Any]:
    where: list[Any] = [c.status.in_(OPEN)]
    if filters.mine_only:
        where.append(c.owner == username)
    else:
        where.append(or_(c.role_queue == role.value, c.owner == username))
    return where + _filters(c, filters)


def _bucket(c: Any, bucket: Bucket, window: QueueWindow) -> Any:
    if bucket is Bucket.OVERDUE:
        return c.due <= window.now
    if bucket is Bucket.TODAY:
        return and_(c.due > window.now, c.due <= window.day_end)
    return and_(c.due > window.day_end, c.due <= window.horizon)


def queue_counts(
    session: Session,
    *,
    role: Role,
    username: str,
    filters: QueueFilters,
    window: QueueWindow,
) -> QueueCounts:
    """How many open tasks each bucket holds, up to ``COUNT_LIMIT`` (shown as "1000+").

    A count stops at the limit: nobody works through a thousand tasks by
    number, and a capped count reads at most that many index entries, so the
    queue answers in milliseconds however large the clinic. The role's queue
    is counted from ``ix_care_task_queue`` alone (index-only); what the person
    holds in other queues, and everything they hold, from the owner index.
    """
    c = CareTask.__table__.c  # type: ignore[attr-defined]
    extra = _filters(c, filters)
    # A parallel plan costs more than it saves on these small counts and takes
    # a core from the other requests; this transaction plans serially.
    session.execute(text("SET LOCAL max_parallel_workers_per_gather = 0"))

    def capped(*where: Any) -> Any:
        inner = select(c.id).where(*where).limit(COUNT_LIMIT).subquery()
        return select(func.count()).select_from(inner).scalar_subquery()

    in_role = (c.role_queue == role.value, c.status.in_(OPEN), *extra)
    held = (c.owner == username, c.role_queue != role.value, c.status.in_(OPEN), *extra)
    row = session.execute(
        select(
            *(capped(*in_role, _bucket(c, b, window)) for b in Bucket),
            *(capped(*held, _bucket(c, b, window)) for b in Bucket),
            capped(c.owner == username, c.status.in_(OPEN)),
        )
    ).one()
    return QueueCounts(
        overdue=min(row[0] + row[3], COUNT_LIMIT),
        today=min(row[1] + row[4], COUNT_LIMIT),
        upcoming=min(row[2] + row[5], COUNT_LIMIT),
        mine=row[6],
    )


def list_queue(
    session: Session,
    *,
    role: Role,
    username: str,
    bucket: Bucket | None,
    filters: QueueFilters,
    window: QueueWindow,
    actor: Actor,
    limit: int = 50,
    offset: int = 0,
) -> list[QueueRow]:
    """One page of a bucket (None: all of it), soonest due first; the patients shown are audited."""
    c = CareTask.__table__.c  # type: ignore[attr-defined]
    # Plain rows, not ORM objects: a page of fifty is read, never changed.
    query = (
        select(*c, Patient.mrn, Patient.display_name)
        .join(Patient, Patient.id == c.patient_id)  # type: ignore[arg-type]
        .where(*_scope(c, role=role, username=username, filters=filters))
        .order_by(c.due, c.id)
        .limit(limit)
        .offset(offset)
    )
    if bucket is not None:
        query = query.where(_bucket(c, bucket, window))
    rows = [
        QueueRow(task=r, mrn=r.mrn, patient_name=r.display_name) for r in session.execute(query)
    ]
    record_many(
        session,
        actor=actor,
        action="list",
        entity="care_task",
        patient_ids=sorted({r.task.patient_id for r in rows}),
        detail={"bucket": "all" if bucket is None else bucket.value},
    )
    return rows


def list_patient_tasks(
    session: Session, *, patient_id: int, actor: Actor, limit: int = 500
) -> list[CareTask]:
    rows = list(
        session.execute(
            select(CareTask)
            .where(CareTask.patient_id == patient_id)
            .order_by(CareTask.due, CareTask.id)  # type: ignore[arg-type]
            .limit(limit)
        ).scalars()
    )
    record(session, actor=actor, action="read", entity="care_task", patient_id=patient_id)
    return rows


def task_regimens(session: Session, *, role: Role) -> list[str]:
    """The regimens of open tasks in a role's queue (the choices of the regimen filter)."""
    c = CareTask.__table__.c  # type: ignore[attr-defined]
    return [
        r
        for (r,) in session.execute(
            select(c.regimen)
            .where(c.role_queue == role.value, c.status.in_(OPEN), c.regimen.is_not(None))
            .distinct()
            .order_by(c.regimen)
        )
    ]


@dataclass(frozen=True, slots=True)
class TaskView:
    task: CareTask
    mrn: str
    patient_name: str
    fields: list[FieldSpec]


def get_task(session: Session, *, task_id: int, actor: Actor, labs: LabCatalogue) -> TaskView:
    row = session.execute(
        select(CareTask, Patient.mrn, Patient.display_name)
        .join(Patient, Patient.id == CareTask.patient_id)  # type: ignore[arg-type]
        .where(CareTask.id == task_id)
    ).first()
    if row is None:
        raise TaskNotFound(task_id)
    task, mrn, name = row
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
    )


def _locked(session: Session, task_id: int) -> CareTask:
    """The task row, locked for this transaction; a row another transaction holds is 'busy'."""
    task = session.execute(
        select(CareTask)
        .where(CareTask.id == task_id)
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if task is None:
        exists = session.execute(select(CareTask.id).where(CareTask.id == task_id)).first()
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
    c = CareTask.__table__.c  # type: ignore[attr-defined]
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
        Observation(
            patient_id=task.patient_id,
            code=m.test,
            value=m.value,
            unit=m.unit,
            entered_value=m.entered_value,
            entered_unit=m.entered_unit,
            uln=m.uln,
            observed_at=now,
            source=f"task:{task_id}",
            recorded_by=actor.name,
        )
        for m in parsed.labs
    )
    assessment_id = _assessment(session, task, result, actor, now, clinic_date)
    task.result = result | ({"response_assessment_id": assessment_id} if assessment_id else {})
    task.status = TaskStatus.COMPLETED
    task.completed_at = now
    task.completed_by = actor.name
    task.lease_expires_at = None
    task.updated_at = now
    session.add(task)
    record(
        session,
        actor=actor,
        action="complete",
        entity="care_task",
        patient_id=task.patient_id,
        entity_id=task_id,
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

    Both end the task as FHIR ``cancelled`` with the reason; ``detail.closed_as``
    keeps which of the two it was, for the adherence report.
    """
    if outcome not in ("skipped", "cancelled"):
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
    task.detail = {**(task.detail or {}), "closed_as": outcome, "closed_by": actor.name}
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
        select(AppUser).where(AppUser.username == normalise_username(to_username))
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
