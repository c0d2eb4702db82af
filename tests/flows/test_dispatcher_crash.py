"""Kill the dispatcher mid-batch with SIGKILL, restart it: no reminder lost, none delivered twice.

"Delivered" is what the receiver accepts: the first intact arrival of an
idempotency key. A crash between the receiver accepting a message and the
dispatcher recording it makes the dispatcher send that message again after
restart — a second *transmission* — which the receiver recognises by its key
and drops. So the assertions are: every reminder is recorded sent exactly
once; every reminder's key was accepted exactly once; exactly one key (the
one in flight at the kill) was transmitted twice.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from flows.plan_care import plan_all
from flows.runtime import Runtime
from models.repositories.reminders import Route
from tests.channels.receivers import WebhookServer
from tests.flows.conftest import NOON, TODAY, TZ

SECRET = "crash-test-secret"
LEASE_SECONDS = 3
CARPATH = str(Path(sys.executable).parent / "carepath")


def dispatcher_env(database_url: str, webhook_url: str, data_dir: Path) -> dict[str, str]:
    import prefect.settings

    env = dict(os.environ)
    env.update(
        {
            "CAREPATH_DATABASE_URL": database_url,
            "CAREPATH_DATA_DIR": str(data_dir),
            "CAREPATH_TIMEZONE": TZ,
            "CAREPATH_WEBHOOK_URL": webhook_url,
            "CAREPATH_WEBHOOK_SECRET": SECRET,
            "CAREPATH_REMINDER_ROUTES": json.dumps(
                {"coordinator": ["webhook:coordinator"], "clinician": ["webhook:clinician"]}
            ),
            "CAREPATH_REMINDER_LEASE_SECONDS": str(LEASE_SECONDS),
            # The session's Prefect test server records these runs too.
            "PREFECT_API_URL": str(prefect.settings.PREFECT_API_URL.value()),
            "COLUMNS": "200",
        }
    )
    return env


@pytest.mark.slow
@pytest.mark.usefixtures("prefect_harness")
def test_sigkill_mid_batch_loses_nothing_and_delivers_nothing_twice(
    runtime: Runtime, engine: Engine, cohort: list[int], database_url: str, tmp_path: Path
) -> None:
    webhook_routes = (
        Route("coordinator", "webhook", "coordinator"),
        Route("clinician", "webhook", "clinician"),
    )
    rt = Runtime(**{**runtime.__dict__, "routes": webhook_routes})
    total = 0
    for day in range(7):  # a week of plans: every window that opens queues its reminder
        later = timedelta(days=day)
        total += plan_all(rt, as_of=TODAY + later, now=NOON + later)["reminders"]
    assert total >= 20

    with WebhookServer(SECRET) as receiver:
        receiver.log.hold_after = 4  # accept four, then accept the fifth and never answer
        env = dispatcher_env(database_url, receiver.url, tmp_path / "data")
        with (tmp_path / "first.log").open("wb") as log:
            first = subprocess.Popen([CARPATH, "dispatch"], env=env, stdout=log, stderr=log)
            try:
                assert receiver.log.holding.wait(90), "the dispatcher never reached the receiver"
                os.kill(first.pid, signal.SIGKILL)
            finally:
                first.wait(30)
        assert first.returncode == -signal.SIGKILL

        with engine.connect() as conn:
            after_kill = dict(
                conn.execute(text("SELECT status, count(*) FROM reminder GROUP BY status")).all()
            )
        # Four sent and recorded; the rest of the batch claimed (in flight or not yet sent).
        assert after_kill == {"sent": 4, "sending": total - 4}

        receiver.log.hold_after = None
        receiver.log.release.set()
        time.sleep(LEASE_SECONDS + 1)  # the dead dispatcher's lease runs out
        second = subprocess.run(
            [CARPATH, "dispatch", "--json"], env=env, capture_output=True, text=True, timeout=120
        )
        assert second.returncode == 0, second.stderr
        assert json.loads(second.stdout.strip().splitlines()[-1])["sent"] == total - 4
        assert "Traceback" not in second.stderr + second.stdout

    with engine.connect() as conn:
        rows = conn.execute(text("SELECT id, idempotency_key, status FROM reminder")).all()
        sent_records = dict(
            conn.execute(
                text(
                    "SELECT reminder_id, count(*) FROM reminder_delivery WHERE outcome = 'sent' "
                    "GROUP BY reminder_id"
                )
            ).all()
        )
    keys = {r.idempotency_key for r in rows}
    # No reminder lost: every one is recorded sent, once.
    assert {r.status for r in rows} == {"sent"}
    assert sent_records == {r.id: 1 for r in rows}
    # None delivered twice: the receiver accepted each key exactly once ...
    assert set(receiver.log.delivered) == keys and len(receiver.log.delivered) == total
    # ... and the one in flight at the kill was transmitted twice and dropped the second time.
    resent = {k: n for k, n in receiver.log.transmissions.items() if n > 1}
    assert list(resent.values()) == [2]
    assert sum(receiver.log.transmissions.values()) == total + 1
    assert receiver.log.bad_signatures == 0


@pytest.mark.slow
def test_fault_test_at_ci_size(tmp_path: Path) -> None:
    """``make fault-test`` at CI size: 10 SIGKILLs mid-batch, one PostgreSQL restart mid-plan."""
    from tests.faults import dispatcher, planning
    from tests.faults.server import start

    server = start(tmp_path)
    try:
        sent = dispatcher.run(server, tmp_path, kills=10)
        print(sent.line())
        restarted = planning.run(server, restarts=1, patients=500)
        print(restarted.line())
    finally:
        server.stop()
    assert sent.kills >= 8  # a kill that comes after the last send does not count
    assert sent.delivered == sent.reminders and sent.lost == 0
    assert sent.delivered_twice == sent.recorded_twice == 0
    assert sent.retransmitted <= sent.kills  # at most the one in flight at each kill
    assert sent.runs_left_running == 0 and sent.runs_failed_by_lease >= 1
    assert restarted.lost == restarted.doubled == restarted.differing == 0
    assert restarted.tasks > 0 and restarted.restarts + restarted.finished_before == 1
