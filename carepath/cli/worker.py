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
            asyncio.run(_serve(runner))
        console.print("carepath worker: stopped", highlight=False)


async def _serve(runner: Any) -> None:
    """Serve until the runner stops, or SIGTERM cancels this task (its shutdown path runs)."""
    task = asyncio.current_task()
    if task is None:  # asyncio.run always runs this as its main task
        raise RuntimeError("the worker must be served by asyncio.run")
    runner.serving = (asyncio.get_running_loop(), task)
    with contextlib.suppress(asyncio.CancelledError):
        await runner.start()


def _runner() -> Any:
    """Prefect's runner, stopping on SIGTERM (`docker compose stop`) exactly as on Ctrl-C.

    Prefect's own SIGTERM handler calls an async stop without awaiting it and
    exits. This one cancels the task serving the runner, as asyncio does on
    Ctrl-C, so the runner's shutdown path runs (schedules paused, runs stopped).
    It does not raise SIGINT to get there: a process a shell starts in the
    background without job control inherits SIGINT ignored, and the worker then
    never stopped.
    """
    from prefect.runner import Runner

    class Worker(Runner):
        serving: tuple[asyncio.AbstractEventLoop, asyncio.Task[None]] | None = None

        def handle_sigterm(self, *args: Any, **kwargs: Any) -> None:
            # A signal handler runs between the loop's steps: wake the loop to cancel.
            if self.serving is not None:
                loop, task = self.serving
                loop.call_soon_threadsafe(task.cancel)

    return Worker(pause_on_shutdown=True)
