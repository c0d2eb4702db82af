"""Reminders into the outbox: one set-based INSERT … SELECT per batch of tasks and routes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session

from models.sql import raw_connection
from models.task_sql import OPEN_LIST, instant, sql, task_columns, window_open


@dataclass(frozen=True, slots=True)
class Route:
    """Where a role's reminders go: one outbox row per route."""

    role: str
    channel: str
    recipient: str


_WINDOW_OPEN = sql(window_open(task_columns("t"), instant("%(now)s")))


def queue_due_reminders(
    session: Session, *, patient_ids: Sequence[int], now: datetime, routes: Sequence[Route]
) -> int:
    """Outbox rows for the open tasks of these patients whose window is open at ``now``."""
    if not routes or not patient_ids:
        return 0
    return queue_reminders(
        session,
        reason="due",
        where="t.patient_id = ANY(%(pids)s) AND t.status = ANY(%(open)s) AND " + _WINDOW_OPEN,
        params={"pids": list(patient_ids), "open": OPEN_LIST},
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
    (never user input, psycopg ``%(name)s`` placeholders); values travel as
    bound parameters. A raw cursor: this runs for every batch of every plan.

    The matching tasks are found first, on their own (a materialized CTE), and
    only then joined to the routes: joined directly, PostgreSQL may walk
    ``ix_care_task_queue`` for every open task of a role due after ``now``
    across all patients and filter the batch's out of them — measured 0.87 s
    instead of 0.11 s for a page of 2,000 patients among 20,000.
    """
    key_reason_sql = "%(reason)s::text" if key_reason is None else key_reason
    statement = (
        "WITH t AS MATERIALIZED (SELECT t.id, t.title, t.rule_id, t.kind, t.role_queue, t.due, "  # noqa: S608
        f"t.escalation_level, t.safety FROM care_task t WHERE {where}) "
        "INSERT INTO reminder (task_id, reason, channel, recipient, idempotency_key, payload, "
        "status, attempts, next_attempt_at, created_at) "
        "SELECT t.id, %(reason)s::text, r.channel, r.recipient, "
        f"'t' || t.id || ':' || {key_reason_sql} || ':' "
        "|| to_char(t.due AT TIME ZONE 'UTC', 'YYYYMMDD\"T\"HH24MI\"Z\"') "
        "|| ':' || r.channel || ':' || left(md5(r.recipient), 12), "
        "jsonb_build_object('task_id', t.id, 'title', t.title, 'rule_id', t.rule_id, "
        "'kind', t.kind, 'role', t.role_queue, 'due', t.due, 'reason', %(reason)s::text, "
        "'escalation_level', t.escalation_level, 'safety', t.safety), "
        "'pending', 0, %(now)s, %(now)s "
        "FROM t JOIN unnest(%(roles)s::text[], %(channels)s::text[], "
        "%(recipients)s::text[]) AS r(role, channel, recipient) ON r.role = t.role_queue "
        "ORDER BY t.id ON CONFLICT (idempotency_key) DO NOTHING"
    )
    with raw_connection(session).cursor() as cur:
        cur.execute(
            statement,
            {
                **params,
                "reason": reason,
                "now": now,
                "roles": [r.role for r in routes],
                "channels": [r.channel for r in routes],
                "recipients": [r.recipient for r in routes],
            },
        )
        return int(cur.rowcount or 0)
