"""Data problems: a review task for a patient the tracker could not plan, resolved once it can."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlmodel import Session

from models.sql import table_of
from models.task import CareTask
from models.task_sql import OPEN_SQL, closed_as
from pathways.core.window import Closure, TaskWindow
from pathways.vocab import Role, TaskKind, TaskStatus

_TASKS = table_of(CareTask)

DATA_PROBLEM_PREFIX = "dq:"
DATA_PROBLEM_RULE = "data-quality"
# Operational, not clinical: a coordinator checks the facts within a day; the task
# stays open for two weeks (its window dates count from the plan's clinic day).
DUE_IN = timedelta(days=1)
OPEN_FOR = timedelta(days=14)


@dataclass(frozen=True, slots=True)
class DataProblem:
    """A patient the tracker could not plan; the text goes to a task, never to a log."""

    patient_id: int
    source: str  # snapshot | engine | plan
    problem: str
    role: Role = Role.COORDINATOR


def raise_data_problems(
    session: Session, *, problems: Sequence[DataProblem], as_of: date, now: datetime
) -> None:
    """A review task per patient and problem; one this module resolved earlier is reopened."""
    rows: list[dict[str, Any]] = []
    window = TaskWindow.opening(now, due_in=DUE_IN, lasts=OPEN_FOR)
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
                "due_date": as_of + DUE_IN,
                "window_end": as_of + OPEN_FOR,
                "not_before": window.not_before,
                "due": window.due,
                "expires": window.expires,
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
            "closed_as": None,
            "not_before": stmt.excluded.not_before,
            "due": stmt.excluded.due,
            "expires": stmt.excluded.expires,
            "window_start": stmt.excluded.window_start,
            "due_date": stmt.excluded.due_date,
            "window_end": stmt.excluded.window_end,
            "detail": stmt.excluded.detail,
            "updated_at": stmt.excluded.updated_at,
        },
        where=closed_as(current, Closure.RESOLVED),
    )
    session.execute(stmt, unique)


# The WHERE clause repeats the predicate of ix_care_task_open_problems, so only
# the batch's open data problems are read, not every task of its patients.
RESOLVE_PROBLEMS_SQL = (
    "UPDATE care_task SET status = 'cancelled', status_reason = :reason, "  # noqa: S608 (a constant)
    "closed_as = :closed_as, updated_at = :now "
    "WHERE patient_id = ANY(:pids) AND dedupe_key LIKE 'dq:%' AND status IN " + OPEN_SQL
)


def resolve_data_problems(session: Session, pids: list[int], *, as_of: date, now: datetime) -> None:
    """Close the open data problems of patients who were planned (reopened if they recur)."""
    session.execute(
        text(RESOLVE_PROBLEMS_SQL),
        {
            "pids": pids,
            "reason": f"resolved: the patient was planned on {as_of.isoformat()}",
            "closed_as": Closure.RESOLVED.value,
            "now": now,
        },
    )
