"""The `carepath` command (Typer + Rich).

Exit codes: 0 success; 2 invalid input or a refused action (one line on stderr
naming the field); 1 an internal error.
"""

from __future__ import annotations

import sys

import typer

from carepath import logsafe
from carepath.cli.common import SafeArguments
from carepath.cli.db import db_app
from carepath.cli.demo import demo
from carepath.cli.evaluate import evaluate
from carepath.cli.jobs import dispatch, escalate, evaluate_results, plan
from carepath.cli.patients import course_app, patient_app
from carepath.cli.report import report_app
from carepath.cli.rules import rules
from carepath.cli.serve import serve
from carepath.cli.transition import transition
from carepath.cli.users import audit, user_app
from carepath.cli.worker import worker

app = typer.Typer(
    cls=SafeArguments,
    name="carepath",
    help="Care-pathway tracker for adults with relapsed or refractory ALL.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(db_app, name="db")
app.add_typer(patient_app, name="patient")
app.add_typer(course_app, name="course")
app.add_typer(user_app, name="user")
app.add_typer(report_app, name="report")
app.command("transition")(transition)
app.command("demo")(demo)
app.command("serve")(serve)
app.command("audit")(audit)
app.command("plan")(plan)
app.command("evaluate-results")(evaluate_results)
app.command("dispatch")(dispatch)
app.command("escalate")(escalate)
app.command("worker")(worker)
app.command("rules")(rules)
app.command("evaluate")(evaluate)


def main() -> None:
    logsafe.install()  # before anything can log or raise: no exception text reaches stderr
    try:
        app()
    except Exception as exc:  # an internal error (exit 1): its text may hold patient data
        print(f"carepath: internal error: {logsafe.describe(exc)}", file=sys.stderr)
        raise SystemExit(1) from None
