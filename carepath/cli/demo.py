"""`carepath demo`: reset the database and run an invented clinic for months of days.

Every clinic day of the last ``--days`` is simulated (``carepath.demo.simulate``):
the synthetic cohort's patients are referred along the way, the tracker's
flows plan, evaluate, remind and escalate, invented staff work the queues.
The demo ends on today's queues, the overdue counts and where the reminders
went, on the same database `carepath serve` opens.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from carepath.cli.common import console, fail, settings_or_fail
from carepath.settings import Settings
from carepath.timeutil import clinic_today

if TYPE_CHECKING:
    from models.repositories.adherence import AdherenceReport
    from models.repositories.simulation import QueueItem


def demo(
    reset: Annotated[
        bool,
        typer.Option(
            "--reset-external",
            help="Also allow resetting a database given by CAREPATH_DATABASE_URL (destroys its data).",
        ),
    ] = False,
    days: Annotated[
        int, typer.Option(min=0, max=365, help="Clinic days to simulate before today.")
    ] = 90,
    seed: Annotated[
        int, typer.Option(help="Seed of the invented clinic (same seed, same run).")
    ] = 2026,
) -> None:
    """Load the synthetic cohort (fictional patients) and simulate months of clinic days."""
    from carepath import database, timeutil

    settings = settings_or_fail()
    if settings.environment == "production":
        fail("environment: the demo never runs in production")
    if not settings.uses_embedded_database and not reset:
        fail(
            "database_url: the demo resets the database; it runs on the embedded default, "
            "or pass --reset-external to reset the configured server"
        )
    started = time.monotonic()
    today = clinic_today(settings.timezone)
    first_day = today - timedelta(days=days)
    with console.status("starting the embedded PostgreSQL and migrating ..."):
        url = database.migration_url(settings)  # the owner's; the app connects as its own role
        database.downgrade(url, "base")
        database.upgrade(url)
    from carepath.demo.users import create_demo_users
    from models.session import transaction

    with transaction(database.get_engine(settings)) as session:
        credentials = create_demo_users(session)
    _step("database reset and migrated, demo users created", started)
    sink = (settings.data_dir / "reminders").resolve()
    shutil.rmtree(sink, ignore_errors=True)
    demo_settings = settings.model_copy(update={"reminder_sink_dir": sink, "reminder_routes": None})
    simulated = time.monotonic()
    tally = _simulate(demo_settings, first_day, timeutil.now(), seed, days)
    _step(f"{days} clinic days and today simulated", simulated)
    _report(demo_settings, tally, first_day, sink, credentials, time.monotonic() - started)


def _step(what: str, since: float) -> None:
    """One line per finished step with its time, also where no spinner shows (a pipe, a log)."""
    console.print(f"carepath demo: {what} in {time.monotonic() - since:.0f} s", highlight=False)


def _simulate(settings: Settings, first_day: Any, now: Any, seed: int, days: int) -> dict[str, Any]:
    """The simulated clinic, in this process: its flows' cores, no Prefect server to wait for
    (carepath.demo.simulate says why)."""
    from carepath.orchestration import prepare_prefect

    prepare_prefect(settings)  # the flows import Prefect: its home and quiet loggers first
    with console.status("loading the clinical engine and the flows ..."):
        from carepath.runtime import build_runtime
        from flows.runtime import configure

        try:
            from carepath.demo.simulate import simulate_clinic
        except ImportError as exc:
            fail(f"engine: {exc} (the clinical engine is not installed)", code=1)
    progress = Progress(
        TextColumn("[bold]clinic days[/]"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )
    configure(build_runtime(settings))
    try:
        with progress:
            bar = progress.add_task("", total=days)

            def advance(day: Any) -> None:
                progress.update(bar, advance=1, description=day.isoformat())
                if not console.is_terminal and (day - first_day).days % 30 == 29:
                    _step(f"{(day - first_day).days + 1} clinic days simulated", started)

            started = time.monotonic()
            return simulate_clinic(first_day=first_day, now=now, seed=seed, on_day_done=advance)
    finally:
        configure(None)


def _report(
    settings: Settings,
    tally: dict[str, Any],
    first_day: date,
    sink: Path,
    credentials: list[Any],
    seconds: float,
) -> None:
    """What the simulated months left: today's queues, the reminders, adherence, how to sign in."""
    today = clinic_today(settings.timezone)
    outcome = _read_outcome(settings, first_day, today)
    _print_summary(tally, today, settings.timezone)
    for role in ROLES:
        _print_queue(role, outcome.counts, outcome.queues[role])
    _print_reminders(outcome, sink, sent_now=tally["dispatched"].get("sent", 0))
    _print_adherence(outcome, first_day, today, snapshots=tally["adherence_snapshots"])
    _print_sign_in(credentials)
    console.print(
        f"Demo finished in {seconds:.0f} s. All names and facts are invented.", highlight=False
    )


ROLES = ("coordinator", "clinician")


@dataclass(frozen=True, slots=True)
class _Outcome:
    counts: dict[str, dict[str, int]]
    queues: dict[str, list[QueueItem]]
    outbox: dict[str, int]
    sent_to: list[tuple[str, str, int]]
    adherence: AdherenceReport


def _read_outcome(settings: Settings, first_day: date, today: date) -> _Outcome:
    """Today's queues, the outbox and the adherence report of the simulated days, in one read."""
    from carepath import timeutil
    from carepath.database import get_engine
    from carepath.pathway import active_definition
    from models.repositories.adherence import read_report
    from models.repositories.audit import Actor
    from models.repositories.outbox import destinations, outbox_counts
    from models.repositories.simulation import queue, queue_counts
    from models.session import transaction

    now = timeutil.now()
    viewer = Actor("demo", "admin", "cli")
    with transaction(get_engine(settings)) as session:
        return _Outcome(
            counts=queue_counts(session, now=now, timezone=settings.timezone),
            queues={
                role: queue(session, role=role, now=now, actor=viewer, limit=8) for role in ROLES
            },
            outbox=outbox_counts(session),
            sent_to=destinations(session),
            adherence=read_report(
                session,
                actor=viewer,
                definition=active_definition(),
                timezone=settings.timezone,
                start=first_day,
                end=today,
                now=now,
            ),
        )


def _print_summary(tally: dict[str, Any], today: date, timezone: str) -> None:
    planned, evaluated, escalated = tally["planned"], tally["evaluated"], tally["escalated"]
    console.print(
        f"\n[bold]{tally['days']} clinic days simulated[/] up to today ({today}, {timezone}), "
        f"{tally['admitted']} invented patients referred along the way:"
        f" {tally['completed_on_time']:,} tasks done on time, {tally['completed_late']:,} late; "
        f"{tally['lab_results']:,} lab results ({tally['abnormal_results']} out of range), "
        f"{evaluated.get('alerts', 0)} alerts for review, {tally['marrows']} response marrows, "
        f"{tally['signatures']} responses signed by the clinician"
        f" ({tally['refused_signatures']} left for a real one); "
        f"{planned.get('created', 0):,} tasks planned, {planned.get('cancelled', 0)} cancelled as "
        f"plans changed; {escalated.get('escalated', 0)} tasks escalated to a clinician.",
        highlight=False,
    )


def _print_queue(role: str, counts: dict[str, dict[str, int]], items: list[QueueItem]) -> None:
    c = counts.get(role, {"due_today": 0, "overdue": 0, "escalated": 0, "actionable": 0})
    table = Table(
        title=f"Today's {role} queue: {c['actionable']} open now — {c['due_today']} due today, "
        f"[red]{c['overdue']} overdue[/], {c['escalated']} escalated",
        title_justify="left",
    )
    for column in ("Task", "Patient", "Due by", "Rule", "What"):
        table.add_column(column, overflow="fold")
    for item in items:
        due = item.due_date.isoformat()  # the clinic day it is due (by its end)
        flag = " [red]overdue[/]" if item.overdue else ""
        flag += " [yellow]escalated[/]" if item.escalation_level else ""
        table.add_row(
            str(item.task_id), f"{item.mrn} {item.name}", due + flag, item.rule_id, item.title
        )
    console.print(table)


def _print_reminders(outcome: _Outcome, sink: Path, *, sent_now: int) -> None:
    outbox, sent_to = outcome.outbox, outcome.sent_to
    console.print(
        f"Reminders: {outbox['sent']:,} sent to files under {sink} "
        f"({', '.join(f'{r}: {n}' for _, r, n in sent_to) or 'none'}); "
        f"{outbox['pending']} pending, {outbox['failed']} failed, {outbox['skipped']} skipped "
        f"(their task closed first). This run sent {sent_now:,}.",
        highlight=False,
    )


def _print_adherence(outcome: _Outcome, first_day: date, today: date, *, snapshots: int) -> None:
    from carepath.cli.report import adherence_table

    console.print(
        adherence_table(
            outcome.adherence,
            f"Pathway adherence over the simulated days, {first_day} to {today} (RULES.md §8; "
            f"the nightly run stored the snapshots of {snapshots} months; "
            "indicators with nothing to count left out)",
            compact=True,
        )
    )
    console.print(
        f"The same as a printable file: carepath report adherence --from {first_day} --to {today} "
        "--format html -o adherence.html",
        highlight=False,
    )


def _print_sign_in(credentials: list[Any]) -> None:
    console.print(
        "Open the web app on the same data: make serve, then http://127.0.0.1:8000/ "
        "and sign in as (demo passwords, shown once):",
        highlight=False,
    )
    for c in credentials:
        console.print(
            f"  {c.role:<12} {c.username:<12} {c.password}", markup=False, highlight=False
        )
