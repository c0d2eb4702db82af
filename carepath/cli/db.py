"""`carepath db upgrade | downgrade | status | stop`."""

from __future__ import annotations

from typing import Annotated

import typer

from carepath.cli.common import console, fail, settings_or_fail

db_app = typer.Typer(help="Database migrations and the embedded server.", no_args_is_help=True)


@db_app.command("upgrade")
def upgrade(revision: Annotated[str, typer.Argument()] = "head") -> None:
    """Apply migrations up to REVISION (default: head)."""
    from carepath import database

    settings = settings_or_fail()
    url = database.migration_url(settings)  # as the owner; starts the embedded server if need be
    database.upgrade(url, revision)
    console.print(f"database at revision {database.current_revision(url)}")


@db_app.command("downgrade")
def downgrade(revision: Annotated[str, typer.Argument()]) -> None:
    """Revert migrations down to REVISION ('base' empties the database)."""
    from carepath import database

    settings = settings_or_fail()
    if settings.environment == "production":
        fail("environment: refusing to downgrade a production database")
    url = database.migration_url(settings)
    database.downgrade(url, revision)
    console.print(f"database at revision {database.current_revision(url) or 'base'}")


@db_app.command("status")
def status() -> None:
    """Show which database is used and its migration revision."""
    from carepath import database

    settings = settings_or_fail()
    url = database.database_url(settings)
    where = (
        "embedded, " + str(settings.data_dir.resolve() / "pgdata")
        if settings.uses_embedded_database
        else "external server"
    )
    console.print(f"database: {where}")
    console.print(
        f"revision: {database.current_revision(url) or 'base'} (head {database.head_revision(url)})"
    )


@db_app.command("stop")
def stop() -> None:
    """Stop the embedded PostgreSQL server (it starts again on next use)."""
    from carepath.embedded_db import stop_server

    settings = settings_or_fail()
    if not settings.uses_embedded_database:
        fail("database_url: an external server is configured; nothing to stop")
    stopped = stop_server(settings.data_dir / "pgdata")
    console.print("embedded server stopped" if stopped else "embedded server was not running")
