"""Writing the engine's plan: task upserts and cancellations, in a fixed number of statements.

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
   reason and ``closed_as = 'unplanned'``, never a DELETE);
4. one INSERT of "due" reminders into the outbox for the batch's tasks whose
   window has opened (``reminders``) — in the same transaction, so a task
   never becomes due without its reminder;
5. data-problem tasks for patients who could not be planned
   (``data_problems``), and one audit row per patient.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import psycopg.errors
from sqlalchemy import text
from sqlmodel import Session

from models.repositories.audit import Actor, record_many
from models.repositories.data_problems import (
    DataProblem,
    raise_data_problems,
    resolve_data_problems,
)
from models.repositories.plan_rows import PlannedRow
from models.repositories.reminders import Route, queue_due_reminders
from models.sql import raw_connection, rows_touched
from models.task_sql import OPEN_LIST, OPEN_SQL, PLANNED_COLUMNS, closed_as, sql, task_columns
from pathways.core.window import Closure
from pathways.vocab import TaskStatus


@dataclass
class PlanCounts:
    patients: int = 0
    # Patients whose inputs were unchanged since their last plan: not re-planned.
    skipped: int = 0
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
            "skipped",
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
            "skipped": self.skipped,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "cancelled": self.cancelled,
            "reopened": self.reopened,
            "reminders": self.reminders,
            "problems": self.problems,
            "problem_patients": list(self.problem_patients),
        }


def write_plans(
    session: Session,
    *,
    rows: Sequence[PlannedRow],
    planned_patients: Sequence[int],
    problems: Sequence[DataProblem],
    horizon: tuple[datetime, datetime],
    as_of: date,
    now: datetime,
    routes: Sequence[Route],
    actor: Actor,
    skipped_patients: Sequence[int] = (),
    fingerprints: Mapping[int, str] | None = None,
) -> PlanCounts:
    """Write one batch.

    ``rows`` are the planned tasks of ``planned_patients`` (all of them);
    ``skipped_patients`` were not re-planned (their inputs are unchanged) but
    still get the reminders of windows that opened since; ``fingerprints``
    are stored for the planned patients once their rows are written.
    """
    problem_ids = sorted({p.patient_id for p in problems})
    counts = PlanCounts(
        patients=len(planned_patients) + len(skipped_patients) + len(problem_ids),
        skipped=len(skipped_patients),
    )
    pids = list(planned_patients)
    existing = _existing(session, pids, horizon[0]) if pids else {}

    _write_rows(session, rows, existing, counts, now=now)

    planned_keys = {row.dedupe_key for row in rows}
    stale = [
        old.id
        for key, old in existing.items()
        if key not in planned_keys and old.status in _OPEN and horizon[0] <= old.due < horizon[1]
    ]
    if stale:
        counts.cancelled = _cancel_unplanned(session, stale, as_of=as_of, now=now)
    if pids:
        resolve_data_problems(session, pids, as_of=as_of, now=now)
    remind = sorted(set(pids) | set(skipped_patients))
    if remind:
        counts.reminders = queue_due_reminders(session, patient_ids=remind, now=now, routes=routes)
    if problems:
        counts.problems = len(problems)
        counts.problem_patients = problem_ids
        raise_data_problems(session, problems=problems, as_of=as_of, now=now)
    if fingerprints:
        store_fingerprints(session, fingerprints=fingerprints, as_of=as_of, now=now)

    record_many(
        session,
        actor=actor,
        action="plan",
        entity="care_task",
        patient_ids=sorted(set(remind) | set(problem_ids)),
        detail={"as_of": as_of.isoformat()},
    )
    return counts


def _write_rows(
    session: Session,
    rows: Sequence[PlannedRow],
    existing: Mapping[str, _Existing],
    counts: PlanCounts,
    *,
    now: datetime,
) -> None:
    """COPY the new rows, merge the changed ones, and count what each did."""
    new: list[PlannedRow] = []
    changed: list[PlannedRow] = []
    for row in rows:
        old = existing.get(row.dedupe_key)
        if old is None:
            new.append(row)
        elif _needs_write(old, row.plan_hash):
            changed.append(row)
        else:
            counts.unchanged += 1
    suffix = f"\trequested\t0\t{now.isoformat()}\t{now.isoformat()}\t{now.isoformat()}\n"
    if new:
        conflicted = _insert_new(session, new, suffix)
        counts.created += len(new) - len(conflicted)
        changed.extend(conflicted)
    if changed:
        written = _merge(session, changed, suffix, now=now)
        for key, inserted in written.items():
            if inserted:
                counts.created += 1
            elif existing.get(key) is not None and existing[key].status not in _OPEN:
                counts.reopened += 1
            else:
                counts.updated += 1
        counts.unchanged += len(changed) - len(written)


def lock_patients(session: Session, *, patient_ids: Sequence[int]) -> None:
    """Lock the batch's open pathway instances, in id order, for the rest of the transaction.

    Two planners of one patient, or a planner and a signed transition
    (which locks the instance too), take turns: the second reads the facts
    the first committed, so a plan is never written from a stale snapshot.
    """
    if patient_ids:
        with raw_connection(session).cursor() as cur:
            cur.execute(
                "SELECT id FROM pathway_instance WHERE patient_id = ANY(%s) AND ended_at IS NULL "
                "ORDER BY patient_id FOR NO KEY UPDATE",
                (list(patient_ids),),
            )


def stored_fingerprints(session: Session, *, patient_ids: Sequence[int]) -> dict[int, str]:
    if not patient_ids:
        return {}
    with raw_connection(session).cursor() as cur:
        cur.execute(
            "SELECT patient_id, fingerprint FROM plan_state WHERE patient_id = ANY(%s)",
            (list(patient_ids),),
        )
        return dict(cur.fetchall())


def store_fingerprints(
    session: Session, *, fingerprints: Mapping[int, str], as_of: date, now: datetime
) -> None:
    ids = sorted(fingerprints)
    with raw_connection(session).cursor() as cur:
        cur.execute(
            "INSERT INTO plan_state (patient_id, fingerprint, as_of, planned_at) "
            "SELECT pid, fp, %s, %s FROM unnest(%s::int[], %s::text[]) AS f(pid, fp) "
            "ON CONFLICT (patient_id) DO UPDATE SET fingerprint = excluded.fingerprint, "
            "as_of = excluded.as_of, planned_at = excluded.planned_at",
            (as_of, now, ids, [fingerprints[i] for i in ids]),
        )


_OPEN = frozenset(OPEN_LIST)
# Cancelled by a re-plan that no longer planned it: reopened when planned again.
_UNPLANNED_SQL = sql(closed_as(task_columns("care_task"), Closure.UNPLANNED))


@dataclass(frozen=True, slots=True)
class _Existing:
    id: int
    plan_hash: str
    status: str
    plan_cancelled: bool
    due: datetime


def _existing(session: Session, pids: list[int], since: datetime) -> dict[str, _Existing]:
    """The batch's planned tasks due in the horizon (a raw cursor: this is read on every run)."""
    with raw_connection(session).cursor() as cur:
        cur.execute(
            f"SELECT dedupe_key, id, plan_hash, status, ({_UNPLANNED_SQL}), due "  # noqa: S608
            "FROM care_task WHERE patient_id = ANY(%s) AND due >= %s AND dedupe_key LIKE 'p%%'",
            (pids, since),
        )
        return {r[0]: _Existing(r[1], r[2], r[3], bool(r[4]), r[5]) for r in cur}


def _needs_write(old: _Existing, plan_hash: str) -> bool:
    if old.status in _OPEN:
        return old.plan_hash != plan_hash
    return old.status == TaskStatus.CANCELLED.value and old.plan_cancelled


_COLUMNS = ", ".join(PLANNED_COLUMNS)
_STAGE_TYPES = {
    "patient_id": "int", "dedupe_key": "text", "pathway_version": "text", "instance_id": "int",
    "course_id": "int", "kind": "text", "rule_id": "text", "title": "text", "section": "text",
    "regimen": "text", "cycle": "int", "day": "int", "window_start": "date", "due_date": "date",
    "window_end": "date", "not_before": "timestamptz", "due": "timestamptz",
    "expires": "timestamptz", "safety": "boolean", "role_queue": "text", "result_fields": "jsonb",
    "detail": "jsonb", "plan_hash": "text", "status": "text", "escalation_level": "int",
    "planned_at": "timestamptz", "created_at": "timestamptz", "updated_at": "timestamptz",
}  # fmt: skip
_STAGE_SQL = (
    "CREATE TEMP TABLE IF NOT EXISTS plan_stage ("
    + ", ".join(f"{name} {_STAGE_TYPES[name]}" for name in PLANNED_COLUMNS)
    + ") ON COMMIT DELETE ROWS"
)
# Updated from the plan: every planned column but the row's identity and the
# columns the guard below decides (status, queue) or the first write stamped.
_REPLANNED = [
    c for c in PLANNED_COLUMNS
    if c not in ("patient_id", "dedupe_key", "role_queue", "status", "escalation_level",
                 "created_at")
]  # fmt: skip
# One statement per batch for the rows that exist already. The guard in WHERE
# decides, not the read before it: open tasks are updated only when their plan
# hash changed; a task this module cancelled (closed as ``unplanned``) is
# reopened; completed, failed and human-cancelled tasks are never touched. An
# escalated task keeps its queue.
_MERGE_SQL = f"""
INSERT INTO care_task ({_COLUMNS})
SELECT {_COLUMNS}
FROM plan_stage
ON CONFLICT (dedupe_key) DO UPDATE SET
    {", ".join(f"{c} = excluded.{c}" for c in _REPLANNED)},
    role_queue = CASE WHEN care_task.escalation_level > 0 THEN care_task.role_queue
        ELSE excluded.role_queue END,
    status = CASE WHEN {_UNPLANNED_SQL} THEN 'requested' ELSE care_task.status END,
    status_reason = CASE WHEN {_UNPLANNED_SQL} THEN NULL ELSE care_task.status_reason END,
    closed_as = CASE WHEN {_UNPLANNED_SQL} THEN NULL ELSE care_task.closed_as END
WHERE (care_task.status IN {OPEN_SQL}
        AND care_task.plan_hash IS DISTINCT FROM excluded.plan_hash)
    OR ({_UNPLANNED_SQL})
RETURNING dedupe_key, (xmax = 0)
"""  # noqa: S608 (built from constants)


def _copy_lines(cur: Any, table: str, rows: list[PlannedRow], suffix: str) -> None:
    statement = (
        "COPY plan_stage (" + _COLUMNS + ") FROM STDIN"
        if table == "plan_stage"
        else "COPY care_task (" + _COLUMNS + ") FROM STDIN"
    )
    with cur.copy(statement) as copy:
        block: list[str] = []
        for row in rows:
            block.append(row.line)
            block.append(suffix)
            if len(block) >= 4000:
                copy.write("".join(block))
                block.clear()
        if block:
            copy.write("".join(block))


def _insert_new(session: Session, rows: list[PlannedRow], suffix: str) -> list[PlannedRow]:
    """COPY tasks the batch's read did not find straight into care_task.

    The batch holds its patients' instance locks, so no other planner inserts
    their keys meanwhile; if one did anyway, the unique index refuses the COPY,
    it is undone to a savepoint and the rows go through the merge instead
    (returned here).
    """
    raw = raw_connection(session)
    with raw.cursor() as cur:
        try:
            with raw.transaction():  # a savepoint inside the batch's transaction
                _copy_lines(cur, "care_task", rows, suffix)
        except psycopg.errors.UniqueViolation:
            return rows
    return []


def _merge(
    session: Session, rows: list[PlannedRow], suffix: str, *, now: datetime
) -> dict[str, bool]:
    """Insert, update or reopen through a staging table and one guarded merge.

    Returns the dedupe keys written, each with True when the row was inserted;
    rows the guard refused (another run wrote the same plan first) are absent.
    """
    del now
    raw = raw_connection(session)
    with raw.cursor() as cur:
        cur.execute(_STAGE_SQL)
        cur.execute("TRUNCATE plan_stage")
        _copy_lines(cur, "plan_stage", rows, suffix)
        cur.execute(_MERGE_SQL)
        return {key: bool(inserted) for key, inserted in cur}


def _cancel_unplanned(session: Session, ids: list[int], *, as_of: date, now: datetime) -> int:
    result = session.execute(
        text(
            "UPDATE care_task SET status = 'cancelled', status_reason = :reason, "
            "closed_as = :closed_as, updated_at = :now "
            "WHERE id = ANY(:ids) AND status = ANY(:open)"
        ),
        {
            "open": OPEN_LIST,
            "ids": sorted(ids),
            "reason": f"no longer planned by the pathway as of {as_of.isoformat()}",
            "closed_as": Closure.UNPLANNED.value,
            "now": now,
        },
    )
    return rows_touched(result)
