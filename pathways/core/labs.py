"""The lab catalogue: every test the tracker reads, as versioned pathway data.

A definition's ``labs.yaml`` lists each test once: the tracker's code for it
(``total_bilirubin``; LOINC codes and older short names are aliases), its LOINC
code where one exists, the canonical UCUM unit and the other units a
laboratory reports it in with their conversions, the physiologically plausible
range, and the rules that read it. The local reference range is not here but
in the definition's defaults (``lab_reference_uln``, ``lab_reference_lln``,
[DEFAULT] and overridable by ``CAREPATH_POLICY_FILE``), so a clinic's own
ranges are policy, visible and audited, never a code change.

Every door (the web lab form, task completion, the REST API, the case file,
later FHIR and HL7 v2) turns an entered value into a ``Measurement`` through
``LabCatalogue.measure``: the value in the canonical unit beside the value and
unit as entered, or a ``LabValueRefused`` naming each bad part in plain words
("45 /µL is not plausible for platelets (at least 1,000 /µL); did you mean
45 x10³/µL?"). The engine reads upper and lower limits through ``uln_of`` /
``lln_of``: the laboratory's own limit when the result came with one, else the
local reference range, and always says which.

Floor 1 of ``pathways/core``: this module imports nothing else of ``pathways``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

LOINC_SYSTEM = "http://loinc.org"
ULN_SETTING = "lab_reference_uln"
LLN_SETTING = "lab_reference_lln"
SKEW_SETTING = "lab_result_clock_skew_minutes"
LABORATORY = "laboratory"
LOCAL = "local reference range"

_CODE = re.compile(r"^[a-z][a-z0-9_]*$")
_LOINC = re.compile(r"^[0-9]{1,7}-[0-9]$")
# An entered value is echoed in a message only below this size; beyond it the
# message says "this value" rather than print a 300-digit number.
_ECHO_BELOW = 1e9
_SUPERSCRIPTS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹", "0123456789")


class LabValueRefused(ValueError):
    """An entered value refused; ``problems`` maps each bad part (test, value, unit, uln, lln)."""

    def __init__(self, problems: Mapping[str, str]) -> None:
        self.problems = dict(problems)
        super().__init__("; ".join(f"{k}: {v}" for k, v in self.problems.items()))


def normalise_unit(text: str) -> str:
    """One spelling per unit: ``x10⁹/L``, ``X10^9/l`` and ``10*9/L`` all read ``109/l``."""
    t = text.strip().lower().translate(_SUPERSCRIPTS)
    t = t.replace("µ", "u").replace("μ", "u").replace("×", "x")  # noqa: RUF001 (micro, mu, times)
    t = re.sub(r"[\s^*]", "", t)
    return t[1:] if t.startswith("x") and t[1:2].isdigit() else t


def fmt(value: float) -> str:
    """A number as people write it: ``3,000,000``, ``1.2``, ``0.05`` — never ``3e+06``."""
    if not math.isfinite(value):
        return "this value"
    text = f"{value:,.6f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def read_number(raw: Any) -> float:
    """A finite number from what was typed or sent; ``ValueError`` with the plain reason."""
    if isinstance(raw, bool) or raw is None:
        raise ValueError("must be a number")
    if isinstance(raw, int | float):
        number = float(raw)
    else:
        text = str(raw).strip()
        if re.fullmatch(r"-?[0-9]+,[0-9]+", text):
            raise ValueError("must be a number (write decimals with a point, e.g. 1.5)")
        try:
            number = float(Decimal(text))
        except (InvalidOperation, ValueError, OverflowError):
            raise ValueError("must be a number") from None
    if not math.isfinite(number):
        raise ValueError("must be a number")
    return number


@dataclass(frozen=True, slots=True)
class Unit:
    """One unit a test is reported in; ``canonical = entered * multiply / divide``."""

    code: str  # UCUM, e.g. "10*3/uL"
    label: str  # as people read it, e.g. "x10³/µL" with a times sign
    multiply: Decimal = Decimal(1)
    divide: Decimal = Decimal(1)
    aliases: tuple[str, ...] = ()

    def to_canonical(self, value: float) -> float:
        return float(Decimal(repr(value)) * self.multiply / self.divide)

    def from_canonical(self, value: float) -> float:
        return float(Decimal(repr(value)) * self.divide / self.multiply)

    @property
    def spellings(self) -> frozenset[str]:
        return frozenset(normalise_unit(s) for s in (self.code, self.label, *self.aliases))


@dataclass(frozen=True, slots=True)
class Limit:
    """An upper or lower limit of normal, in the canonical unit, and where it came from."""

    value: float
    source: str  # LABORATORY or LOCAL
    setting: str | None = None  # the default it came from, for a local limit
    overridden: bool = False  # set by the institution's policy file

    @property
    def description(self) -> str:
        if self.source == LABORATORY:
            return "the laboratory's own, given with the result"
        policy = "institution policy file" if self.overridden else "local policy [DEFAULT]"
        return f"the local reference range ({self.setting}, {policy})"

    def as_inputs(self, name: str) -> dict[str, Any]:
        entry: dict[str, Any] = {name: self.value, f"{name}_source": self.source}
        if self.setting:
            entry[f"{name}_setting"] = self.setting
        return entry


@dataclass(frozen=True, slots=True)
class LabTest:
    code: str
    label: str  # short, as on a lab report: "ALT", "Total bilirubin"
    display: str  # the LOINC long common name, or a description where no LOINC code exists
    loinc: str | None
    loinc_checked: str  # how the LOINC code was confirmed (or why there is none)
    units: tuple[Unit, ...]  # the first is the canonical unit
    entry_unit: str  # the unit a form offers first
    low: float  # plausible range, canonical unit
    high: float
    # A laboratory reports "0" for an undetectable count even where the smallest
    # non-zero value it reports (``low``) is larger.
    zero_reported: bool = False
    aliases: tuple[str, ...] = ()
    rule_ids: tuple[str, ...] = ()
    uln_rules: tuple[str, ...] = ()  # rules that compare the value against its ULN
    lln_rules: tuple[str, ...] = ()
    uln: Limit | None = None  # the local reference range (defaults)
    lln: Limit | None = None

    @property
    def canonical(self) -> Unit:
        return self.units[0]

    @property
    def noun(self) -> str:
        """The label inside a sentence: "platelets", but "ALT"."""
        if len(self.label) > 1 and self.label[1].isupper():
            return self.label
        return self.label[0].lower() + self.label[1:]

    def unit(self, text: str) -> Unit | None:
        key = normalise_unit(text)
        return next((u for u in self.units if key in u.spellings), None)

    def plausible(self, canonical_value: float) -> bool:
        if canonical_value == 0 and self.zero_reported:
            return True
        return self.low <= canonical_value <= self.high

    def range_text(self, unit: Unit) -> str:
        low, high = fmt(unit.from_canonical(self.low)), fmt(unit.from_canonical(self.high))
        zero = "0, or " if self.zero_reported and self.low > 0 else ""
        return f"{zero}{low} to {high} {unit.label}"


@dataclass(frozen=True, slots=True)
class Measurement:
    """A value as the engine reads it (canonical unit) and as it was entered."""

    test: str
    value: float
    unit: str
    entered_value: float
    entered_unit: str
    uln: float | None = None  # the laboratory's own limits, canonical unit
    lln: float | None = None


@dataclass(frozen=True, slots=True)
class Panel:
    name: str
    title: str
    tests: tuple[str, ...]  # catalogue tests
    other: tuple[str, ...] = ()  # results of the same task that are not numeric lab tests

    @property
    def results(self) -> tuple[str, ...]:
        return self.tests + self.other


@dataclass(frozen=True)
class LabCatalogue:
    tests: Mapping[str, LabTest] = field(default_factory=dict)
    panels: Mapping[str, Panel] = field(default_factory=dict)
    earliest_result: date = date(1900, 1, 1)
    _names: Mapping[str, str] = field(default_factory=dict)  # alias or LOINC -> code

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(self.tests)

    def test(self, name: str) -> LabTest | None:
        """A test by its code, an alias (an older short name) or its LOINC code."""
        text = str(name).strip()
        code = text if text in self.tests else self._names.get(text.lower())
        return None if code is None else self.tests[code]

    def expand(self, names: Iterable[str]) -> tuple[str, ...]:
        """Result names with each panel name replaced by its results, in order, without repeats."""
        return expand_panels(names, {name: p.results for name, p in self.panels.items()})

    def panel_tests(self, name: str) -> tuple[str, ...]:
        panel = self.panels.get(name)
        return () if panel is None else panel.tests

    def uln_of(self, test: str, own: float | None) -> Limit | None:
        """The ULN a rule compares against: the laboratory's own, else the local reference."""
        if own is not None:
            return Limit(own, LABORATORY)
        known = self.tests.get(test)
        return None if known is None else known.uln

    def lln_of(self, test: str, own: float | None) -> Limit | None:
        if own is not None:
            return Limit(own, LABORATORY)
        known = self.tests.get(test)
        return None if known is None else known.lln

    def measure(
        self, test: str, value: Any, unit: Any, *, uln: Any = None, lln: Any = None
    ) -> Measurement:
        """An entered value checked and converted; ``LabValueRefused`` lists every bad part."""
        known = self.test(test)
        if known is None:
            raise LabValueRefused({"test": f"{str(test)[:40]!r} is not a test the tracker knows"})
        problems: dict[str, str] = {}
        chosen = None if unit is None or str(unit).strip() == "" else known.unit(str(unit))
        if chosen is None:
            choices = ", ".join(u.label for u in known.units)
            problems["unit"] = (
                f"choose the unit of {known.noun}: {choices}"
                if unit is None or str(unit).strip() == ""
                else f"{str(unit)[:20]!r} is not a unit of {known.noun} (use {choices})"
            )
        number = _value(problems, "value", value, known)
        limits = {
            name: _value(problems, name, raw, known, limit=True)
            for name, raw in (("uln", uln), ("lln", lln))
            if raw is not None and str(raw).strip() != ""
        }
        if chosen is not None and number is not None:
            problems.update(_implausible(known, number, chosen))
        canonical: dict[str, float] = {}
        for name, entered in limits.items():
            if entered is None or chosen is None:
                continue
            if 0 < chosen.to_canonical(entered) <= known.high:
                canonical[name] = chosen.to_canonical(entered)
            else:
                highest = fmt(chosen.from_canonical(known.high))
                problems[name] = (
                    f"{_shown(entered)} {chosen.label} is not a plausible limit of normal for "
                    f"{known.noun} (above 0, at most {highest} {chosen.label})"
                )
        if "uln" in canonical and "lln" in canonical and canonical["lln"] >= canonical["uln"]:
            problems["lln"] = "must be below the upper limit of normal"
        if problems or chosen is None or number is None:
            raise LabValueRefused(problems)
        return Measurement(
            test=known.code,
            value=chosen.to_canonical(number),
            unit=known.canonical.code,
            entered_value=number,
            entered_unit=chosen.code,
            uln=canonical.get("uln"),
            lln=canonical.get("lln"),
        )

    def result_time_problem(
        self, at: datetime, *, now: datetime | None, skew: timedelta = timedelta(0)
    ) -> str | None:
        """Why a result time cannot be right, or None: no zone, before 1900, in the future.

        ``now`` is the clinic's clock; without one (a case file reasons "as of" a date and
        ignores later results) only the zone and the earliest date are checked.
        """
        if at.tzinfo is None or at.utcoffset() is None:
            return "must carry a time zone offset"
        if at.date() < self.earliest_result:
            return f"is before {self.earliest_result.year}: not a plausible result time"
        if now is not None and at > now + skew:
            minutes = fmt(skew.total_seconds() / 60)
            return f"is in the future (more than {minutes} minutes ahead of the clinic's clock)"
        return None


def _shown(number: float) -> str:
    return fmt(number) if abs(number) < _ECHO_BELOW else "this value"


def _value(
    problems: dict[str, str], name: str, raw: Any, test: LabTest, *, limit: bool = False
) -> float | None:
    try:
        number = read_number(raw)
    except ValueError as exc:
        problems[name] = str(exc)
        return None
    if number < 0:
        what = "a limit of normal" if limit else test.noun
        problems[name] = f"cannot be negative ({what} is never below 0)"
        return None
    return number


def _implausible(test: LabTest, number: float, unit: Unit) -> dict[str, str]:
    canonical = unit.to_canonical(number)
    if test.plausible(canonical):
        return {}
    shown = f"{fmt(number)} {unit.label}" if abs(number) < _ECHO_BELOW else "This value"
    bound = (
        f"at least {fmt(unit.from_canonical(test.low))}"
        if canonical < test.low
        else f"at most {fmt(unit.from_canonical(test.high))}"
    )
    message = f"{shown} is not plausible for {test.noun} ({bound} {unit.label})"
    slip = next(
        (u for u in test.units if u is not unit and test.plausible(u.to_canonical(number))), None
    )
    if slip is not None and abs(number) < _ECHO_BELOW:
        message += f"; did you mean {fmt(number)} {slip.label}?"
    return {"value": message}


def raw_panels(raw: Any) -> dict[str, tuple[str, ...]]:
    """Panel name -> results of a labs section not yet compiled (for checks of other sections)."""
    panels = raw.get("panels") if isinstance(raw, dict) else None
    out: dict[str, tuple[str, ...]] = {}
    for name, spec in (panels or {}).items() if isinstance(panels, dict) else ():
        if isinstance(spec, dict):
            members = [*(spec.get("tests") or []), *(spec.get("other") or [])]
            out[str(name)] = tuple(str(m) for m in members)
    return out


def expand_panels(names: Iterable[str], panels: Mapping[str, Iterable[str]]) -> tuple[str, ...]:
    """Names with each panel name replaced by its results, in order, without repeats."""
    out: list[str] = []
    for name in names:
        for part in panels.get(name, (name,)):
            if part not in out:
                out.append(part)
    return tuple(out)


# --------------------------------------------------------------------------- reading labs.yaml

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
    units = [
        u
        for i, spec in enumerate(raw.get("units") or [])
        if (u := _unit(f"{where}.units[{i}]", spec, problems)) is not None
    ]
    if not units:
        problems.append(f"{where}.units: needs at least the canonical unit")
        return None
    if units[0].multiply != 1 or units[0].divide != 1:
        problems.append(f"{where}.units[0]: the canonical unit (first) converts by 1")
    seen: dict[str, str] = {}
    for unit in units:
        for spelling in unit.spellings:
            if seen.setdefault(spelling, unit.code) != unit.code:
                problems.append(f"{where}.units: {spelling!r} would name two units")
    entry_unit = raw.get("entry_unit", units[0].code)
    if entry_unit not in {u.code for u in units}:
        problems.append(f"{where}.entry_unit: {entry_unit!r} is not one of its units")
    plausible = raw.get("plausible")
    low = high = None
    if isinstance(plausible, dict) and set(plausible) == {"low", "high"}:
        low = _finite(f"{where}.plausible.low", plausible["low"], problems)
        high = _finite(f"{where}.plausible.high", plausible["high"], problems)
    else:
        problems.append(f"{where}.plausible: needs low and high, in the canonical unit")
    if low is not None and high is not None and not 0 <= low < high:
        problems.append(f"{where}.plausible: needs 0 <= low < high")
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
