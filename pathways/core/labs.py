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

``labs_file`` reads ``labs.yaml`` into a catalogue. Floor 1 of ``pathways/core``:
neither imports anything else of ``pathways``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

LOINC_SYSTEM = "http://loinc.org"
ULN_SETTING = "lab_reference_uln"
LLN_SETTING = "lab_reference_lln"
SKEW_SETTING = "lab_result_clock_skew_minutes"
LABORATORY = "laboratory"
LOCAL = "local reference range"

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

    @property
    def names(self) -> frozenset[str]:
        """Every name a test is known by: codes, aliases and LOINC codes (lower case)."""
        return frozenset(self.tests) | frozenset(self._names)

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
