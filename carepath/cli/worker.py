"""`carepath worker`: serve the Prefect deployments of the periodic jobs (production's scheduler).

Only when ``CAREPATH_SCHEDULE_OWNER=prefect``: one setting decides who owns
the schedules, and with ``apscheduler`` the clock inside `carepath serve` does.
Flow runs execute in child processes, which rebuild the flow runtime from the
same environment (``CAREPATH_FLOW_RUNTIME``).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from typing import Any

from carepath.cli.common import console, fail, settings_or_fail


def worker() -> None:
    """Serve the scheduled flows as Prefect deployments (CAREPATH_SCHEDULE_OWNER=prefect)."""
    settings = settings_or_fail()
    if settings.schedule_owner != "prefect":
        fail(
            "schedule_owner: the APScheduler clock of `carepath serve` owns the schedules; "
            "set CAREPATH_SCHEDULE_OWNER=prefect to serve them as Prefect deployments instead"
        )
    from carepath.orchestration import prefect_api, prepare_prefect
    from carepath.runtime import FACTORY
    from flows.runtime import RUNTIME_FACTORY_ENV

    prepare_prefect(settings)
    os.environ[RUNTIME_FACTORY_ENV] = FACTORY
    with prefect_api(settings) as url:
        from flows.deployments import build_deployments

        deployments = build_deployments(settings.timezone)
        console.print(
            f"carepath worker: serving {len(deployments)} deployments "
            f"({', '.join(d.name for d in deployments)}) to {url}",
            highlight=False,
        )
        from prefect.deployments import run_deployment

        runner = _runner()
        for deployment in deployments:
            # One run of each now, as the clock of `carepath serve` does at start-up: the
            # periods missed while no worker ran are caught up (the ledger still runs a
            # period once), and readiness need not wait for tonight's report.
            run_deployment(runner.add_deployment(deployment), timeout=0)
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(runner.start())
        console.print("carepath worker: stopped", highlight=False)


def _runner() -> Any:
    """Prefect's runner, stopping on SIGTERM (`docker compose stop`) exactly as on Ctrl-C.

    Prefect's own SIGTERM handler calls an async stop without awaiting it and
    exits; turning SIGTERM into SIGINT lets asyncio cancel the runner the way
    Ctrl-C does, so its shutdown path runs (schedules paused, runs stopped).
    """
    from prefect.runner import Runner

    class Worker(Runner):
        def handle_sigterm(self, *args: Any, **kwargs: Any) -> None:
            signal.raise_signal(signal.SIGINT)

    return Worker(pause_on_shutdown=True)
