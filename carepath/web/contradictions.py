"""Contradictions shown on a form: each message beside every field of the form it names.

``pathways.consistency`` names fields by their case-file path
(``response_assessment.circulating_blasts``); a form names them by its own
inputs. A contradiction none of whose fields is on the form (``as_of``, a fact
the form does not edit) is shown at the top of the form.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from pathways.errors import ContradictoryFacts

FORM_LEVEL = "_form"


def form_problems(
    exc: ContradictoryFacts, fields: Iterable[str], rename: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Field -> message for a form with ``fields``; ``rename`` maps a case path to a form field."""
    names = set(fields)
    renamed = rename or {}
    problems: dict[str, str] = {}
    unplaced: list[str] = []
    for found in exc.contradictions:
        placed = False
        for path in found.fields:
            name = renamed.get(path, path.rsplit(".", 1)[-1])
            if name in names:
                problems.setdefault(name, found.message)
                placed = True
        if not placed:
            unplaced.append(found.message)
    if unplaced:
        problems[FORM_LEVEL] = "; ".join(unplaced)
    return problems
