"""The reminder outbox seen from the dispatcher: claim with a lease, record each attempt.

Claiming is one ``UPDATE … FROM (SELECT … FOR UPDATE SKIP LOCKED)``: two
dispatchers never claim the same row. A claim names the advisory lock its
dispatcher holds while alive (``claim_lock``, ``models.repositories.leases``):
a row whose dispatcher died mid-batch is claimed again by the next run at
once, and one whose lease ran out (a dispatcher alive but stuck) after it. Every attempt that reached a
channel appends a ``reminder_delivery`` row; the result of each send is
committed on its own, so a crash re-sends at most the one message that was in
flight — and the channel's idempotency key lets the receiver drop that repeat.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlmodel import Session

from models.repositories.audit import Actor, record_many
from models.repositories.leases import holder_alive
from pathways.core.window import OPEN_STATUSES

REMINDER_STATUSES = ("pending", "sending", "sent", "failed", "skipped")


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    """One claimed reminder, as a channel sends it. Carries no patient identifiers."""

    reminder_id: int
    task_id: int
    reason: str
    channel: str
    recipient: str
    idempotency_key: str
    payload: dict[str, Any]
    attempt: int


@dataclass(frozen=True, slots=True)
class Claimed:
    messages: list[OutboundMessage]
    skipped: int


def claim_reminders(
    session: Session,
    *,
    owner: str,
    now: datetime,
    lease: timedelta,
    limit: int,
    actor: Actor,
    lock_key: int,
) -> Claimed:
    """Claim up to ``limit`` reminders that are ready; those whose task has closed are skipped.

    ``lock_key`` is the claimer's ``Holder``: its claims stay its own while it lives.
    """
    rows = session.execute(
        text(
            "WITH ready AS ("  # noqa: S608 (holder_alive is fixed SQL)
            "  SELECT r.id FROM reminder r"
            "  WHERE (r.status = 'pending' AND r.next_attempt_at <= :now)"
            "     OR (r.status = 'sending' AND (r.lease_expires_at <= :now"
            f"         OR NOT {holder_alive('r.claim_lock')}))"
            "  ORDER BY r.next_attempt_at, r.id LIMIT :limit FOR UPDATE SKIP LOCKED"
            ") "
            "UPDATE reminder r SET status = 'sending', claimed_by = :owner, claim_lock = :lock_key, "
            "lease_expires_at = :lease_until, attempts = r.attempts + 1 "
            "FROM ready, care_task t WHERE r.id = ready.id AND t.id = r.task_id "
            "RETURNING r.id, r.task_id, r.reason, r.channel, r.recipient, r.idempotency_key, "
            "r.payload, r.attempts, t.status AS task_status, t.patient_id"
        ),
        {
            "now": now,
            "limit": limit,
            "owner": owner[:120],
            "lease_until": now + lease,
            "lock_key": lock_key,
        },
    ).all()
    closed = [r.id for r in rows if r.task_status not in OPEN_STATUSES]
    if closed:
        session.execute(
            text(
                "UPDATE reminder SET status = 'skipped', claimed_by = NULL, claim_lock = NULL, "
                "lease_expires_at = NULL, "
                "attempts = attempts - 1, last_error = 'not sent: the task closed first' "
                "WHERE id = ANY(:ids)"
            ),
            {"ids": closed},
        )
    messages = [
        OutboundMessage(
            reminder_id=r.id,
            task_id=r.task_id,
            reason=r.reason,
            channel=r.channel,
            recipient=r.recipient,
            idempotency_key=r.idempotency_key,
            payload=dict(r.payload or {}),
            attempt=r.attempts,
        )
        for r in sorted(rows, key=lambda r: r.id)
        if r.task_status in OPEN_STATUSES
    ]
    record_many(
        session,
        actor=actor,
        action="notify",
        entity="reminder",
        patient_ids=sorted({r.patient_id for r in rows if r.task_status in OPEN_STATUSES}),
    )
    return Claimed(messages=messages, skipped=len(closed))


def record_sent(
    session: Session, *, message: OutboundMessage, owner: str, now: datetime, detail: str | None
) -> None:
    session.execute(
        text(
            "UPDATE reminder SET status = 'sent', sent_at = :now, lease_expires_at = NULL, "
            "claim_lock = NULL, last_error = NULL WHERE id = :id AND status = 'sending' AND claimed_by = :owner"
        ),
        {"id": message.reminder_id, "now": now, "owner": owner[:120]},
    )
    _delivery(session, message, "sent", detail, now)


def record_error(
    session: Session,
    *,
    message: OutboundMessage,
    owner: str,
    now: datetime,
    error: str,
    retry_at: datetime | None,
) -> str:
    """Record a failed attempt; ``retry_at`` None means give up. Returns the new status."""
    status = "failed" if retry_at is None else "pending"
    session.execute(
        text(
            "UPDATE reminder SET status = :status, next_attempt_at = COALESCE(:retry_at, next_attempt_at), "
            "lease_expires_at = NULL, claimed_by = NULL, claim_lock = NULL, last_error = :error "
            "WHERE id = :id AND status = 'sending' AND claimed_by = :owner"
        ),
        {
            "id": message.reminder_id,
            "status": status,
            "retry_at": retry_at,
            "error": error[:2000],
            "owner": owner[:120],
        },
    )
    _delivery(session, message, "error", error, now)
    return status


def release(session: Session, *, reminder_ids: Sequence[int], owner: str) -> None:
    """Give back claims this dispatcher will not get to (its lease is running out)."""
    if reminder_ids:
        session.execute(
            text(
                "UPDATE reminder SET status = 'pending', claimed_by = NULL, claim_lock = NULL, "
                "lease_expires_at = NULL, attempts = attempts - 1 "
                "WHERE id = ANY(:ids) AND status = 'sending' AND claimed_by = :owner"
            ),
            {"ids": list(reminder_ids), "owner": owner[:120]},
        )


def _delivery(
    session: Session, message: OutboundMessage, outcome: str, detail: str | None, now: datetime
) -> None:
    session.execute(
        text(
            "INSERT INTO reminder_delivery (reminder_id, attempt, channel, outcome, detail, at) "
            "VALUES (:id, :attempt, :channel, :outcome, :detail, :now)"
        ),
        {
            "id": message.reminder_id,
            "attempt": message.attempt,
            "channel": message.channel,
            "outcome": outcome,
            "detail": None if detail is None else detail[:2000],
            "now": now,
        },
    )


def outbox_counts(session: Session) -> dict[str, int]:
    """Reminders by status (every status present, zero when none)."""
    counts = dict.fromkeys(REMINDER_STATUSES, 0)
    for status, n in session.execute(text("SELECT status, count(*) FROM reminder GROUP BY status")):
        counts[status] = int(n)
    return counts


def destinations(session: Session) -> list[tuple[str, str, int]]:
    """Where sent reminders went: (channel, recipient, count)."""
    return [
        (r.channel, r.recipient, int(r.n))
        for r in session.execute(
            text(
                "SELECT channel, recipient, count(*) AS n FROM reminder WHERE status = 'sent' "
                "GROUP BY channel, recipient ORDER BY channel, recipient"
            )
        )
    ]
