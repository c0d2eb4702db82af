"""Reading a definition's ``labs.yaml`` into a ``LabCatalogue``, every problem at once.

The loader (``pathways.definition``) calls ``parse_catalogue`` with the local
reference range as the definition's defaults give it (after the institution's
policy file): a test a x ULN rule reads must have an upper limit, a limit must
be plausible, and every unit, alias and panel must be unambiguous.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from pathways.core.labs import (
    LLN_SETTING,
    LOCAL,
    ULN_SETTING,
    LabCatalogue,
    LabTest,
    Limit,
    Panel,
    Unit,
    fmt,
)

_CODE = re.compile(r"^[a-z][a-z0-9_]*$")
_LOINC = re.compile(r"^[0-9]{1,7}-[0-9]$")
_TEST_KEYS = frozenset(
    {
        "label",
        "display",
        "loinc",
        "loinc_checked",
        "units",
        "entry_unit",
        "plausible",
        "zero_reported",
        "aliases",
        "rules",
        "uln_rules",
        "lln_rules",
    }
)
_UNIT_KEYS = frozenset({"code", "label", "multiply", "divide", "aliases"})


@dataclass(frozen=True, slots=True)
class References:
    """The local reference range, as the definition's defaults give it (after any override)."""

    uln: Mapping[str, Any] = field(default_factory=dict)
    lln: Mapping[str, Any] = field(default_factory=dict)
    uln_overridden: bool = False
    lln_overridden: bool = False


def parse_catalogue(
    raw: Any, references: References, known_rules: frozenset[str], problems: list[str]
) -> LabCatalogue:
    """The ``labs`` section of a definition; every problem found is appended to ``problems``."""
    if not isinstance(raw, dict) or not isinstance(raw.get("tests"), dict) or not raw["tests"]:
        problems.append("labs: needs a mapping 'tests' of at least one test")
        return LabCatalogue()
    unknown = set(raw) - {"tests", "panels", "earliest_result"}
    if unknown:
        problems.append(f"labs: unknown keys {sorted(unknown)}")
    tests: dict[str, LabTest] = {}
    for code, entry in raw["tests"].items():
        test = _test(f"labs.tests.{code}", str(code), entry, known_rules, problems)
        if test is not None:
            tests[test.code] = test
    tests = _with_references(tests, references, problems)
    names: dict[str, str] = {}
    for test in tests.values():
        for alias in (*test.aliases, *((test.loinc,) if test.loinc else ())):
            key = alias.lower()
            if key in tests or names.get(key, test.code) != test.code:
                problems.append(f"labs.tests.{test.code}: alias {alias!r} names another test too")
            names[key] = test.code
    earliest = raw.get("earliest_result", date(1900, 1, 1))
    if not isinstance(earliest, date):
        problems.append("labs.earliest_result: must be a date (YYYY-MM-DD)")
        earliest = date(1900, 1, 1)
    return LabCatalogue(
        tests=tests,
        panels=_panels(raw.get("panels"), tests, problems),
        earliest_result=earliest,
        _names=names,
    )


def _number(where: str, raw: Any, problems: list[str]) -> Decimal | None:
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        problems.append(f"{where}: must be a number")
        return None
    try:
        value = Decimal(str(raw))
    except InvalidOperation:
        problems.append(f"{where}: must be a number")
        return None
    if not value.is_finite() or value <= 0:
        problems.append(f"{where}: must be a number above 0")
        return None
    return value


def _unit(where: str, raw: Any, problems: list[str]) -> Unit | None:
    if not isinstance(raw, dict) or not raw.get("code") or not raw.get("label"):
        problems.append(f"{where}: a unit needs a code (UCUM) and a label")
        return None
    if set(raw) - _UNIT_KEYS:
        problems.append(f"{where}: unknown keys {sorted(set(raw) - _UNIT_KEYS)}")
    multiply = _number(f"{where}.multiply", raw.get("multiply", 1), problems)
    divide = _number(f"{where}.divide", raw.get("divide", 1), problems)
    aliases = raw.get("aliases") or []
    if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
        problems.append(f"{where}.aliases: must be a list of spellings")
        aliases = []
    return Unit(
        code=str(raw["code"]),
        label=str(raw["label"]),
        multiply=multiply or Decimal(1),
        divide=divide or Decimal(1),
        aliases=tuple(aliases),
    )


def _rules(where: str, raw: Any, known: frozenset[str], problems: list[str]) -> tuple[str, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list) or not all(isinstance(r, str) for r in raw):
        problems.append(f"{where}: must be a list of rule ids")
        return ()
    for rule in raw:
        if rule not in known:
            problems.append(f"{where}: unknown rule id {rule!r}")
    return tuple(raw)


def _test(
    where: str, code: str, raw: Any, known: frozenset[str], problems: list[str]
) -> LabTest | None:
    if not _CODE.match(code) or not isinstance(raw, dict):
        problems.append(f"{where}: a test is a snake_case code with a mapping of its fields")
        return None
    if set(raw) - _TEST_KEYS:
        problems.append(f"{where}: unknown keys {sorted(set(raw) - _TEST_KEYS)}")
    for key in ("label", "display", "loinc_checked"):
        if not isinstance(raw.get(key), str) or not raw[key].strip():
            problems.append(f"{where}.{key}: required text")
    loinc = raw.get("loinc")
    if loinc is not None and not (isinstance(loinc, str) and _LOINC.match(loinc)):
        problems.append(f"{where}.loinc: must be a LOINC code such as 1742-6, or null")
        loinc = None
    units = _units(where, raw.get("units"), problems)
    if not units:
        return None
    entry_unit = raw.get("entry_unit", units[0].code)
    if entry_unit not in {u.code for u in units}:
        problems.append(f"{where}.entry_unit: {entry_unit!r} is not one of its units")
    low, high = _plausible(where, raw.get("plausible"), problems)
    aliases = raw.get("aliases") or []
    if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
        problems.append(f"{where}.aliases: must be a list of names")
        aliases = []
    rules = _rules(f"{where}.rules", raw.get("rules"), known, problems)
    if not rules:
        problems.append(f"{where}.rules: name the rules that read this test")
    return LabTest(
        code=code,
        label=str(raw.get("label", code)),
        display=str(raw.get("display", "")),
        loinc=loinc,
        loinc_checked=str(raw.get("loinc_checked", "")),
        units=tuple(units),
        entry_unit=str(entry_unit),
        low=low if low is not None else 0.0,
        high=high if high is not None else math.inf,
        zero_reported=bool(raw.get("zero_reported", False)),
        aliases=tuple(aliases),
        rule_ids=rules,
        uln_rules=_rules(f"{where}.uln_rules", raw.get("uln_rules"), known, problems),
        lln_rules=_rules(f"{where}.lln_rules", raw.get("lln_rules"), known, problems),
    )


def _units(where: str, raw: Any, problems: list[str]) -> list[Unit]:
    """A test's units, canonical first, no spelling naming two; empty is a problem."""
    units = [
        u
        for i, spec in enumerate(raw or [])
        if (u := _unit(f"{where}.units[{i}]", spec, problems)) is not None
    ]
    if not units:
        problems.append(f"{where}.units: needs at least the canonical unit")
        return units
    if units[0].multiply != 1 or units[0].divide != 1:
        problems.append(f"{where}.units[0]: the canonical unit (first) converts by 1")
    seen: dict[str, str] = {}
    for unit in units:
        for spelling in unit.spellings:
            if seen.setdefault(spelling, unit.code) != unit.code:
                problems.append(f"{where}.units: {spelling!r} would name two units")
    return units


def _plausible(
    where: str, plausible: Any, problems: list[str]
) -> tuple[float | None, float | None]:
    low = high = None
    if isinstance(plausible, dict) and set(plausible) == {"low", "high"}:
        low = _finite(f"{where}.plausible.low", plausible["low"], problems)
        high = _finite(f"{where}.plausible.high", plausible["high"], problems)
    else:
        problems.append(f"{where}.plausible: needs low and high, in the canonical unit")
    if low is not None and high is not None and not 0 <= low < high:
        problems.append(f"{where}.plausible: needs 0 <= low < high")
    return low, high


def _finite(where: str, raw: Any, problems: list[str]) -> float | None:
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not math.isfinite(raw):
        problems.append(f"{where}: must be a number")
        return None
    return float(raw)


def _with_references(
    tests: dict[str, LabTest], refs: References, problems: list[str]
) -> dict[str, LabTest]:
    out = dict(tests)
    for setting, values, overridden, side in (
        (ULN_SETTING, refs.uln, refs.uln_overridden, "uln"),
        (LLN_SETTING, refs.lln, refs.lln_overridden, "lln"),
    ):
        if not isinstance(values, Mapping):
            problems.append(f"defaults.{setting}: must map each test to its limit")
            continue
        for code, raw in values.items():
            test = out.get(str(code))
            where = f"defaults.{setting}.{code}"
            if test is None:
                problems.append(f"{where}: not a test of the lab catalogue")
                continue
            value = _finite(where, raw, problems)
            if value is None:
                continue
            if not 0 < value <= test.high:
                problems.append(
                    f"{where}: {fmt(value)} {test.canonical.label} is not a plausible limit "
                    f"(above 0, at most {fmt(test.high)})"
                )
                continue
            limit = Limit(value, LOCAL, setting=setting, overridden=overridden)
            out[test.code] = replace(test, uln=limit) if side == "uln" else replace(test, lln=limit)
    for test in out.values():
        if test.uln_rules and test.uln is None:
            problems.append(
                f"defaults.{ULN_SETTING}: no upper limit for {test.code}, which "
                f"{', '.join(test.uln_rules)} compare against (a ULN is never silently missing)"
            )
        if test.lln_rules and test.lln is None:
            problems.append(
                f"defaults.{LLN_SETTING}: no lower limit for {test.code}, which "
                f"{', '.join(test.lln_rules)} compare against"
            )
        if test.uln and test.lln and test.lln.value >= test.uln.value:
            problems.append(f"defaults.{LLN_SETTING}.{test.code}: must be below its ULN")
    return out


def _panels(raw: Any, tests: Mapping[str, LabTest], problems: list[str]) -> dict[str, Panel]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        problems.append("labs.panels: must map each panel name to its tests")
        return {}
    panels: dict[str, Panel] = {}
    for name, spec in raw.items():
        where = f"labs.panels.{name}"
        if not _CODE.match(str(name)) or not isinstance(spec, dict) or not spec.get("title"):
            problems.append(f"{where}: a panel is a snake_case name with a title and its tests")
            continue
        if set(spec) - {"title", "tests", "other"}:
            problems.append(
                f"{where}: unknown keys {sorted(set(spec) - {'title', 'tests', 'other'})}"
            )
        members = {}
        for key in ("tests", "other"):
            value = spec.get(key) or []
            if not isinstance(value, list) or not all(
                isinstance(v, str) and _CODE.match(v) for v in value
            ):
                problems.append(f"{where}.{key}: must be a list of snake_case names")
                value = []
            members[key] = tuple(value)
        for code in members["tests"]:
            if code not in tests:
                problems.append(f"{where}.tests: {code!r} is not a test of the catalogue")
        for code in members["other"]:
            if code in tests:
                problems.append(f"{where}.other: {code!r} is a catalogue test; list it in tests")
        if not members["tests"] and not members["other"]:
            problems.append(f"{where}: needs at least one result")
        if str(name) in tests and members["tests"] + members["other"] != (str(name),):
            problems.append(f"{where}: a panel named after a test holds only that test")
        panels[str(name)] = Panel(str(name), str(spec["title"]), members["tests"], members["other"])
    return panels
