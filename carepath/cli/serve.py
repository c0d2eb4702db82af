"""`carepath serve`: the web app and, when it owns the schedules, the in-process clock."""

from __future__ import annotations

import logging
import sys
from contextlib import ExitStack
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


def configure_access_log(settings: Settings) -> logging.Handler | None:
    """Send the app's access lines (route templates, never ids or values) to stderr.

    uvicorn's own access log is off: it prints the raw path and query, which can
    carry a patient's id or a searched name.
    """
    if not settings.access_log:
        return None
    log = logging.getLogger("carepath.access")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s access %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
    return handler


def worker_app() -> Any:
    """The app of one of several web worker processes (``uvicorn --factory``): no clock of its own."""
    from carepath import logsafe
    from carepath.settings import get_settings
    from carepath.web.app import create_app

    logsafe.install()  # a spawned process: main() did not run here
    settings = get_settings()
    configure_access_log(settings)
    return create_app(settings)


def serve(
    host: Annotated[str | None, typer.Option(help="Interface to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="TCP port.")] = None,
    workers: Annotated[
        int | None,
        typer.Option(min=1, max=64, help="Web worker processes (default CAREPATH_WEB_WORKERS)."),
    ] = None,
) -> None:
    """Run the web app (and the APScheduler clock when CAREPATH_SCHEDULE_OWNER=apscheduler)."""
    import uvicorn

    from carepath.web.app import create_app

    settings = settings_or_fail()
    host = host or settings.web_host
    port = port or settings.web_port
    workers = workers or settings.web_workers
    clocked = settings.schedule_owner == "apscheduler"
    owner = (
        "the built-in clock runs the flows (CAREPATH_SCHEDULE_OWNER=apscheduler)"
        if clocked
        else "Prefect deployments run the flows (`carepath worker`)"
    )
    if workers == 1:
        configure_access_log(settings)  # with workers, each configures its own (worker_app)
        app = create_app(settings, lifespans=background_services(settings))
        console.print(f"carepath listening on http://{host}:{port}/; {owner}", highlight=False)
        uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
        return
    # Several worker processes answer requests; the one clock ticks in this supervising
    # process, so the flows are not started once per worker.
    with ExitStack() as stack:
        if clocked:
            from carepath.scheduler import running_clock

            stack.enter_context(running_clock(settings))
        console.print(
            f"carepath listening on http://{host}:{port}/ with {workers} worker processes; {owner}",
            highlight=False,
        )
        uvicorn.run(
            "carepath.cli.serve:worker_app",
            factory=True,
            workers=workers,
            host=host,
            port=port,
            log_level="warning",
            access_log=False,
        )
