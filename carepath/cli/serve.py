"""`carepath serve`: the web app and, when it owns the schedules, the in-process clock."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from carepath.cli.common import console, settings_or_fail
from carepath.settings import Settings


def background_services(settings: Settings) -> list[Any]:
    """What runs beside the web app: the clock, only when APScheduler owns the schedules."""
    if settings.schedule_owner != "apscheduler":
        return []
    from carepath.orchestration import prepare_prefect

    prepare_prefect(settings)  # before the clock imports the flows (and Prefect)
    from carepath.scheduler import clock_lifespan

    return [clock_lifespan(settings)]


def serve(
    host: Annotated[str | None, typer.Option(help="Interface to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="TCP port.")] = None,
) -> None:
    """Run the web app (and the APScheduler clock when CAREPATH_SCHEDULE_OWNER=apscheduler)."""
    import uvicorn

    from carepath.web.app import create_app

    settings = settings_or_fail()
    host = host or settings.web_host
    port = port or settings.web_port
    services = background_services(settings)
    app = create_app(settings, lifespans=services)
    owner = (
        "the built-in clock runs the flows (CAREPATH_SCHEDULE_OWNER=apscheduler)"
        if services
        else "Prefect deployments run the flows (`carepath worker`)"
    )
    console.print(f"carepath listening on http://{host}:{port}/; {owner}", highlight=False)
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
