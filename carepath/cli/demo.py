"""`carepath demo`: reset the database, load the synthetic cohort and show it."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from carepath.cli.common import console, fail, settings_or_fail
from carepath.timeutil import clinic_today


def demo(
    reset: Annotated[
        bool,
        typer.Option(
            "--reset-external",
            help="Also allow resetting a database given by CAREPATH_DATABASE_URL (destroys its data).",
        ),
    ] = False,
) -> None:
    """Load the synthetic cohort (fictional patients) into a fresh database and show it."""
    from carepath import database
    from carepath.demo.cohort import COHORT
    from carepath.demo.loader import load_cohort
    from carepath.demo.users import create_demo_users
    from carepath.pathway import active_definition
    from models.repositories.audit import Actor
    from models.repositories.patients import list_patients
    from models.session import transaction

    settings = settings_or_fail()
    if settings.environment == "production":
        fail("environment: the demo never runs in production")
    if not settings.uses_embedded_database and not reset:
        fail(
            "database_url: the demo resets the database; it runs on the embedded default, "
            "or pass --reset-external to reset the configured server"
        )
    today = clinic_today(settings.timezone)
    with console.status("starting the embedded PostgreSQL and migrating ..."):
        url = database.database_url(settings)
        database.downgrade(url, "base")
        database.upgrade(url)
    definition = active_definition()
    with (
        console.status(f"loading {len(COHORT)} synthetic patients ..."),
        transaction(database.get_engine(settings)) as session,
    ):
        load_cohort(session, today=today, timezone=settings.timezone, definition=definition)
        credentials = create_demo_users(session)
    viewer = Actor("demo", "admin", "cli")
    with transaction(database.get_engine(settings)) as session:
        rows, total = list_patients(session, actor=viewer, limit=1000)
    branches = {entry.mrn: entry.branch for entry in COHORT}
    table = Table(
        title=f"Synthetic cohort on {today.isoformat()} ({settings.timezone}), pathway {definition.ref}",
        title_justify="left",
    )
    for column in ("ID", "MRN", "Name", "Age", "Lineage", "Illustrates", "Phase"):
        table.add_column(column, no_wrap=column not in ("Name", "Illustrates"))
    for r in rows:
        age = (
            today.year
            - r.birth_date.year
            - ((today.month, today.day) < (r.birth_date.month, r.birth_date.day))
        )
        table.add_row(
            str(r.id),
            r.mrn,
            r.display_name,
            str(age),
            r.lineage or "?",
            branches.get(r.mrn, ""),
            r.phase or "-",
        )
    console.print(table)
    console.print(f"{total} fictional patients loaded. All names and facts are invented.")
    console.print("Sign in to `carepath serve` as (demo passwords, shown once):")
    for c in credentials:
        console.print(
            f"  {c.role:<12} {c.username:<12} {c.password}", markup=False, highlight=False
        )
