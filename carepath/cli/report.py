"""`carepath report adherence --from DATE --to DATE [--format table|csv|json|html] [--output FILE]`."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from carepath.cli.common import cli_actor, console, db_session, fail, settings_or_fail

report_app = typer.Typer(help="Reports: pathway adherence (RULES.md §8).", no_args_is_help=True)

FORMATS = ("table", "csv", "json", "html")


def _date(label: str, value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"{label}: {value!r} is not a date (YYYY-MM-DD)")


@report_app.command("adherence")
def adherence(
    start: Annotated[
        str, typer.Option("--from", help="First clinic date of the period, YYYY-MM-DD.")
    ],
    end: Annotated[
        str, typer.Option("--to", help="Last clinic date of the period (inclusive), YYYY-MM-DD.")
    ],
    output_format: Annotated[
        str, typer.Option("--format", help="table | csv | json | html (one self-contained file).")
    ] = "table",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file instead of stdout.")
    ] = None,
) -> None:
    """Every adherence indicator (QM-01..20 and the optional measures) over a period."""
    from carepath.pathway import active_definition
    from carepath.reports.adherence import (
        report_csv,
        report_html,
        report_json,
        table_rows,
    )
    from carepath.timeutil import now
    from models.repositories.adherence import compute_report
    from models.repositories.audit import record

    first, last = _date("from", start), _date("to", end)
    if last < first:
        fail("to: the period ends before it starts")
    if output_format not in FORMATS:
        fail(f"format: one of {', '.join(FORMATS)}")
    settings = settings_or_fail()
    definition = active_definition()
    with db_session() as session:
        report = compute_report(
            session,
            definition=definition,
            timezone=settings.timezone,
            start=first,
            end=last,
            now=now(),
        )
        record(
            session,
            actor=cli_actor(),
            action="read",
            entity="adherence_report",
            entity_id=f"{first}..{last}",
            detail={"format": output_format},
        )
    if output_format == "table":
        table = Table(
            title=f"Pathway adherence {first} to {last} ({definition.ref})", title_justify="left"
        )
        for column in (
            "Id",
            "Indicator",
            "Num/Den",
            "Rate",
            "Excused",
            "Late",
            "Missed",
            "Pending",
        ):
            table.add_column(column, overflow="fold")
        for row in table_rows(report):
            table.add_row(*row)
        if output is None:
            console.print(table)
            return
        with output.open("w", encoding="utf-8") as handle:
            from rich.console import Console

            Console(file=handle, width=160).print(table)
        return
    if output_format == "json":
        text = json.dumps(report_json(report, definition), indent=2) + "\n"
    elif output_format == "csv":
        text = report_csv(report)
    else:
        text = report_html(report, definition)
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")


@report_app.command("snapshot")
def snapshot(
    start: Annotated[
        str | None, typer.Option("--from", help="First day of a period to store again.")
    ] = None,
    end: Annotated[str | None, typer.Option("--to", help="Its last day (inclusive).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print what was stored as JSON.")] = False,
) -> None:
    """Store the adherence snapshots now (the nightly adherence_report flow, once).

    Without a period: every month still settling. With --from/--to: that period,
    its earlier snapshot replaced whole.
    """
    from carepath.cli.jobs import flows_ready

    if (start is None) != (end is None):
        fail(f"{'to' if end is None else 'from'}: --from and --to go together")
    first = None if start is None else _date("from", start)
    last = None if end is None else _date("to", end)
    if first is not None and last is not None and last < first:
        fail("to: the period ends before it starts")
    settings = settings_or_fail()
    with flows_ready(settings):
        from flows.adherence_report import adherence_report

        stats = adherence_report(period_start=first, period_end=last)
    if as_json:
        typer.echo(json.dumps({k: v for k, v in stats.items() if k != "seconds"}, sort_keys=True))
        return
    console.print(
        f"stored adherence snapshots for {', '.join(stats['periods'])} "
        f"({stats['indicators']} indicator rows)",
        highlight=False,
    )
