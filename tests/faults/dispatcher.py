"""Kill the dispatcher with SIGKILL at random points mid-batch, restart it, count at the sinks.

The outbox holds reminders for an SMTP sink (aiosmtpd, STARTTLS and AUTH
required) and a webhook receiver (signatures checked), half each. Each
dispatcher incarnation is a process of its own that builds its runtime from
the settings and runs the dispatch job once for a period of its own (the run
ledger, the advisory lock, the channels: what `carepath serve`'s clock runs,
without the Prefect task around each batch). The harness kills it after a
random number of new arrivals at the sinks (0 to 8) plus a random 0-10 ms —
while it claims, sends, or records — and starts the next one at once. After
the last kill one more incarnation runs to the end.

Counted at the sinks: every reminder's idempotency key arrives (none lost),
each is kept once (the sinks deduplicate by key, as the Message-ID and the
Idempotency-Key let a real receiver do), and how many arrived a second time
(the message in flight at a kill, which the dead dispatcher could not record).
In the database every reminder ends ``sent`` with exactly one ``sent``
delivery, and no run of the ledger is left ``running``.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import text

from tests.channels.receivers import Credentials, SmtpServer, WebhookServer, self_signed_certificate
from tests.faults.server import Server

SECRET = "fault-test-webhook-secret"
SMTP_USER, SMTP_PASSWORD = "carepath", "fault-test-relay"
TZ = "America/New_York"
MAX_ARRIVALS_BEFORE_KILL = 8


@dataclass
class DispatcherFigures:
    kills: int
    reminders: int
    delivered: int
    lost: int
    delivered_twice: int
    retransmitted: int
    recorded_twice: int
    runs_left_running: int
    runs_failed_by_lease: int
    seconds: float

    def line(self) -> str:
        return (
            f"dispatcher: {self.kills} SIGKILLs, {self.reminders} reminders: "
            f"{self.delivered} delivered, {self.lost} lost, {self.delivered_twice} delivered twice, "
            f"{self.recorded_twice} recorded sent twice; {self.retransmitted} retransmitted after "
            f"a kill and dropped by key; ledger: {self.runs_failed_by_lease} killed runs marked "
            f"failed (the other kills came before a claim), {self.runs_left_running} left "
            f"running; {self.seconds:.1f} s"
        )


def incarnation(env: dict[str, str], period: str) -> None:
    """One dispatcher process: the settings' runtime, the dispatch job once for ``period``."""
    os.environ.update(env)
    from carepath.runtime import build_runtime
    from flows.dispatch_reminders import JOB, dispatch_all
    from flows.jobs import run_once

    rt = build_runtime()
    run_once(rt, job_name=JOB, period=period, body=lambda: dispatch_all(rt, clock=rt.clock))


def seed(app_url: str, reminders: int) -> None:
    """The demo cohort planned once, then ``reminders`` ready reminders on its open tasks."""
    from carepath.demo.loader import load_cohort
    from flows.plan_core import plan_all
    from flows.runtime import Runtime
    from models.session import engine_for, transaction
    from pathways.definition import load_definition

    engine = engine_for(app_url)
    definition = load_definition()
    today = date(2026, 10, 28)
    with transaction(engine) as session:
        load_cohort(session, today=today, timezone=TZ, definition=definition)
    rt = Runtime(
        engine=engine, timezone=TZ, definition=lambda v: definition, clock=lambda: datetime.now(UTC)
    )
    plan_all(rt, as_of=today, now=datetime.now(UTC))
    with transaction(engine) as session:
        tasks = (
            session.execute(text("SELECT id FROM care_task WHERE status = 'requested' ORDER BY id"))
            .scalars()
            .all()
        )
        rows = [
            {
                "task": tasks[n % len(tasks)],
                "channel": "smtp" if n % 2 else "webhook",
                "recipient": "coordinators@clinic.test" if n % 2 else "coordinator",
                "key": f"fault-{n}",
                "payload": f'{{"task_id": {tasks[n % len(tasks)]}, "title": "fault test {n}"}}',
            }
            for n in range(reminders)
        ]
        session.execute(
            text(
                "INSERT INTO reminder (task_id, reason, channel, recipient, idempotency_key, payload, "
                "status, attempts, next_attempt_at, created_at) VALUES (:task, 'due', :channel, "
                ":recipient, :key, CAST(:payload AS jsonb), 'pending', 0, "
                "now() - interval '1 minute', now())"
            ),
            rows,
        )
    engine.dispose()


def run(server: Server, folder: Path, *, kills: int, seed_value: int = 7) -> DispatcherFigures:
    started = time.perf_counter()
    rng = random.Random(seed_value)
    reminders = kills * 10 + 50
    app_url, _ = server.database("faults_dispatch")
    seed(app_url, reminders)
    certificate = self_signed_certificate(folder)
    credentials = Credentials(SMTP_USER, SMTP_PASSWORD)
    # A fork server: each incarnation starts in milliseconds from one clean, preloaded process.
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["carepath.runtime", "flows.dispatch_reminders", "flows.jobs"])
    with (
        SmtpServer(certificate=certificate, credentials=credentials) as smtp,
        WebhookServer(SECRET) as webhook,
    ):
        env = {
            "CAREPATH_DATABASE_URL": app_url,
            "CAREPATH_TIMEZONE": TZ,
            "CAREPATH_SMTP_HOST": "localhost",
            "CAREPATH_SMTP_PORT": str(smtp.port),
            "CAREPATH_SMTP_USERNAME": SMTP_USER,
            "CAREPATH_SMTP_PASSWORD": SMTP_PASSWORD,
            "CAREPATH_SMTP_CA_FILE": str(certificate[0]),
            "CAREPATH_WEBHOOK_URL": webhook.url,
            "CAREPATH_WEBHOOK_SECRET": SECRET,
        }

        def arrivals() -> int:
            return sum(smtp.inbox.transmissions.values()) + sum(webhook.log.transmissions.values())

        killed = 0
        for i in range(kills):
            process = ctx.Process(target=incarnation, args=(env, f"kill-{i}"))
            before = arrivals()
            process.start()
            target = before + rng.randint(0, MAX_ARRIVALS_BEFORE_KILL)
            deadline = time.monotonic() + 60
            while arrivals() < target and process.is_alive() and time.monotonic() < deadline:
                time.sleep(0.0005)
            time.sleep(rng.uniform(0, 0.010))
            if process.is_alive() and process.pid is not None:
                os.kill(process.pid, signal.SIGKILL)
                killed += 1
            process.join(30)
        for i in range(20):  # restarted for good: runs to the end
            process = ctx.Process(target=incarnation, args=(env, f"final-{i}"))
            process.start()
            process.join(300)
            if _outbox(app_url).get("sent", 0) == reminders:
                break
        smtp_keys = dict(smtp.inbox.transmissions)
        webhook_keys = dict(webhook.log.transmissions)
    try:
        return _figures(app_url, reminders, killed, smtp_keys, webhook_keys, started)
    finally:
        from models.session import engine_for

        engine_for(app_url).dispose()  # no pooled session outlives the test's server


def _outbox(app_url: str) -> dict[str, int]:
    from models.session import engine_for

    with engine_for(app_url).connect() as conn:
        return {
            r.status: int(r.n)
            for r in conn.execute(
                text("SELECT status, count(*) AS n FROM reminder GROUP BY status")
            )
        }


def _figures(
    app_url: str,
    reminders: int,
    killed: int,
    smtp_keys: dict[str, int],
    webhook_keys: dict[str, int],
    started: float,
) -> DispatcherFigures:
    from models.repositories.runs import LOST
    from models.session import engine_for

    with engine_for(app_url).connect() as conn:
        keys = set(conn.execute(text("SELECT idempotency_key FROM reminder")).scalars())
        recorded_twice = conn.execute(
            text(
                "SELECT count(*) FROM (SELECT reminder_id FROM reminder_delivery "
                "WHERE outcome = 'sent' GROUP BY reminder_id HAVING count(*) > 1) twice"
            )
        ).scalar_one()
        not_sent = set(
            conn.execute(
                text("SELECT idempotency_key FROM reminder WHERE status <> 'sent'")
            ).scalars()
        )
        ledger: dict[tuple[str, Any], int] = {
            (r.status, r.error): int(r.n)
            for r in conn.execute(
                text("SELECT status, error, count(*) AS n FROM run_ledger GROUP BY status, error")
            )
        }
    arrived: dict[str, int] = {**smtp_keys, **webhook_keys}
    # Lost: never arrived at a sink, or arrived but not recorded as sent.
    lost = len((keys - set(arrived)) | not_sent)
    return DispatcherFigures(
        kills=killed,
        reminders=reminders,
        delivered=len(keys & set(arrived)),
        lost=lost,
        # Both sinks keep each key once; a key delivered twice would be one that reached
        # both (a reminder sent through the wrong channel) or was recorded twice.
        delivered_twice=len(set(smtp_keys) & set(webhook_keys)),
        retransmitted=sum(n - 1 for n in arrived.values() if n > 1),
        recorded_twice=int(recorded_twice),
        runs_left_running=sum(n for (status, _), n in ledger.items() if status == "running"),
        runs_failed_by_lease=ledger.get(("failed", LOST), 0),
        seconds=time.perf_counter() - started,
    )
