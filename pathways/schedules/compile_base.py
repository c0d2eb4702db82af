"""What every part of the template compiler shares: its inputs, its problems, plain values.

``Compiler`` (``compiler``) is this base with the timing checks
(``compile_timing``) and the dose checks (``compile_doses``) mixed in; each
appends to the same ``problems`` list, so the loader reports them together.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pathways.schedules.templates import ANCHOR_BASE

# A bounded template expands to at most this many occurrences (a typo such as
# ``to: 100000`` is refused instead of planned); open-ended repeats are bounded
# by the planning horizon instead.
MAX_OCCURRENCES = 500


@dataclass
class CompilerBase:
    """Checks and compiles template sections; every problem goes to ``problems``."""

    rule_ids: frozenset[str]
    values: Mapping[str, Any]
    citations: Mapping[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    # The panels of the lab catalogue (labs.yaml) and their results: a lab_panel task
    # names one, and result_fields may (compiled to the panel's results).
    lab_panels: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    # -- values ---------------------------------------------------------------

    def number(
        self,
        where: str,
        raw: Any,
        used: list[str],
        *,
        integer: bool = True,
        minimum: float | None = None,
    ) -> Any:
        value = raw
        if isinstance(raw, dict):
            name = raw.get("default")
            if set(raw) != {"default"} or not is_in(name, self.values):
                self.problems.append(f"{where}: unknown default {name!r}")
                return None
            used.append(str(name))
            value = self.values[str(name)]
            where = f"{where} (default {name})"
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.problems.append(f"{where}: expected a number, got {value!r}")
            return None
        if integer and not isinstance(value, int):
            self.problems.append(f"{where}: expected a whole number, got {value!r}")
            return None
        if minimum is not None and value < minimum:
            self.problems.append(f"{where}: must be >= {minimum:g}, got {value!r}")
            return None
        return value

    def rules(self, where: str, ids: Any) -> bool:
        if not isinstance(ids, list | tuple) or not ids:
            self.problems.append(f"{where}: needs a non-empty list of rule ids")
            return False
        ok = True
        for rule_id in ids:
            if not is_in(rule_id, self.rule_ids):
                self.problems.append(f"{where}: unknown rule id {rule_id!r}")
                ok = False
        return ok

    def names(self, where: str, raw: Any, known: Iterable[str], what: str) -> tuple[str, ...]:
        if raw is None:
            return ()
        if not isinstance(raw, list) or not all(isinstance(x, str) for x in raw):
            self.problems.append(f"{where}: must be a list of {what}s")
            return ()
        known_set = frozenset(known)
        for name in raw:
            if name not in known_set:
                self.problems.append(f"{where}: unknown {what} {name!r}")
        return tuple(raw)

    def _day(self, where: str, raw: Any, anchor: str | None, used: list[str]) -> int | None:
        value = self.number(where, raw, used)
        if value is None or anchor is None:
            return value  # type: ignore[no-any-return]
        base = ANCHOR_BASE.get(anchor, 0)
        if anchor == "infusion_day":
            return int(value)
        if value < base:
            what = "day 1 is the first day" if base == 1 else "day 0 is the anchor date"
            self.problems.append(
                f"{where}: invalid day {value} for anchor {anchor} ({what}; use before_days for earlier days)"
            )
            return None
        return int(value)


def is_in(value: Any, names: Any) -> bool:
    """Membership that refuses, rather than crashes on, a malformed (unhashable) value."""
    return isinstance(value, str) and value in names


def enum_of(kind: Any, value: Any) -> Any:
    if not isinstance(value, str):
        return None
    try:
        return kind(value)
    except ValueError:
        return None
