"""`carepath plan | evaluate-results | dispatch | escalate`: run one flow once, under Prefect.

Each command runs the same Prefect flow the clock or the worker runs on a
schedule, once, and prints what it did. Without ``PREFECT_API_URL`` a local
Prefect server runs for the duration of the command (its output goes to
``<data dir>/prefect/server.log``), so the run is recorded like any other.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from typing import Annotated, Any

import typer

from carepath.cli.common import console, fail, settings_or_fail
from carepath.settings import Settings


@contextmanager
def flows_ready(settings: Settings) -> Iterator[None]:
    """The flow runtime installed and a Prefect API reachable, for the block."""
    from carepath.orchestration import prefect_api, prepare_prefect

    prepare_prefect(settings)
    from carepath.runtime import build_runtime
    from flows.runtime import configure

    configure(build_runtime(settings))
    try:
        with prefect_api(settings):
            yield
    finally:
        configure(None)


def _run(settings: Settings, call: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    try:
        with flows_ready(settings):
            return call()
    except ImportError as exc:
        fail(f"engine: {exc} (the clinical engine is not installed)", code=1)


def _parse_day(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"as-of: {value!r} is not a date (YYYY-MM-DD)")


def _emit(stats: dict[str, Any], as_json: bool, line: str) -> None:
    if as_json:
        typer.echo(json.dumps({k: v for k, v in stats.items() if k != "seconds"}, sort_keys=True))
    else:
        console.print(line, highlight=False)


def plan(
    as_of: Annotated[
        str | None,
        typer.Option(
            help="Clinic date to plan as of, YYYY-MM-DD (default today; runs at its noon)."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the counts as JSON.")] = False,
) -> None:
    """Plan every active patient's tasks once (the plan_care flow)."""
    settings = settings_or_fail()
    day = _parse_day(as_of)

    def call() -> dict[str, Any]:
        from flows.plan_care import plan_care

        return plan_care(as_of=day)

    s = _run(settings, call)
    line = (
        f"planned {s['patients']} patients as of {s['as_of']}: {s['created']} created, "
        f"{s['updated']} updated, {s['cancelled']} cancelled, {s['unchanged']} unchanged"
        + (f", {s['reopened']} reopened" if s["reopened"] else "")
        + f"; {s['reminders']} reminders queued"
        + (
            f" ({s['skipped']} patients unchanged since their last plan were not re-planned)"
            if s["skipped"]
            else ""
        )
    )
    if s["problems"]:
        ids = ", ".join(str(p) for p in s["problem_patients"][:20])
        line += (
            f"\n[yellow]{s['problems']} patients could not be planned[/] (ids {ids}"
            f"{' …' if len(s['problem_patients']) > 20 else ''}): see their data-quality tasks"
        )
    _emit(s, as_json, line)


def evaluate_results(
    as_json: Annotated[bool, typer.Option("--json", help="Print the counts as JSON.")] = False,
) -> None:
    """Evaluate new lab results and response assessments once (the evaluate_results flow)."""
    settings = settings_or_fail()

    def call() -> dict[str, Any]:
        from flows.evaluate_results import evaluate_results as flow

        return flow()

    s = _run(settings, call)
    _emit(
        s,
        as_json,
        f"evaluated {s['observations']} results and {s['assessments']} response assessments: "
        f"{s['alerts']} alerts, {s['signature_tasks']} signature tasks, "
        f"{s['signed']} signed, {s['problems']} problems",
    )


def dispatch(
    as_json: Annotated[bool, typer.Option("--json", help="Print the counts as JSON.")] = False,
) -> None:
    """Send the reminders that are ready once (the dispatch_reminders flow)."""
    settings = settings_or_fail()

    def call() -> dict[str, Any]:
        from flows.dispatch_reminders import dispatch_reminders

        stats = dispatch_reminders()
        from carepath.database import get_engine
        from models.repositories.outbox import outbox_counts
        from models.session import transaction

        with transaction(get_engine(settings)) as session:
            stats["outbox"] = outbox_counts(session)
        return stats

    s = _run(settings, call)
    outbox = s["outbox"]
    failed = f"[red]{s['failed']} failed[/]" if s["failed"] else "0 failed"
    _emit(
        s,
        as_json,
        f"sent {s['sent']} reminders, {s['retrying']} to retry, {failed}, {s['skipped']} skipped"
        f"\noutbox: {outbox['pending']} pending, {outbox['sending']} sending, "
        f"{outbox['sent']} sent, {outbox['failed']} failed, {outbox['skipped']} skipped",
    )


def escalate(
    as_json: Annotated[bool, typer.Option("--json", help="Print the counts as JSON.")] = False,
) -> None:
    """Remind about overdue tasks and escalate those past their grace, once."""
    settings = settings_or_fail()

    def call() -> dict[str, Any]:
        from flows.escalate_overdue import escalate_overdue

        return escalate_overdue()

    s = _run(settings, call)
    _emit(
        s,
        as_json,
        f"{s['overdue_reminders']} overdue reminders queued, {s['escalated']} tasks escalated",
    )
