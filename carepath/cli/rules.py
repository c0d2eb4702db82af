"""`carepath rules`: every rule id of RULES.md as tested, implemented, or not implemented (why)."""

from __future__ import annotations

import json
from collections import Counter
from typing import Annotated

import typer
from rich.table import Table

from carepath.cli.common import console, fail


def rules(
    status: Annotated[
        str | None,
        typer.Option(
            help="Only rules with this status: tested | implemented | not_implemented | missing."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """List every clinical rule id with its implementation and test coverage."""
    from carepath.coverage import coverage
    from carepath.pathway import active_definition

    statuses = ("tested", "implemented", "not_implemented", "missing")
    if status is not None and status not in statuses:
        fail(f"status: must be one of {', '.join(statuses)}")
    definition = active_definition()
    rows = coverage(definition)
    shown = [r for r in rows if status is None or r.status == status]
    counts = Counter(r.status for r in rows)
    if as_json:
        print(
            json.dumps(
                {
                    "pathway": {"name": definition.name, "version": definition.version},
                    "counts": {s: counts.get(s, 0) for s in statuses},
                    "rules": [
                        {
                            "id": r.rule_id,
                            "section": r.section,
                            "status": r.status,
                            "implemented_in": list(r.implemented_in),
                            "tested_in": list(r.tested_in),
                            "reason": r.reason,
                        }
                        for r in shown
                    ],
                },
                indent=2,
            )
        )
        return
    table = Table(title=f"Rules of {definition.ref}", title_justify="left")
    for column in ("Rule", "§", "Status", "Where / why"):
        table.add_column(column, overflow="fold")
    styles = {
        "tested": "green",
        "implemented": "yellow",
        "not_implemented": "dim",
        "missing": "red",
    }
    for r in shown:
        detail = r.reason if r.status == "not_implemented" else ", ".join(r.implemented_in[:3])
        table.add_row(r.rule_id, r.section, f"[{styles[r.status]}]{r.status}[/]", detail or "")
    console.print(table)
    console.print(
        "  ".join(f"{s}: {counts.get(s, 0)}" for s in statuses) + f"  (of {len(rows)} rule ids)"
    )
