"""What the demo's simulated clinic staff read and write: a day's work, in bulk.

The synthetic demo (``carepath.demo.simulate``) completes tasks for invented
coordinators and clinicians and asks what is on today's queues. Real users do
this one task at a time through the web app's queue operations; the simulation
does a day's worth in one statement, with the same audit trail.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import text
from sqlmodel import Session

from models.repositories.audit import Actor, record_many
from models.sql import rows_touched
from models.task_sql import (
    OPEN_LIST,
    actionable,
    completed_sql,
    due_by,
    instant,
    past_due,
    sql,
    task_columns,
)
from pathways.core.window import ClinicDay

_NOW = instant(":now")
_ACTIONABLE = sql(actionable(task_columns("care_task"), _NOW))
_T_ACTIONABLE = sql(actionable(task_columns("t"), _NOW))
_T_OVERDUE = sql(past_due(task_columns("t"), _NOW))
_DUE_TODAY = sql(due_by(task_columns("care_task"), _NOW, instant(":end")))
_OVERDUE = sql(past_due(task_columns("care_task"), _NOW))


@dataclass(frozen=True, slots=True)
class OpenTask:
    id: int
    patient_id: int
    dedupe_key: str
    kind: str
    rule_id: str
    role_queue: str
    window_start: date
    due_date: date
    window_end: date
    due: datetime
    result_fields: list[str] | None
    regimen: str | None


@dataclass(frozen=True, slots=True)
class Completion:
    task_id: int
    patient_id: int
    at: datetime
    by: str
    result: dict[str, Any] | None = None


def actionable_tasks(session: Session, *, now: datetime) -> list[OpenTask]:
    """Open tasks whose window has opened by ``now`` (including overdue ones)."""
    rows = session.execute(
        text(
            "SELECT id, patient_id, dedupe_key, kind, rule_id, role_queue, window_start, due_date, "  # noqa: S608 (constants)
            "window_end, due, result_fields, regimen FROM care_task "
            f"WHERE status = ANY(:open) AND {_ACTIONABLE} ORDER BY id"
        ),
        {"open": OPEN_LIST, "now": now},
    ).all()
    return [OpenTask(*r) for r in rows]


_COMPLETE_SQL = (
    "UPDATE care_task t SET "  # noqa: S608 (constants)
    + completed_sql(at="c.at", by="c.by")
    + ", owner = c.by, result = CAST(c.result AS jsonb) "
    "FROM unnest(CAST(:ids AS int[]), CAST(:ats AS timestamptz[]), CAST(:bys AS text[]), "
    "CAST(:results AS text[])) AS c(id, at, by, result) "
    "WHERE t.id = c.id AND t.status = ANY(:open)"
)


def complete_tasks(session: Session, *, completions: Sequence[Completion], actor: Actor) -> int:
    """Complete open tasks in one statement; a task closed meanwhile is left as it is."""
    if not completions:
        return 0
    result = session.execute(
        text(_COMPLETE_SQL),
        {
            "ids": [c.task_id for c in completions],
            "ats": [c.at for c in completions],
            "bys": [c.by for c in completions],
            "results": [None if c.result is None else json.dumps(c.result) for c in completions],
            "open": OPEN_LIST,
        },
    )
    record_many(
        session,
        actor=actor,
        action="complete",
        entity="care_task",
        patient_ids=sorted({c.patient_id for c in completions}),
    )
    return rows_touched(result)


@dataclass(frozen=True, slots=True)
class QueueItem:
    task_id: int
    patient_id: int
    mrn: str
    name: str
    title: str
    rule_id: str
    due: datetime
    due_date: date
    escalation_level: int
    overdue: bool


def queue(
    session: Session, *, role: str, now: datetime, actor: Actor, limit: int = 10
) -> list[QueueItem]:
    """A role's open tasks whose window has opened, most urgent first."""
    rows = session.execute(
        text(
            "SELECT t.id, t.patient_id, p.mrn, p.display_name, t.title, t.rule_id, t.due, "  # noqa: S608
            f"t.due_date, t.escalation_level, {_T_OVERDUE} AS overdue FROM care_task t "
            "JOIN patient p ON p.id = t.patient_id "
            f"WHERE t.role_queue = :role AND t.status = ANY(:open) AND {_T_ACTIONABLE} "
            "ORDER BY t.safety DESC, t.due, t.id LIMIT :limit"
        ),
        {"role": role, "now": now, "open": OPEN_LIST, "limit": limit},
    ).all()
    items = [QueueItem(*r) for r in rows]
    record_many(
        session,
        actor=actor,
        action="list",
        entity="care_task",
        patient_ids=sorted({i.patient_id for i in items}),
    )
    return items


def queue_counts(session: Session, *, now: datetime, timezone: str) -> dict[str, dict[str, int]]:
    """Per role: open tasks due today (the clinic's day of ``now``), overdue, escalated,
    actionable, and open in all."""
    counts: dict[str, dict[str, int]] = {}
    for row in session.execute(
        text(
            "SELECT role_queue, "  # noqa: S608 (constants)
            f"count(*) FILTER (WHERE {_ACTIONABLE} AND {_DUE_TODAY}) AS due_today, "
            f"count(*) FILTER (WHERE {_OVERDUE}) AS overdue, "
            "count(*) FILTER (WHERE escalation_level > 0) AS escalated, "
            f"count(*) FILTER (WHERE {_ACTIONABLE}) AS actionable, "
            "count(*) AS open FROM care_task WHERE status = ANY(:open) GROUP BY role_queue"
        ),
        {"now": now, "end": ClinicDay.of(now, timezone).end, "open": OPEN_LIST},
    ):
        counts[row.role_queue] = {
            "due_today": row.due_today,
            "overdue": row.overdue,
            "escalated": row.escalated,
            "actionable": row.actionable,
            "open": row.open,
        }
    return counts
