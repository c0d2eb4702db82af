"""`carepath worker` serves the deployments to a Prefect server, and their runs really run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from tests.flows.conftest import TZ

CARPATH = str(Path(sys.executable).parent / "carepath")
# The worker stops in seconds; a worker that never stops is killed so it cannot leak
# into the next test (it did, as an unraisable ResourceWarning, before the worker's
# SIGTERM stopped going through SIGINT).
STOP_SECONDS = 60
# As a shell without job control starts a background job (`cmd &` in a script, CI):
# SIGINT ignored, inherited. The worker must still stop on SIGTERM.
AS_A_BACKGROUND_JOB = ["sh", "-c", 'trap "" INT; exec "$0" worker', CARPATH]


def _stop(worker: subprocess.Popen[bytes]) -> float | None:
    """SIGTERM, as `docker compose stop` sends; seconds to exit, or None (then killed)."""
    started = time.monotonic()
    worker.send_signal(signal.SIGTERM)
    try:
        worker.wait(STOP_SECONDS)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait(30)
        return None
    return time.monotonic() - started


def test_the_worker_refuses_when_the_clock_owns_the_schedules(
    cli_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from carepath.cli import app

    monkeypatch.setenv("CAREPATH_SCHEDULE_OWNER", "apscheduler")
    result = CliRunner().invoke(app, ["worker"])
    assert result.exit_code == 2
    assert "schedule_owner" in result.output and "CAREPATH_SCHEDULE_OWNER=prefect" in result.output


@pytest.mark.slow
@pytest.mark.usefixtures("prefect_harness")
def test_the_worker_serves_every_job_and_runs_a_deployment(
    database_url: str, engine: Engine, tmp_path: Path
) -> None:
    import prefect.settings
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.sorting import DeploymentSort
    from prefect.deployments import run_deployment

    env = dict(os.environ)
    env.update(
        {
            "CAREPATH_DATABASE_URL": database_url,
            "CAREPATH_DATA_DIR": str(tmp_path / "data"),
            "CAREPATH_TIMEZONE": TZ,
            "CAREPATH_SCHEDULE_OWNER": "prefect",
            "PREFECT_API_URL": str(prefect.settings.PREFECT_API_URL.value()),
        }
    )
    log = tmp_path / "worker.log"
    with log.open("wb") as out:
        worker = subprocess.Popen(
            AS_A_BACKGROUND_JOB, env=env, stdout=out, stderr=subprocess.STDOUT
        )
        try:
            names: set[str] = set()
            deadline = time.monotonic() + 90
            with get_client(sync_client=True) as client:
                while time.monotonic() < deadline and len(names) < 5:
                    names = {
                        d.name
                        for d in client.read_deployments(limit=50, sort=DeploymentSort.NAME_ASC)
                    }
                    time.sleep(0.5)
                deployments = {
                    d.name: d
                    for d in client.read_deployments(limit=50, sort=DeploymentSort.NAME_ASC)
                }
            assert names >= {
                "plan-care",
                "evaluate-results",
                "dispatch-reminders",
                "escalate-overdue",
                "adherence-report",
            }
            assert [s.schedule.cron for s in deployments["plan-care"].schedules] == ["*/5 * * * *"]  # type: ignore[union-attr]
            assert [s.schedule.cron for s in deployments["adherence-report"].schedules] == [
                "30 2 * * *"
            ]  # type: ignore[union-attr]

            run = run_deployment("escalate_overdue/escalate-overdue", timeout=120)
            assert run.state is not None and run.state.is_completed(), run.state
        finally:
            stopped_in = _stop(worker)
    output = log.read_text()
    assert stopped_in is not None, f"the worker did not stop within {STOP_SECONDS} s:\n{output}"
    print(f"carepath worker stopped {stopped_in:.1f} s after SIGTERM")
    assert worker.returncode == 0, output
    assert "Traceback" not in output
    assert "serving 5 deployments" in output and "stopped" in output
    with engine.connect() as conn:
        ledger = conn.execute(text("SELECT job, status FROM run_ledger")).all()
    # The worker runs each job once at start (a missed period is not waited for), then the
    # deployment run above: every job is in the ledger, and every run finished.
    assert {job for job, _ in ledger} == {
        "plan_care",
        "evaluate_results",
        "dispatch_reminders",
        "escalate_overdue",
        "adherence_report",
    }
    assert {status for _, status in ledger} == {"done"}
