"""`carepath worker`: serve the Prefect deployments of the periodic jobs (production's scheduler).

Only when ``CAREPATH_SCHEDULE_OWNER=prefect``: one setting decides who owns
the schedules, and with ``apscheduler`` the clock inside `carepath serve` does.
Flow runs execute in child processes, which rebuild the flow runtime from the
same environment (``CAREPATH_FLOW_RUNTIME``).
"""

from __future__ import annotations

import os

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
        from prefect import serve

        from flows.deployments import build_deployments

        deployments = build_deployments(settings.timezone)
        console.print(
            f"carepath worker: serving {len(deployments)} deployments "
            f"({', '.join(d.name for d in deployments)}) to {url}",
            highlight=False,
        )
        serve(*deployments, print_starting_message=False)
