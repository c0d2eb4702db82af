"""The one SQL rendering of the task vocabulary of ``pathways.core.window``.

SQLAlchemy expressions over any table or alias with care_task's columns
(``task_columns(alias)`` for raw statements), and the same expressions
compiled to text for the set-based statements written as SQL (``sql(...)``):
the window's state at an instant, open, past due, due by an instant, missed,
a completion's timeliness and the closure of a cancelled task. A property test
(tests/models/test_task_sql.py) holds ``state`` equal to
``TaskWindow.state_at`` in PostgreSQL.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from pathways.core.window import (
    OPEN_STATUSES,
    Closure,
    Timeliness,
    WindowState,
)
from pathways.vocab import TaskStatus

# Bound as one parameter (``status = ANY(:open)``).
OPEN_LIST: list[str] = list(OPEN_STATUSES)
# Written into index predicates and constant statements (``status IN ...``).
OPEN_SQL = "(" + ",".join(f"'{s}'" for s in OPEN_STATUSES) + ")"

# The care_task columns the planner writes, in COPY order: identity, the planned
# content (hashed), the hash, then the bookkeeping columns the writer stamps.
PLANNED_COLUMNS: tuple[str, ...] = (
    "patient_id",
    "dedupe_key",
    "pathway_version",
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
    "detail",
    "plan_hash",
    "status",
    "escalation_level",
    "planned_at",
    "created_at",
    "updated_at",
)

_COLUMNS = (
    "id",
    "status",
    "not_before",
    "due",
    "expires",
    "completed_at",
    "closed_as",
    "status_reason",
)


def task_columns(alias: str = "t") -> Any:
    """A lightweight table named ``alias`` with the columns these expressions read."""
    return sa.table(alias, *(sa.column(name) for name in _COLUMNS)).c


def instant(placeholder: str) -> Any:
    """An instant written as a placeholder of the statement (``:now``, ``%(now)s``)."""
    return sa.literal_column(placeholder)


def is_open(c: Any) -> Any:
    return c.status.in_(OPEN_LIST)


def state(c: Any, now: Any) -> Any:
    """The window's state at ``now`` (``TaskWindow.state_at``), whatever the task's status."""
    return sa.case(
        (now < c.not_before, WindowState.UPCOMING.value),
        (now < c.due, WindowState.OPEN.value),
        (now < c.expires, WindowState.OVERDUE.value),
        else_=WindowState.MISSED.value,
    )


def window_open(c: Any, now: Any) -> Any:
    """Open and not yet due: the "due" reminder's tasks."""
    return sa.and_(c.not_before <= now, c.due > now)


def actionable(c: Any, now: Any) -> Any:
    """The window has opened (open, overdue or missed)."""
    return c.not_before <= now


def past_due(c: Any, now: Any) -> Any:
    """Overdue or missed: the "overdue" reminder, escalation and the queue's overdue bucket."""
    return c.due <= now


def due_by(c: Any, now: Any, end: Any) -> Any:
    """Not yet past due and due no later than ``end`` (``TaskWindow.due_by``; "due today"
    with ``end`` the end of the clinic's day, ``pathways.core.window.ClinicDay``)."""
    return sa.and_(c.due > now, c.due <= end)


def overdue(c: Any, now: Any) -> Any:
    """Past due and not yet missed (``WindowState.OVERDUE``)."""
    return sa.and_(c.due <= now, c.expires > now)


def missed(c: Any, now: Any) -> Any:
    return c.expires <= now


def missed_open(c: Any, now: Any) -> Any:
    """``missed``, with the due edge it implies (``due <= expires``, the ``window_ordered``
    check) written out, so that an index on ``due`` serves a list of missed open tasks."""
    return sa.and_(c.due <= now, c.expires <= now)


def timeliness(c: Any) -> Any:
    """A completion against its window (``TaskWindow.completion``)."""
    return sa.case(
        (c.completed_at < c.not_before, Timeliness.EARLY.value),
        (c.completed_at < c.expires, Timeliness.ON_TIME.value),
        else_=Timeliness.LATE.value,
    )


def completed_sql(*, at: str, by: str, updated_at: str | None = None) -> str:
    """The SET items of a task completed in SQL: the columns ``completion.mark_completed`` sets.

    ``at``, ``by`` and ``updated_at`` (default ``at``) are SQL expressions, a placeholder or
    a column; the result and the status reason are the statement's own.
    """
    return (
        f"status = '{TaskStatus.COMPLETED.value}', completed_at = {at}, completed_by = {by}, "
        f"lease_expires_at = NULL, updated_at = {updated_at or at}"
    )


def closed_as(c: Any, closure: Closure) -> Any:
    return sa.and_(c.status == "cancelled", c.closed_as == closure.value)


# Named paramstyle: placeholders written with instant() come out as they went in.
# The ignore: SQLAlchemy leaves the psycopg dialect's __init__ unannotated.
_DIALECT = postgresql.dialect(paramstyle="named")  # type: ignore[no-untyped-call]


def sql(expression: Any) -> str:
    """The expression as PostgreSQL text, its constants inlined (they are vocabulary, not input)."""
    return str(expression.compile(dialect=_DIALECT, compile_kwargs={"literal_binds": True}))
