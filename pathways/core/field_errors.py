"""Every field error of an input at once, in plain words.

A validator reports what is wrong in its own vocabulary ("Input should be a
valid integer, unable to parse string as an integer", "ensure this value is
less than or equal to 3e+06"); people see ``field_errors``' words instead, one
per field, all fields at once, in the order they were found:

    try:
        Model.model_validate(data)
    except ValidationError as exc:
        problems = field_errors(exc)        # {"patient.weight_kg": "must be more than 0"}

Field paths read like the case file's (``patient.birth_date``,
``labs[2].unit``). The web forms show each message beside its field, the
API lists them in its problem document (``errors``), the command line prints
one line per field. A message never repeats the value, which may be patient
data.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import ValidationError

# Location parts that say where a value came from, not which field it is.
SOURCES = frozenset({"body", "query", "path", "header", "cookie", "form"})


def field_path(loc: Iterable[int | str], *, skip: frozenset[str] = SOURCES) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part in skip and not path:
            continue
        else:
            path += f".{part}" if path else str(part)
    return path


def number(value: Any) -> str:
    """A limit as people write it: 3000000, not 3e+06; 0.5, not 0.5000001."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        value = int(value)
    if isinstance(value, int):
        return str(value)
    return f"{value:.6f}".rstrip("0").rstrip(".")


def _items(ctx: Mapping[str, Any], key: str) -> str:
    return number(ctx.get(key, ""))


def _choices(ctx: Mapping[str, Any]) -> str:
    expected = str(ctx.get("expected", "one of the listed choices"))
    return f"must be {expected}" if "," not in expected else f"must be one of {expected}"


_MESSAGES: dict[str, Any] = {
    "missing": "is required",
    "int_parsing": "must be a whole number",
    "int_type": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_parsing": "must be a number",
    "float_type": "must be a number",
    "decimal_parsing": "must be a number",
    "finite_number": "must be a finite number",
    "bool_parsing": "must be yes or no (true or false)",
    "bool_type": "must be yes or no (true or false)",
    "string_type": "must be text",
    "date_parsing": "must be a date, YYYY-MM-DD",
    "date_type": "must be a date, YYYY-MM-DD",
    "date_from_datetime_parsing": "must be a date, YYYY-MM-DD",
    "date_from_datetime_inexact": "must be a date, YYYY-MM-DD (without a time)",
    "datetime_parsing": "must be a date and time with its UTC offset, e.g. 2026-11-22T08:10-05:00",
    "datetime_type": "must be a date and time with its UTC offset, e.g. 2026-11-22T08:10-05:00",
    "datetime_from_date_parsing": (
        "must be a date and time with its UTC offset, e.g. 2026-11-22T08:10-05:00"
    ),
    "timezone_aware": "must carry a UTC offset, e.g. 2026-11-22T08:10-05:00",
    "time_parsing": "must be a time, HH:MM",
    "list_type": "must be a list",
    "tuple_type": "must be a list",
    "set_type": "must be a list",
    "dict_type": "must be an object of fields",
    "model_type": "must be an object of fields",
    "model_attributes_type": "must be an object of fields",
    "json_invalid": "is not valid JSON",
    "json_type": "is not valid JSON",
    "none_required": "must be left empty",
    "extra_forbidden": "is not a field here",
    "greater_than": lambda c: f"must be more than {_items(c, 'gt')}",
    "greater_than_equal": lambda c: f"must be {_items(c, 'ge')} or more",
    "less_than": lambda c: f"must be less than {_items(c, 'lt')}",
    "less_than_equal": lambda c: f"must be {_items(c, 'le')} or less",
    "string_too_short": lambda c: (
        "must not be empty"
        if c.get("min_length") == 1
        else f"must be at least {c.get('min_length')} characters"
    ),
    "string_too_long": lambda c: f"must be at most {c.get('max_length')} characters",
    "too_short": lambda c: (
        "must not be empty"
        if c.get("min_length") == 1
        else f"must hold at least {c.get('min_length')} items"
    ),
    "too_long": lambda c: f"must hold at most {c.get('max_length')} items",
    "enum": lambda c: _choices(c),
    "literal_error": lambda c: _choices(c),
    "string_pattern_mismatch": "is not in the expected form",
}


def plain(error: Mapping[str, Any], *, unknown_field: str | None = None) -> str:
    """One validator error in plain words (our own ``ValueError`` messages pass through)."""
    kind = str(error.get("type", ""))
    if kind in ("value_error", "assertion_error"):
        message = str(error.get("msg", "is not valid"))
        return message.removeprefix("Value error, ").removeprefix("Assertion failed, ")
    if kind == "extra_forbidden" and unknown_field is not None:
        return unknown_field
    found = _MESSAGES.get(kind)
    if found is None:
        return "is not valid"
    return found(error.get("ctx") or {}) if callable(found) else str(found)


def field_errors(
    exc: ValidationError | Iterable[Mapping[str, Any]],
    *,
    prefix: str = "",
    unknown_field: str | None = None,
    skip: frozenset[str] = SOURCES,
    whole: str = "(input)",
) -> dict[str, str]:
    """Every field's first problem, in plain words, by field path (``prefix`` + path).

    ``whole`` names the input itself, for a problem of no one field.
    """
    errors = exc.errors() if isinstance(exc, ValidationError) else exc
    problems: dict[str, str] = {}
    for error in errors:
        path = field_path(error.get("loc", ()), skip=skip)
        name = f"{prefix}.{path}" if prefix and path else (prefix or path or whole)
        problems.setdefault(name, plain(error, unknown_field=unknown_field))
    return problems
