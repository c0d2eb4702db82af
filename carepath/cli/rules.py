"""`carepath rules`: every rule id of RULES.md as tested, implemented, or not implemented (why)."""

from __future__ import annotations

import json
import re
from collections import Counter
from typing import Annotated

import typer
from rich.table import Table

from carepath.cli.common import console, fail

STATUSES = ("tested", "implemented", "not_implemented", "missing")
STYLES = {"tested": "green", "implemented": "yellow", "not_implemented": "dim", "missing": "red"}
SHOWN_FILES = 3


def _section_key(section: str) -> tuple[int, ...]:
    return tuple(int(part) for part in section.split(".") if part.isdigit())


def _id_key(rule_id: str) -> tuple[str, bool, int, str]:
    """RULES.md order within a section: SM-01..13, then the parallel tracks SM-P1, SM-P2."""
    family, _, rest = rule_id.partition("-")
    number = re.search(r"\d+", rest)
    return family, rest.startswith("P"), int(number.group()) if number else 0, rest


def _short(path: str) -> str:
    """``pathways/definitions/rr-all-adult/2026.1/followup.yaml`` -> ``followup.yaml``."""
    if "/definitions/" in path or path.startswith("tests/"):
        return path.rsplit("/", 1)[-1]
    return path.removeprefix("pathways/")


def _files(paths: tuple[str, ...]) -> str:
    names = list(dict.fromkeys(_short(p) for p in paths))
    text = ", ".join(names[:SHOWN_FILES])
    if len(names) > SHOWN_FILES:
        text += f" +{len(names) - SHOWN_FILES}"
    return text


def rules(
    status: Annotated[
        str | None,
        typer.Option(
            help="Only rules with this status: tested | implemented | not_implemented | missing."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """List every clinical rule id with its implementation and test coverage.

    tested: cited by the engine (pathways/ code or definition data) and named by a
    test; implemented: cited but no test names it; not_implemented: listed with the
    reason in the definition's not-implemented data; missing: none of these.
    """
    from carepath.coverage import coverage
    from carepath.pathway import active_definition

    if status is not None and status not in STATUSES:
        fail(f"status: must be one of {', '.join(STATUSES)}")
    definition = active_definition()
    rows = sorted(coverage(definition), key=lambda r: (_section_key(r.section), _id_key(r.rule_id)))
    shown = [r for r in rows if status is None or r.status == status]
    counts = Counter(r.status for r in rows)
    summary = {s: counts.get(s, 0) for s in STATUSES}
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "pathway": {"name": definition.name, "version": definition.version},
                    "counts": summary,
                    "total": len(rows),
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
    table = Table(
        title=f"Rules of {definition.ref} ({len(shown)} of {len(rows)} shown)",
        title_justify="left",
    )
    table.add_column("Rule", no_wrap=True)
    table.add_column("§", no_wrap=True)
    table.add_column("Status", no_wrap=True)
    table.add_column("Implemented in / why not", overflow="fold", ratio=3)
    table.add_column("Tests", overflow="fold", ratio=2)
    for r in shown:
        if r.status == "not_implemented":
            where, tests = r.reason or "", ""
        else:
            where = _files(r.implemented_in)
            tests = _files(r.tested_in) if r.tested_in else ""
        table.add_row(
            r.rule_id, r.section, f"[{STYLES[r.status]}]{r.status}[/]", where, tests or "-"
        )
    console.print(table)
    console.print(
        "  ".join(f"[{STYLES[s]}]{s}[/]: {n}" for s, n in summary.items())
        + f"  (of {len(rows)} rule ids)"
    )
