"""The JSON door of the whole app: a request body whose numbers are not finite is refused.

Python's JSON parser (and so FastAPI's) accepts ``NaN``, ``Infinity`` and
numbers too large for a float (``1e999`` becomes infinity); none is a JSON
number (RFC 8259), none is a value a clinic measures, and a stored NaN comes
back as ``null``. ``carepath.web.guard.InputGuard`` reads every body once and
asks ``json_problems`` for these fields beside the unsafe strings, answering
422 with a problem document naming every one; malformed JSON is the route's
to report.
"""

from __future__ import annotations

import json
import math
from typing import Any


class _NotFinite:
    """Stands where the body had a number that is not finite."""


NOT_FINITE = _NotFinite()
PROBLEM = "must be a finite number (not NaN, not Infinity, not too large to store)"


def _number(literal: str) -> float | _NotFinite:
    value = float(literal)
    return value if math.isfinite(value) else NOT_FINITE


def parse(body: bytes) -> Any:
    """The body as JSON, each number that is not finite replaced by ``NOT_FINITE``.

    Raises ``ValueError`` (or ``UnicodeDecodeError``) when the body is not JSON.
    """
    return json.loads(body, parse_constant=lambda _: NOT_FINITE, parse_float=_number)


def not_finite_fields(parsed: Any) -> dict[str, str]:
    """Each field (``labs.0.value``) of a parsed body whose number is not finite, with the problem."""
    found: dict[str, str] = {}

    def walk(value: Any, path: list[str]) -> None:
        if value is NOT_FINITE:
            found[".".join(path) or "body"] = PROBLEM
        elif isinstance(value, dict):
            for key, item in value.items():
                walk(item, [*path, str(key)])
        elif isinstance(value, list):
            for index, item in enumerate(value):
                walk(item, [*path, str(index)])

    walk(parsed, [])
    return found
