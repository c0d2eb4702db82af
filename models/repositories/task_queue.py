"""The work queue's reads: the buckets of a role's queue, their counts, a page of one.

A person sees the open tasks of their role's queue and the tasks they hold,
split into overdue (past ``due``), due today (due before the end of the
clinic's day, ``pathways.core.window.ClinicDay``) and upcoming (due within
``UPCOMING_DAYS``). The window predicates are ``models.task_sql``'s.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import func, or_, select, text
from sqlmodel import Session, col

from models.patient import Patient
from models.repositories.audit import Actor, record, record_many
from models.sql import table_of
from models.task import CareTask
from models.task_sql import OPEN_LIST, due_by, past_due
from pathways.core.window import ClinicDay
from pathways.vocab import Role, TaskKind

UPCOMING_DAYS = 14
# A search by patient name or MRN reads this many characters of what was typed.
SEARCH_MAX = 80
# Bucket counts stop here (shown as "1000+").
COUNT_LIMIT = 1000
OPEN = tuple(OPEN_LIST)


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
    text: str | None = None  # part of a patient's name or MRN


@dataclass(frozen=True, slots=True)
class QueueWindow:
    """The instants that split the queue and the worklist: now, the clinic's day, the horizon.

    Today is the clinic's day of ``now`` (``pathways.core.window.ClinicDay``); the
    horizon ends the ``UPCOMING_DAYS``-th day after it.
    """

    now: datetime
    today: ClinicDay
    horizon: datetime

    @classmethod
    def at(cls, now: datetime, tz: str) -> QueueWindow:
        """The queue at ``now``: today is the clinic's day of ``now``."""
        today = ClinicDay.of(now, tz)
        return cls(
            now=now,
            today=today,
            horizon=ClinicDay.on(today.day + timedelta(days=UPCOMING_DAYS), tz).end,
        )

    @property
    def day_end(self) -> datetime:
        return self.today.end


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


def _like(value: str) -> str:
    """``value`` as a LIKE pattern that matches it anywhere, as typed: %, _ and \\ are no
    wildcards."""
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def patients_matching(value: str) -> Any:
    """The ids of the patients whose name or MRN holds ``value`` (case-insensitive)."""
    pattern = _like(value.strip()[:SEARCH_MAX])
    return select(col(Patient.id)).where(
        or_(
            col(Patient.display_name).ilike(pattern, escape="\\"),
            col(Patient.mrn).ilike(pattern, escape="\\"),
        )
    )


def filter_clauses(c: Any, filters: QueueFilters) -> list[Any]:
    """The WHERE clauses of a queue's filters (the task API's and the worklist's)."""
    where: list[Any] = []
    if filters.kind is not None:
        where.append(c.kind == filters.kind.value)
    if filters.patient_id is not None:
        where.append(c.patient_id == filters.patient_id)
    if filters.regimen:
        where.append(c.regimen == filters.regimen)
    if filters.text and filters.text.strip():
        where.append(c.patient_id.in_(patients_matching(filters.text)))
    return where


def _scope(c: Any, *, role: Role, username: str, filters: QueueFilters) -> list[Any]:
    where: list[Any] = [c.status.in_(OPEN)]
    if filters.mine_only:
        where.append(c.owner == username)
    else:
        where.append(or_(c.role_queue == role.value, c.owner == username))
    return where + filter_clauses(c, filters)


def _bucket(c: Any, bucket: Bucket, window: QueueWindow) -> Any:
    if bucket is Bucket.OVERDUE:
        return past_due(c, window.now)
    if bucket is Bucket.TODAY:
        return due_by(c, window.now, window.day_end)
    return due_by(c, window.day_end, window.horizon)


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
    c = table_of(CareTask).c
    extra = filter_clauses(c, filters)
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
    c = table_of(CareTask).c
    # Plain rows, not ORM objects: a page of fifty is read, never changed.
    query = (
        select(*c, col(Patient.mrn), col(Patient.display_name))
        .join(Patient, col(Patient.id) == c.patient_id)
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
            .where(col(CareTask.patient_id) == patient_id)
            .order_by(col(CareTask.due), col(CareTask.id))
            .limit(limit)
        ).scalars()
    )
    record(session, actor=actor, action="read", entity="care_task", patient_id=patient_id)
    return rows


def task_regimens(session: Session, *, role: Role) -> list[str]:
    """The regimens of open tasks in a role's queue (the choices of the regimen filter)."""
    c = table_of(CareTask).c
    return [
        r
        for (r,) in session.execute(
            select(c.regimen)
            .where(c.role_queue == role.value, c.status.in_(OPEN), c.regimen.is_not(None))
            .distinct()
            .order_by(c.regimen)
        )
    ]
