"""`carepath serve`: the web app and, when it owns the schedules, the in-process clock."""

from __future__ import annotations

from typing import Annotated

import typer

from carepath.cli.common import console, settings_or_fail


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
    app = create_app(settings)
    console.print(f"carepath listening on http://{host}:{port}/")
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
