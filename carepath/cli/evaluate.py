"""`carepath evaluate CASE.json`: the pure engine behind a command (CASE-FORMAT.md).

Exit codes: 0 success (the evaluation on stdout); 2 invalid input (a line on
stderr naming the field, one per contradiction when facts contradict each
other, nothing on stdout); 1 an internal error. It touches no database and
starts no server.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from carepath.cli.common import fail, fail_fields


def evaluate(
    case: Annotated[str, typer.Argument(help="Path of a carepath.case/1 file, or - for stdin.")],
    pathway_version: Annotated[
        str | None,
        typer.Option("--pathway-version", help="Evaluate with another definition version."),
    ] = None,
) -> None:
    """Evaluate one case file and print the carepath.evaluation/1 document."""
    from carepath.pathway import active_definition
    from pathways.engine import PatientLimits, evaluation_document, parse_case_text
    from pathways.engine import evaluate as run
    from pathways.errors import CaseFormatError, ContradictoryFacts, DefinitionError

    if case == "-":
        text = sys.stdin.read()
    else:
        path = Path(case)
        if not path.is_file():
            fail(f"case: file {case!r} not found")
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            fail(f"case: cannot be read: {exc}")
    try:
        definition = active_definition(pathway_version)
    except DefinitionError as exc:
        fail(
            str(exc).splitlines()[0]
            if pathway_version is None
            else f"pathway-version: {exc.problems[0]}"
        )
    try:
        facts = parse_case_text(text, labs=definition.labs, limits=PatientLimits.of(definition))
    except CaseFormatError as exc:
        fail_fields(exc.problems)
    except ContradictoryFacts as exc:
        # Every contradiction at once, one line each naming all its fields.
        fail("\ncarepath: error: ".join(str(c) for c in exc.contradictions))
    document = evaluation_document(run(facts, definition))
    sys.stdout.write(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
