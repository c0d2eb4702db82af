"""Writing the engine's plan: task upserts, cancellations, data problems, and due reminders.

A batch of patients is written in a fixed number of set-based statements,
whatever its size:

1. one read of the batch's planned tasks inside the horizon (dedupe key and
   plan hash), used only to skip rows whose hash already matches and to find
   the open tasks the engine no longer plans;
2. one ``INSERT … ON CONFLICT (dedupe_key) DO UPDATE … WHERE`` for the rest.
   The guard in the WHERE clause is the source of truth, not the read above:
   a completed, failed or human-cancelled task is never touched, an open one
   is updated only when its plan hash changed, and a task this module itself
   cancelled is reopened when the engine plans it again. Two runs at once
   therefore end in the same rows as one;
3. one UPDATE cancelling open tasks that are no longer planned (with a
   reason, never a DELETE);
4. one INSERT of "due" reminders into the outbox for the batch's tasks whose
   window has opened — in the same transaction, so a task never becomes due
   without its reminder;
5. data-problem tasks for patients who could not be planned, and one audit
   row per patient.

Planned tasks have the dedupe key ``p{patient}:{pathway version}:{engine key}``.
Tasks of other origins use other prefixes (``alert:``, ``resp:``, ``dq:``) so a
re-plan never cancels them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from enum import Enum
from typing import Any

from sqlalchemy import case, literal_column, or_, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlmodel import Session

from models.repositories.audit import Actor, record_many
from models.task import CareTask
from pathways.decisions import PlannedTask
from pathways.vocab import Role, TaskKind, TaskStatus

PLANNED_PREFIX = "p"
DATA_PROBLEM_PREFIX = "dq:"
DATA_PROBLEM_RULE = "data-quality"
KEY_MAX = 200

_TASKS = CareTask.__table__  # type: ignore[attr-defined]


class InvalidPlan(ValueError):
    """The engine returned a task that cannot be stored (reported as a data problem)."""


@dataclass(frozen=True, slots=True)
class PatientPlan:
    """The engine's tasks for one patient, with the ids the rows link to."""

    patient_id: int
    pathway_version: str
    tasks: Sequence[PlannedTask]
    instance_id: int | None = None
    course_id: int | None = None


@dataclass(frozen=True, slots=True)
class DataProblem:
    """A patient the tracker could not plan; the text goes to a task, never to a log."""

    patient_id: int
    source: str  # snapshot | engine | plan
    problem: str
    role: Role = Role.COORDINATOR


@dataclass(frozen=True, slots=True)
class Route:
    """Where a role's reminders go: one outbox row per route."""

    role: str
    channel: str
    recipient: str


@dataclass
class PlanCounts:
    patients: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    cancelled: int = 0
    reopened: int = 0
    reminders: int = 0
    problems: int = 0
    problem_patients: list[int] = field(default_factory=list)

    def add(self, other: PlanCounts) -> None:
        for name in (
            "patients",
            "created",
            "updated",
            "unchanged",
            "cancelled",
            "reopened",
            "reminders",
            "problems",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.problem_patients.extend(other.problem_patients)

    def as_dict(self) -> dict[str, Any]:
        return {
            "patients": self.patients,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "cancelled": self.cancelled,
            "reopened": self.reopened,
            "reminders": self.reminders,
            "problems": self.problems,
            "problem_patients": list(self.problem_patients),
        }


def planned_key(patient_id: int, pathway_version: str, engine_key: str) -> str:
    key = f"{PLANNED_PREFIX}{patient_id}:{pathway_version}:{engine_key}"
    if len(key) <= KEY_MAX:
        return key
    digest = hashlib.blake2b(engine_key.encode(), digest_size=12).hexdigest()
    return f"{PLANNED_PREFIX}{patient_id}:{pathway_version}:#{digest}"


def planned_rows(plan: PatientPlan, *, now: datetime) -> list[dict[str, Any]]:
    """The care_task rows of one patient's plan; raises ``InvalidPlan`` for a task that cannot be stored."""
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    for task in plan.tasks:
        _check(task)
        key = planned_key(plan.patient_id, plan.pathway_version, task.key)
        if key in seen:
            raise InvalidPlan(f"engine key {task.key!r} planned twice")
        seen.add(key)
        detail = _detail(task)
        result_fields = list(task.result_fields) if task.result_fields else None
        row = {
            "patient_id": plan.patient_id,
            "instance_id": plan.instance_id,
            "course_id": plan.course_id,
            "dedupe_key": key,
            "pathway_version": plan.pathway_version,
            "kind": TaskKind(task.kind).value,
            "rule_id": task.rule_id,
            "title": _clip(task.title, 240),
            "section": _clip(task.section or "", 240),
            "regimen": task.regimen,
            "cycle": task.cycle,
            "day": task.day,
            "window_start": task.window_start,
            "due_date": task.due_date,
            "window_end": task.window_end,
            "not_before": task.not_before,
            "due": task.due,
            "expires": task.expires,
            "safety": bool(task.safety),
            "role_queue": Role(task.role).value,
            "result_fields": result_fields,
            "detail": detail,
        }
        row["plan_hash"] = _digest(row)
        row["status"] = TaskStatus.REQUESTED.value
        row["escalation_level"] = 0
        row["planned_at"] = now
        row["created_at"] = now
        row["updated_at"] = now
        rows.append(row)
    return rows


def write_plans(
    session: Session,
    *,
    rows: Sequence[dict[str, Any]],
    planned_patients: Sequence[int],
    problems: Sequence[DataProblem],
    horizon: tuple[datetime, datetime],
    as_of: date,
    now: datetime,
    routes: Sequence[Route],
    actor: Actor,
) -> PlanCounts:
    """Write one batch: ``rows`` are the planned tasks of ``planned_patients`` (all of them)."""
    counts = PlanCounts(patients=len(planned_patients) + len({p.patient_id for p in problems}))
    pids = list(planned_patients)
    existing = _existing(session, pids, horizon[0]) if pids else {}

    to_write: list[dict[str, Any]] = []
    for row in rows:
        old = existing.get(row["dedupe_key"])
        if old is None or _needs_write(old, row["plan_hash"]):
            to_write.append(row)
        else:
            counts.unchanged += 1
    if to_write:
        written = _upsert(session, to_write)
        for key, inserted in written.items():
            if inserted:
                counts.created += 1
            elif existing.get(key) is not None and existing[key].status not in _OPEN:
                counts.reopened += 1
            else:
                counts.updated += 1
        counts.unchanged += len(to_write) - len(written)

    planned_keys = {row["dedupe_key"] for row in rows}
    stale = [
        old.id
        for key, old in existing.items()
        if key not in planned_keys and old.status in _OPEN and horizon[0] <= old.due < horizon[1]
    ]
    if stale:
        counts.cancelled = _cancel_unplanned(session, stale, as_of=as_of, now=now)

    if pids:
        counts.reminders = queue_due_reminders(session, patient_ids=pids, now=now, routes=routes)
        _resolve_data_problems(session, pids, as_of=as_of, now=now)
    if problems:
        counts.problems = len(problems)
        counts.problem_patients = sorted({p.patient_id for p in problems})
        raise_data_problems(session, problems=problems, as_of=as_of, now=now)

    touched = sorted(set(pids) | set(counts.problem_patients))
    record_many(
        session,
        actor=actor,
        action="plan",
        entity="care_task",
        patient_ids=touched,
        detail={"as_of": as_of.isoformat()},
    )
    return counts


OPEN_STATUSES = sorted(
    s.value
    for s in (TaskStatus.REQUESTED, TaskStatus.ACCEPTED, TaskStatus.IN_PROGRESS, TaskStatus.ON_HOLD)
)
_OPEN = frozenset(OPEN_STATUSES)


@dataclass(frozen=True, slots=True)
class _Existing:
    id: int
    plan_hash: str
    status: str
    plan_cancelled: bool
    due: datetime


def _existing(session: Session, pids: list[int], since: datetime) -> dict[str, _Existing]:
    result = session.execute(
        text(
            "SELECT id, dedupe_key, plan_hash, status, (detail ? 'cancelled_by_plan') AS pc, due "
            "FROM care_task WHERE patient_id = ANY(:pids) AND due >= :since "
            "AND dedupe_key LIKE 'p%'"
        ),
        {"pids": pids, "since": since},
    )
    return {r.dedupe_key: _Existing(r.id, r.plan_hash, r.status, bool(r.pc), r.due) for r in result}


def _needs_write(old: _Existing, plan_hash: str) -> bool:
    if old.status in _OPEN:
        return old.plan_hash != plan_hash
    return old.status == TaskStatus.CANCELLED.value and old.plan_cancelled


_PLANNED_COLUMNS = (
    "instance_id",
    "course_id",
    "pathway_version",
    "kind",
    "rule_id",
    "title",
    "section",
    "regimen",
    "cycle",
    "day",
    "window_start",
    "due_date",
    "window_end",
    "not_before",
    "due",
    "expires",
    "safety",
    "result_fields",
    "detail",
    "plan_hash",
    "planned_at",
    "updated_at",
)


def _upsert(session: Session, rows: list[dict[str, Any]]) -> dict[str, bool]:
    """Insert new tasks, update changed open ones, reopen ones this module cancelled.

    Returns the dedupe keys written, each with True when the row was inserted.
    Rows the guard refused (another run wrote the same plan first) are absent.
    """
    rows = sorted(rows, key=lambda r: r["dedupe_key"])  # one lock order for concurrent runs
    stmt = pg_insert(_TASKS)
    excluded = stmt.excluded
    current = _TASKS.c
    reopen = (current.status == TaskStatus.CANCELLED.value) & current.detail.has_key(
        "cancelled_by_plan"
    )
    set_: dict[str, Any] = {name: excluded[name] for name in _PLANNED_COLUMNS}
    # An escalated task stays in the queue it was escalated to.
    set_["role_queue"] = case(
        (current.escalation_level > 0, current.role_queue), else_=excluded.role_queue
    )
    set_["status"] = case((reopen, TaskStatus.REQUESTED.value), else_=current.status)
    set_["status_reason"] = case((reopen, None), else_=current.status_reason)
    stmt = stmt.on_conflict_do_update(
        index_elements=[current.dedupe_key],
        set_=set_,
        where=or_(
            or_(*(current.status == status for status in OPEN_STATUSES))
            & current.plan_hash.is_distinct_from(excluded.plan_hash),
            reopen,
        ),
    ).returning(current.dedupe_key, literal_column("(xmax = 0)").label("inserted"))
    return {r.dedupe_key: bool(r.inserted) for r in session.execute(stmt, rows)}


def _cancel_unplanned(session: Session, ids: list[int], *, as_of: date, now: datetime) -> int:
    result = session.execute(
        text(
            "UPDATE care_task SET status = 'cancelled', status_reason = :reason, "
            "detail = COALESCE(detail, '{}'::jsonb) || jsonb_build_object('cancelled_by_plan', CAST(:as_of AS text)), "
            "updated_at = :now WHERE id = ANY(:ids) AND status = ANY(:open)"
        ),
        {
            "open": OPEN_STATUSES,
            "ids": sorted(ids),
            "reason": f"no longer planned by the pathway as of {as_of.isoformat()}",
            "as_of": as_of.isoformat(),
            "now": now,
        },
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def queue_due_reminders(
    session: Session, *, patient_ids: Sequence[int], now: datetime, routes: Sequence[Route]
) -> int:
    """Outbox rows for the open tasks of these patients whose window is open at ``now``."""
    if not routes or not patient_ids:
        return 0
    return queue_reminders(
        session,
        reason="due",
        where=(
            "t.patient_id = ANY(:pids) AND t.status = ANY(:open) "
            "AND t.not_before <= :now AND t.due > :now"
        ),
        params={"pids": list(patient_ids), "open": OPEN_STATUSES},
        now=now,
        routes=routes,
    )


def queue_reminders(
    session: Session,
    *,
    reason: str,
    where: str,
    params: Mapping[str, Any],
    now: datetime,
    routes: Sequence[Route],
    key_reason: str | None = None,
) -> int:
    """One INSERT … SELECT of reminders for the tasks matching ``where`` (alias ``t``).

    ``where`` and ``key_reason`` are SQL fragments written in this package
    (never user input); values travel as bound parameters.
    """
    key_reason_sql = "CAST(:reason AS text)" if key_reason is None else key_reason
    result = session.execute(
        text(
            "INSERT INTO reminder (task_id, reason, channel, recipient, idempotency_key, payload, "  # noqa: S608
            "status, attempts, next_attempt_at, created_at) "
            "SELECT t.id, CAST(:reason AS text), r.channel, r.recipient, "
            f"'t' || t.id || ':' || {key_reason_sql} || ':' "
            "|| to_char(t.due AT TIME ZONE 'UTC', 'YYYYMMDD\"T\"HH24MI\"Z\"') "
            "|| ':' || r.channel || ':' || left(md5(r.recipient), 12), "
            "jsonb_build_object('task_id', t.id, 'title', t.title, 'rule_id', t.rule_id, "
            "'kind', t.kind, 'role', t.role_queue, 'due', t.due, 'reason', CAST(:reason AS text), "
            "'escalation_level', t.escalation_level, 'safety', t.safety), "
            "'pending', 0, :now, :now "
            "FROM care_task t JOIN unnest(CAST(:roles AS text[]), CAST(:channels AS text[]), "
            "CAST(:recipients AS text[])) AS r(role, channel, recipient) ON r.role = t.role_queue "
            f"WHERE {where} "
            "ORDER BY t.id ON CONFLICT (idempotency_key) DO NOTHING"
        ),
        {
            **params,
            "reason": reason,
            "now": now,
            "roles": [r.role for r in routes],
            "channels": [r.channel for r in routes],
            "recipients": [r.recipient for r in routes],
        },
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def raise_data_problems(
    session: Session, *, problems: Sequence[DataProblem], as_of: date, now: datetime
) -> None:
    """A review task per patient and problem; one this module resolved earlier is reopened."""
    rows = []
    for p in problems:
        digest = hashlib.blake2b(f"{p.source}:{p.problem}".encode(), digest_size=8).hexdigest()
        rows.append(
            {
                "patient_id": p.patient_id,
                "dedupe_key": f"{DATA_PROBLEM_PREFIX}p{p.patient_id}:{digest}",
                "pathway_version": "",
                "kind": TaskKind.CLINICIAN_REVIEW.value,
                "rule_id": DATA_PROBLEM_RULE,
                "title": "Check this patient's recorded facts: the tracker could not plan their care",
                "section": "data quality",
                "window_start": as_of,
                "due_date": as_of + timedelta(days=1),
                "window_end": as_of + timedelta(days=14),
                "not_before": now,
                "due": now + timedelta(days=1),
                "expires": now + timedelta(days=14),
                "safety": False,
                "status": TaskStatus.REQUESTED.value,
                "role_queue": Role(p.role).value,
                "escalation_level": 0,
                "detail": {
                    "source": p.source,
                    "problem": p.problem[:2000],
                    "first_seen": as_of.isoformat(),
                },
                "plan_hash": digest.ljust(32, "0"),
                "planned_at": now,
                "created_at": now,
                "updated_at": now,
            }
        )
    rows.sort(key=lambda r: r["dedupe_key"])
    unique = list({r["dedupe_key"]: r for r in rows}.values())
    stmt = pg_insert(_TASKS)
    current = _TASKS.c
    stmt = stmt.on_conflict_do_update(
        index_elements=[current.dedupe_key],
        set_={
            "status": TaskStatus.REQUESTED.value,
            "status_reason": None,
            "not_before": stmt.excluded.not_before,
            "due": stmt.excluded.due,
            "expires": stmt.excluded.expires,
            "window_start": stmt.excluded.window_start,
            "due_date": stmt.excluded.due_date,
            "window_end": stmt.excluded.window_end,
            "detail": stmt.excluded.detail,
            "updated_at": stmt.excluded.updated_at,
        },
        where=(current.status == TaskStatus.CANCELLED.value)
        & current.detail.has_key("resolved_by_plan"),
    )
    session.execute(stmt, unique)


def _resolve_data_problems(
    session: Session, pids: list[int], *, as_of: date, now: datetime
) -> None:
    session.execute(
        text(
            "UPDATE care_task SET status = 'cancelled', status_reason = :reason, "
            "detail = COALESCE(detail, '{}'::jsonb) || jsonb_build_object('resolved_by_plan', CAST(:as_of AS text)), "
            "updated_at = :now "
            "WHERE patient_id = ANY(:pids) AND dedupe_key LIKE 'dq:%' AND status = ANY(:open)"
        ),
        {
            "open": OPEN_STATUSES,
            "pids": pids,
            "reason": f"resolved: the patient was planned on {as_of.isoformat()}",
            "as_of": as_of.isoformat(),
            "now": now,
        },
    )


def _check(task: PlannedTask) -> None:
    for name in ("not_before", "due", "expires"):
        value = getattr(task, name)
        if not isinstance(value, datetime) or value.tzinfo is None:
            raise InvalidPlan(f"task {task.key!r}: {name} is not an aware instant")
    if not (task.not_before <= task.due <= task.expires):
        raise InvalidPlan(
            f"task {task.key!r}: window is not ordered (not_before <= due <= expires)"
        )
    if not (task.window_start <= task.due_date <= task.window_end):
        raise InvalidPlan(f"task {task.key!r}: window dates are not ordered")
    if not task.key or not task.rule_id or len(task.rule_id) > 16:
        raise InvalidPlan(f"task {task.key!r}: missing key or rule id")
    if task.regimen is not None and len(task.regimen) > 60:
        raise InvalidPlan(f"task {task.key!r}: regimen name too long")


def _detail(task: PlannedTask) -> dict[str, Any] | None:
    detail: dict[str, Any] = dict(task.detail) if task.detail else {}
    if task.panel:
        detail["panel"] = task.panel
    if task.blocks:
        detail["blocks"] = task.blocks
    if task.dose is not None:
        detail["dose"] = jsonable(task.dose)
    if task.defaults_used:
        detail["defaults_used"] = list(task.defaults_used)
    return jsonable(detail) if detail else None


def jsonable(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value.value if isinstance(value, Enum) else value
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [jsonable(v) for v in value]
        return sorted(items, key=repr) if isinstance(value, (set, frozenset)) else items
    if hasattr(value, "__dataclass_fields__"):
        return {name: jsonable(getattr(value, name)) for name in value.__dataclass_fields__}
    return str(value)


_HASHED = (
    "instance_id",
    "course_id",
    "kind",
    "rule_id",
    "title",
    "section",
    "regimen",
    "cycle",
    "day",
    "window_start",
    "due_date",
    "window_end",
    "not_before",
    "due",
    "expires",
    "safety",
    "role_queue",
    "result_fields",
)


def _digest(row: Mapping[str, Any]) -> str:
    parts: list[Any] = []
    for name in _HASHED:
        value = row[name]
        if isinstance(value, datetime):
            value = value.astimezone(UTC).isoformat()
        parts.append(value)
    parts.append(json.dumps(row["detail"], sort_keys=True) if row["detail"] else None)
    return hashlib.blake2b(repr(parts).encode(), digest_size=16).hexdigest()


def _clip(value: str, limit: int) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"
