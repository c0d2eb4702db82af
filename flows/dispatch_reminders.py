"""dispatch_reminders: send what the outbox holds, record every attempt, retry with backoff.

The story: claim a batch of ready reminders (``SKIP LOCKED``, with a lease),
send each through its channel, and commit each result as it comes. A send
that fails is tried again later with exponential backoff and ends ``failed``
after the last attempt; a reminder whose task closed meanwhile is skipped.
A batch is sent while its dispatcher holds an advisory lock (a ``Holder``)
and checks before each message that it still does. If the dispatcher dies
mid-batch the lock goes with its session, and the next run takes the
unrecorded reminders again at once (a stuck one's, when the lease runs out);
the idempotency key travels with every message, so the receiver drops the
one that may already have arrived.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from time import monotonic, perf_counter
from typing import Any

from prefect import flow, get_run_logger

from flows._tasks import io_task
from flows.jobs import run_for_period
from flows.runtime import Runtime, current_runtime
from models.repositories.audit import Actor
from models.repositories.leases import Holder
from models.repositories.outbox import (
    Claimed,
    OutboundMessage,
    claim_reminders,
    record_error,
    record_sent,
    release,
)
from models.session import transaction

JOB = "dispatch_reminders"
ACTOR = Actor.system(JOB)
COUNTS = ("claimed", "sent", "retrying", "failed", "skipped", "released")
log = logging.getLogger("carepath.flows.dispatch_reminders")


def send_batch(rt: Runtime, *, clock: Callable[[], datetime]) -> dict[str, Any]:
    """Claim one batch and send it; every result is committed on its own."""
    started, counts = perf_counter(), dict.fromkeys(COUNTS, 0)
    with Holder(rt.engine) as holder:
        with transaction(rt.engine) as session:
            claimed = claim_reminders(
                session,
                owner=rt.owner,
                now=clock(),
                lease=timedelta(seconds=rt.reminders.lease_seconds),
                limit=rt.reminders.claim_batch,
                actor=ACTOR,
                lock_key=holder.key,
            )
        counts["claimed"], counts["skipped"] = len(claimed.messages), claimed.skipped
        _send_claimed(rt, claimed, holder, clock, counts)
    return {**counts, "seconds": perf_counter() - started}


def _send_claimed(
    rt: Runtime,
    claimed: Claimed,
    holder: Holder,
    clock: Callable[[], datetime],
    counts: dict[str, int],
) -> None:
    # Stop well inside the lease so no one else takes a claim while it is still being sent.
    deadline = monotonic() + rt.reminders.lease_seconds / 2
    for i, message in enumerate(claimed.messages):
        if monotonic() > deadline:
            rest = [m.reminder_id for m in claimed.messages[i:]]
            with transaction(rt.engine) as session:
                release(session, reminder_ids=rest, owner=rt.owner)
            counts["released"] = len(rest)
            return
        if not holder.alive():
            # Our session (and lock) is gone: the claims may be someone else's by now.
            log.warning("dispatch_reminders: lost the database session; stopping the batch")
            return
        _send_one(rt, message, clock, counts)


def _send_one(
    rt: Runtime, message: OutboundMessage, clock: Callable[[], datetime], counts: dict[str, int]
) -> None:
    channel = rt.channels.get(message.channel)
    try:
        if channel is None:
            raise LookupError(f"no channel {message.channel!r} is configured")
        detail = channel.send(message)
    except Exception as exc:  # a failed send is recorded and retried, never raised
        now = clock()
        permanent = channel is None or bool(getattr(exc, "permanent", False))
        retry_at = rt.reminders.retry_at(message.attempt, now, permanent=permanent)
        with transaction(rt.engine) as session:
            status = record_error(
                session,
                message=message,
                owner=rt.owner,
                now=now,
                error=f"{type(exc).__name__}: {exc}",
                retry_at=retry_at,
            )
        counts["failed" if status == "failed" else "retrying"] += 1
        log.warning(
            "dispatch_reminders: reminder %d attempt %d failed (%s)%s",
            message.reminder_id,
            message.attempt,
            type(exc).__name__,
            "; giving up" if status == "failed" else "",
        )
        return
    with transaction(rt.engine) as session:
        record_sent(session, message=message, owner=rt.owner, now=clock(), detail=detail)
    counts["sent"] += 1


def dispatch_all(
    rt: Runtime, *, clock: Callable[[], datetime], batch: Any = None, max_batches: int = 1000
) -> dict[str, Any]:
    """Batches until nothing is ready (or ``max_batches``); channels are closed at the end."""
    run_batch = batch or (lambda: send_batch(rt, clock=clock))
    totals: dict[str, Any] = dict.fromkeys(COUNTS, 0)
    totals["batches"] = 0
    try:
        for _ in range(max_batches):
            result = run_batch()
            if not result["claimed"] and not result["skipped"]:
                break
            totals["batches"] += 1
            for name in COUNTS:
                totals[name] += result[name]
    finally:
        for channel in rt.channels.values():
            channel.close()
    return totals


@io_task("send-batch", retries=2)
def send_batch_task(now: datetime | None) -> dict[str, Any]:
    rt = current_runtime()
    return send_batch(rt, clock=rt.clock if now is None else (lambda: now))


@flow(name=JOB, log_prints=False)
def dispatch_reminders(
    now: datetime | None = None, period_key: str | None = None
) -> dict[str, Any]:
    """Send every reminder that is ready now."""
    rt = current_runtime()
    clock = rt.clock if now is None else (lambda: now)

    def run() -> dict[str, Any]:
        return dispatch_all(rt, clock=clock, batch=lambda: send_batch_task(now))

    stats = run_for_period(rt, job_name=JOB, period_key=period_key, body=run)
    if not stats.get("period_skipped"):
        get_run_logger().info(
            "%s reminders sent, %s to retry, %s failed, %s skipped",
            stats["sent"],
            stats["retrying"],
            stats["failed"],
            stats["skipped"],
        )
    return stats
