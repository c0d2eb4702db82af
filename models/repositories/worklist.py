"""The worklists people work from: task views, search and sort, the week, alert groups, what changed.

A person sees the open tasks of their role's queue and those they hold, in
views: overdue (past due, not yet missed), due today (not yet past due, and
due by the end of the clinic's day), the next days, missed (past the end of
the window), mine, everything open, and *escalated from me*: tasks the
escalation moved from the person's role up the ladder, which would otherwise
vanish from the queue of the people who handed them up. The window views are
``models.task_sql``'s, the same as the task API's buckets. Every list can be
searched by patient name or MRN and sorted; the patients shown are audited as
the queue's lists are.

Alerts awaiting a clinician are read as groups of one patient and one rule
(old rows can repeat an alert many times): the count, the most severe grade
and the newest message. Acknowledging a group acknowledges each alert through
``alerts.acknowledge_alert`` (who, when, why; audited).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import and_, case, func, or_, select, text
from sqlmodel import Session, col

from models.pathway import ResponseAssessmentRecord
from models.patient import Patient
from models.repositories import task_queue
from models.repositories.alerts import acknowledge_alert
from models.repositories.audit import Actor, record_many
from models.repositories.task_queue import patients_matching
from models.repositories.tasks import OPEN
from models.repositories.users import display_names
from models.sql import table_of
from models.task import CareTask, ClinicalAlert
from models.task_sql import due_by, missed_open, overdue
from models.user import AppUser
from pathways.vocab import Role, Severity, TaskKind

WEEK_LIMIT = 400


class View(StrEnum):
    OVERDUE = "overdue"
    TODAY = "today"
    UPCOMING = "upcoming"
    ESCALATED = "escalated"
    MISSED = "missed"
    MINE = "mine"
    OPEN = "open"


VIEW_LABELS = {
    View.OVERDUE: "Overdue",
    View.TODAY: "Due today",
    View.UPCOMING: "Next days",
    View.ESCALATED: "Escalated from me",
    View.MISSED: "Missed",
    View.MINE: "Mine",
    View.OPEN: "All open",
}


class Sort(StrEnum):
    DUE = "due"
    PATIENT = "patient"
    MRN = "mrn"
    TASK = "task"
    KIND = "kind"


# The instants that split the worklist are the queue's: now, the clinic's day of now
# (pathways.core.window.ClinicDay) and the horizon of the next days.
Day = task_queue.QueueWindow


@dataclass(frozen=True, slots=True)
class Search:
    kind: TaskKind | None = None
    regimen: str | None = None
    text: str | None = None  # part of a patient's name or MRN
    patient_id: int | None = None
    sort: Sort = Sort.DUE
    descending: bool = False


@dataclass(frozen=True, slots=True)
class Row:
    """A worklist line: the task's columns, its patient, and the holder's name for people."""

    task: Any
    mrn: str
    patient_name: str
    owner_name: str | None


def _search(c: Any, search: Search) -> list[Any]:
    return task_queue.filter_clauses(
        c,
        task_queue.QueueFilters(
            kind=search.kind,
            patient_id=search.patient_id,
            regimen=search.regimen,
            text=search.text,
        ),
    )


def _view(c: Any, view: View, *, role: Role, username: str, day: Day) -> list[Any]:
    mine = or_(c.role_queue == role.value, c.owner == username)
    where: list[Any] = [c.status.in_(OPEN)]
    if view is View.ESCALATED:
        # jsonb containment: some escalation of this task went from the person's role.
        went_up = func.jsonb_build_array(func.jsonb_build_object("from", role.value))
        # Every escalation raises the level: the level lets ix_care_task_escalated
        # hand over the few escalated rows before the jsonb test reads them.
        return [*where, c.escalation_level > 0, c.escalations.op("@>")(went_up)]
    if view is View.MINE:
        return [*where, c.owner == username]
    where.append(mine)
    if view is View.OVERDUE:
        where.append(overdue(c, day.now))
    elif view is View.TODAY:
        where.append(due_by(c, day.now, day.today.end))
    elif view is View.UPCOMING:
        where.append(due_by(c, day.today.end, day.horizon))
    elif view is View.MISSED:
        where.append(missed_open(c, day.now))
    return where


def view_counts(
    session: Session, *, role: Role, username: str, search: Search, day: Day
) -> dict[View, int]:
    """How many tasks each view holds, each capped at ``task_queue.COUNT_LIMIT`` (shown as "1000+")."""
    c = table_of(CareTask).c
    extra = _search(c, search)
    session.execute(text("SET LOCAL max_parallel_workers_per_gather = 0"))

    def capped(view: View) -> Any:
        where = _view(c, view, role=role, username=username, day=day) + extra
        inner = select(c.id).where(*where).limit(task_queue.COUNT_LIMIT).subquery()
        return select(func.count()).select_from(inner).scalar_subquery()

    row = session.execute(select(*(capped(v) for v in View))).one()
    return {v: int(n) for v, n in zip(View, row, strict=True)}


def _order(c: Any, search: Search) -> list[Any]:
    key = {
        Sort.DUE: c.due,
        Sort.PATIENT: col(Patient.display_name),
        Sort.MRN: col(Patient.mrn),
        Sort.TASK: c.title,
        Sort.KIND: c.kind,
    }[search.sort]
    first = key.desc() if search.descending else key.asc()
    return [first, c.due, c.id]


def _rows(session: Session, query: Any) -> list[Row]:
    return [
        Row(task=r, mrn=r.mrn, patient_name=r.display_name, owner_name=r.owner_name)
        for r in session.execute(query)
    ]


def _select() -> Any:
    c = table_of(CareTask).c
    return (
        select(
            *c,
            col(Patient.mrn),
            col(Patient.display_name),
            col(AppUser.display_name).label("owner_name"),
        )
        .join(Patient, col(Patient.id) == c.patient_id)
        .outerjoin(AppUser, col(AppUser.username) == c.owner)
    )


def list_view(
    session: Session,
    *,
    role: Role,
    username: str,
    view: View,
    search: Search,
    day: Day,
    actor: Actor,
    limit: int = 50,
    offset: int = 0,
) -> list[Row]:
    """One page of a view, in the order asked for; the patients shown are audited."""
    c = table_of(CareTask).c
    query = (
        _select()
        .where(*_view(c, view, role=role, username=username, day=day), *_search(c, search))
        .order_by(*_order(c, search))
        .limit(limit)
        .offset(offset)
    )
    rows = _rows(session, query)
    _audit(session, actor, rows, {"view": view.value})
    return rows


def _audit(session: Session, actor: Actor, rows: list[Row], detail: dict[str, Any]) -> None:
    record_many(
        session,
        actor=actor,
        action="list",
        entity="care_task",
        patient_ids=sorted({r.task.patient_id for r in rows}),
        detail=detail,
    )


def week_of(day: date) -> date:
    """The Monday of ``day``'s week."""
    return day - timedelta(days=day.weekday())


def week_tasks(
    session: Session,
    *,
    role: Role,
    username: str,
    monday: date,
    search: Search,
    actor: Actor,
) -> dict[date, list[Row]]:
    """The open tasks of the role's queue and the person's, due on each day of the week."""
    c = table_of(CareTask).c
    days = [monday + timedelta(days=i) for i in range(7)]
    query = (
        _select()
        .where(
            c.status.in_(OPEN),
            or_(c.role_queue == role.value, c.owner == username),
            c.due_date >= days[0],
            c.due_date <= days[-1],
            *_search(c, search),
        )
        .order_by(c.due_date, c.due, c.id)
        .limit(WEEK_LIMIT)
    )
    rows = _rows(session, query)
    _audit(session, actor, rows, {"view": "week", "from": monday.isoformat()})
    week: dict[date, list[Row]] = {d: [] for d in days}
    for row in rows:
        week[row.task.due_date].append(row)
    return week


def person_name(session: Session, username: str | None) -> str | None:
    """The display name of a user name ("Dana Reyes", not "coordinator1"); None for None."""
    return None if username is None else display_names(session, [username])[username]


# -- alerts ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AlertGroup:
    """The open alerts of one patient and one rule: how many, the worst grade, the newest."""

    patient_id: int
    rule_id: str
    count: int
    severity: Severity
    newest: ClinicalAlert
    mrn: str
    patient_name: str

    @property
    def key(self) -> str:
        return f"{self.patient_id}-{self.rule_id}"


_RANK = {Severity.CRITICAL.value: 0, Severity.WARNING.value: 1}


def alert_groups(
    session: Session, *, actor: Actor, search: str | None = None, limit: int = 100
) -> list[AlertGroup]:
    """Unacknowledged alerts grouped by patient and rule, the most severe and newest first."""
    a = table_of(ClinicalAlert).c
    rank = case(_RANK, value=a.severity, else_=2)
    part = (a.patient_id, a.rule_id)
    ranked = select(
        a.id,
        func.row_number()
        .over(partition_by=part, order_by=(a.raised_at.desc(), a.id.desc()))
        .label("n"),
        func.count().over(partition_by=part).label("total"),
        func.min(rank).over(partition_by=part).label("worst"),
    ).where(a.acknowledged_at.is_(None))
    if search and search.strip():
        ranked = ranked.where(a.patient_id.in_(patients_matching(search)))
    sub = ranked.subquery()
    rows = session.execute(
        select(ClinicalAlert, sub.c.total, sub.c.worst, col(Patient.mrn), col(Patient.display_name))
        .join(sub, and_(sub.c.id == col(ClinicalAlert.id), sub.c.n == 1))
        .join(Patient, col(Patient.id) == col(ClinicalAlert.patient_id))
        .order_by(sub.c.worst, col(ClinicalAlert.raised_at).desc())
        .limit(limit)
    ).all()
    worst = {0: Severity.CRITICAL, 1: Severity.WARNING}
    groups = [
        AlertGroup(
            patient_id=alert.patient_id,
            rule_id=alert.rule_id,
            count=int(total),
            severity=worst.get(int(rank_), Severity.INFO),
            newest=alert,
            mrn=mrn,
            patient_name=name,
        )
        for alert, total, rank_, mrn, name in rows
    ]
    record_many(
        session,
        actor=actor,
        action="list",
        entity="clinical_alert",
        patient_ids=sorted({g.patient_id for g in groups}),
    )
    return groups


def acknowledge_group(
    session: Session,
    *,
    patient_id: int,
    rule_id: str,
    reason: str | None,
    actor: Actor,
    now: datetime,
) -> list[int]:
    """Acknowledge every open alert of this patient and rule, each with the reason given."""
    ids = list(
        session.execute(
            select(col(ClinicalAlert.id))
            .where(
                col(ClinicalAlert.patient_id) == patient_id,
                col(ClinicalAlert.rule_id) == rule_id,
                col(ClinicalAlert.acknowledged_at).is_(None),
            )
            .order_by(col(ClinicalAlert.id))
        ).scalars()
    )
    for alert_id in ids:
        acknowledge_alert(
            session,
            patient_id=patient_id,
            alert_id=int(alert_id),
            reason=reason,
            actor=actor,
            now=now,
        )
    return [int(i) for i in ids]


@dataclass(frozen=True, slots=True)
class Unsigned:
    assessment: ResponseAssessmentRecord
    mrn: str
    patient_name: str


def unsigned_assessments(
    session: Session, *, actor: Actor, search: str | None = None, limit: int = 50
) -> list[Unsigned]:
    """Response assessments no clinician has signed yet (RESP-04: the engine only suggests)."""
    query = (
        select(ResponseAssessmentRecord, col(Patient.mrn), col(Patient.display_name))
        .join(Patient, col(Patient.id) == col(ResponseAssessmentRecord.patient_id))
        .where(col(ResponseAssessmentRecord.signed_at).is_(None))
        .order_by(col(ResponseAssessmentRecord.assessed_on), col(ResponseAssessmentRecord.id))
        .limit(limit)
    )
    if search and search.strip():
        query = query.where(col(ResponseAssessmentRecord.patient_id).in_(patients_matching(search)))
    rows = [Unsigned(assessment=r, mrn=m, patient_name=n) for r, m, n in session.execute(query)]
    record_many(
        session,
        actor=actor,
        action="list",
        entity="response_assessment",
        patient_ids=sorted({u.assessment.patient_id for u in rows}),
    )
    return rows


# -- what changed ---------------------------------------------------------------------


def live_state(session: Session, *, role: Role, username: str, day: Day) -> dict[str, Any]:
    """What the page shows as counts, and a version that changes when a task, alert or
    assignment of this person's worklist does (no patient data: it is polled)."""
    c = table_of(CareTask).c
    scope = (c.status.in_(OPEN), or_(c.role_queue == role.value, c.owner == username))
    tasks = session.execute(
        select(
            func.count().filter(or_(overdue(c, day.now), due_by(c, day.now, day.today.end))),
            func.count().filter(c.owner == username),
            func.count(),
            func.max(c.updated_at),
            func.max(c.id),
        ).where(*scope)
    ).one()
    alerts = (0, None)
    if role is Role.CLINICIAN:
        a = table_of(ClinicalAlert).c
        alerts = session.execute(
            select(func.count(), func.max(a.id)).where(a.acknowledged_at.is_(None))
        ).one()
    state: dict[str, Any] = {"due": int(tasks[0]), "mine": int(tasks[1]), "alerts": int(alerts[0])}
    stamp = json.dumps(
        [state, int(tasks[2]), str(tasks[3]), tasks[4], alerts[1]], default=str
    ).encode()
    state["version"] = hashlib.sha256(stamp).hexdigest()[:16]
    return state


__all__ = [
    "VIEW_LABELS",
    "AlertGroup",
    "Day",
    "Row",
    "Search",
    "Sort",
    "Unsigned",
    "View",
    "acknowledge_group",
    "alert_groups",
    "list_view",
    "live_state",
    "person_name",
    "unsigned_assessments",
    "view_counts",
    "week_of",
    "week_tasks",
]
