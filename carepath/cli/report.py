"""`carepath report adherence --from DATE --to DATE [--format table|csv|json|html] [--output FILE]`."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from carepath.cli.common import cli_actor, console, db_session, fail, settings_or_fail

if TYPE_CHECKING:
    from models.repositories.adherence import AdherenceReport

report_app = typer.Typer(help="Reports: pathway adherence (RULES.md §8).", no_args_is_help=True)

FORMATS = ("table", "csv", "json", "html")


def _date(label: str, value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"{label}: {value!r} is not a date (YYYY-MM-DD)")


COLUMNS = ("Id", "Indicator", "Num/Den", "Rate", "Excused", "Late", "Missed", "Pending")
# For a narrow terminal (the demo): the figures first, the title last where it can fold.
COMPACT = ("Id", "Num/Den", "Rate", "Late", "Missed", "Indicator")


def adherence_table(report: AdherenceReport, title: str, *, compact: bool = False) -> Table:
    """The report as a terminal table; ``compact`` leaves out indicators with nothing to count."""
    from carepath.reports.adherence import table_rows

    columns = COMPACT if compact else COLUMNS
    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column, overflow="fold", no_wrap=column != "Indicator")
    for row in table_rows(report):
        cells = dict(zip(COLUMNS, row, strict=True))
        if compact and cells["Num/Den"] in ("0/0", "not computable"):
            continue
        table.add_row(*(cells[c] for c in columns))
    return table


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
    from carepath.reports.adherence import report_csv, report_html, report_json
    from carepath.timeutil import now
    from models.repositories.adherence import read_report

    first, last = _date("from", start), _date("to", end)
    if last < first:
        fail("to: the period ends before it starts")
    if output_format not in FORMATS:
        fail(f"format: one of {', '.join(FORMATS)}")
    settings = settings_or_fail()
    definition = active_definition()
    with db_session() as session:
        report = read_report(
            session,
            actor=cli_actor(),
            definition=definition,
            timezone=settings.timezone,
            start=first,
            end=last,
            now=now(),
            detail={"format": output_format},
        )
    if output_format == "table":
        table = adherence_table(report, f"Pathway adherence {first} to {last} ({definition.ref})")
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
