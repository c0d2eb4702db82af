"""Prefect deployments of the periodic jobs, with the same schedules as the APScheduler clock.

Served by `carepath worker` when ``CAREPATH_SCHEDULE_OWNER=prefect`` (the
production compose). Each deployment passes ``period_key="@scheduled"``, so a
run claims its period in the run ledger from its scheduled start time: even
two workers serving the same deployments run each period once.
"""

from __future__ import annotations

from prefect.deployments.runner import RunnerDeployment
from prefect.schedules import Cron
from prefect.types.entrypoint import EntrypointType

from flows.jobs import JOBS, SCHEDULED, flow_for


def deployment_name(job_name: str) -> str:
    return job_name.replace("_", "-")


def build_deployments(timezone: str) -> list[RunnerDeployment]:
    """One deployment per job whose flow is installed (adherence_report arrives with its issue)."""
    deployments: list[RunnerDeployment] = []
    for spec in JOBS:
        flow = flow_for(spec.name)
        if flow is None:
            continue
        deployment = flow.to_deployment(
            name=deployment_name(spec.name),
            schedules=[Cron(spec.cron, timezone=timezone)],
            parameters={"period_key": SCHEDULED},
            description=spec.description,
            tags=["carepath"],
            # Importable from the installed package, whatever the working directory.
            entrypoint_type=EntrypointType.MODULE_PATH,
        )
        # Prefect answers with a coroutine inside an event loop; the worker builds these outside one.
        if not isinstance(deployment, RunnerDeployment):
            raise TypeError("build_deployments must be called outside an event loop")
        deployments.append(deployment)
    return deployments
