"""When a template's occurrences fall: one of day, days, span, months, every or next_cycle.

Each timing key of ``templates.TIMING_KEYS`` has its own check; a window
anchor (``WINDOW_ANCHORS``) gives the window itself and takes none.
"""

from __future__ import annotations

from typing import Any

from pathways.schedules.compile_base import MAX_OCCURRENCES, CompilerBase
from pathways.schedules.templates import REPEAT_KEYS, TIMING_KEYS, WINDOW_ANCHORS, Timing


class TimingChecks(CompilerBase):
    def _timing(
        self, where: str, raw: dict[str, Any], anchor: str | None, used: list[str]
    ) -> Timing | None:
        given = [key for key in TIMING_KEYS if key in raw]
        if anchor in WINDOW_ANCHORS:
            if given:
                self.problems.append(f"{where}: anchor {anchor} gives the window; remove {given}")
                return None
            return Timing("given")
        if not given:
            self.problems.append(
                f"{where}: task has no window (give day, days, every, span or months)"
            )
            return None
        if len(given) > 1:
            self.problems.append(
                f"{where}: give only one of day, days, every, span, months (got {given})"
            )
            return None
        extra = [key for key in REPEAT_KEYS if key in raw]
        if given[0] != "every" and extra:
            self.problems.append(f"{where}: {extra} only go with every")
        key = given[0]
        if key == "next_cycle":
            if raw["next_cycle"] is not True or anchor != "cycle_day":
                self.problems.append(f"{where}: next_cycle is true, on the cycle_day anchor")
                return None
            return Timing("next_cycle")
        if key == "day":
            day = self._day(f"{where}.day", raw["day"], anchor, used)
            return None if day is None else Timing("points", days=(day,))
        checks = {"days": self._days, "span": self._span, "months": self._months}
        if key in checks:
            return checks[key](where, raw[key], anchor, used)
        return self._every(where, raw, anchor, used)

    def _days(self, where: str, items: Any, anchor: str | None, used: list[str]) -> Timing | None:
        if not isinstance(items, list) or not items:
            self.problems.append(f"{where}.days: must be a non-empty list")
            return None
        days = [self._day(f"{where}.days", item, anchor, used) for item in items]
        if any(d is None for d in days):
            return None
        clean = tuple(d for d in days if d is not None)
        if len(set(clean)) != len(clean) or list(clean) != sorted(clean):
            self.problems.append(f"{where}.days: must be increasing without repeats")
            return None
        return Timing("points", days=clean)

    def _span(self, where: str, items: Any, anchor: str | None, used: list[str]) -> Timing | None:
        if not isinstance(items, list) or len(items) != 2:
            self.problems.append(f"{where}.span: must be [first day, last day]")
            return None
        first = self._day(f"{where}.span", items[0], anchor, used)
        last = self._day(f"{where}.span", items[1], anchor, used)
        if first is None or last is None:
            return None
        if first > last:
            self.problems.append(f"{where}.span: invalid day range {first}..{last}")
            return None
        return Timing("span", span=(first, last))

    def _months(self, where: str, spec: Any, anchor: str | None, used: list[str]) -> Timing | None:
        if (
            not isinstance(spec, dict)
            or set(spec) - {"every", "after", "through"}
            or "every" not in spec
        ):
            self.problems.append(f"{where}.months: needs every, optional after and through")
            return None
        every = self.number(f"{where}.months.every", spec["every"], used, minimum=1)
        after = self.number(f"{where}.months.after", spec.get("after", 0), used, minimum=0)
        through = None
        if "through" in spec:
            through = self.number(f"{where}.months.through", spec["through"], used, minimum=1)
        if every is None or after is None or ("through" in spec and through is None):
            return None
        if through is not None and through < after + every:
            self.problems.append(
                f"{where}.months: invalid range (through {through} before the first month)"
            )
            return None
        return Timing("months", every=every, month_after=after, month_through=through)

    def _every(
        self, where: str, raw: dict[str, Any], anchor: str | None, used: list[str]
    ) -> Timing | None:
        every = self.number(f"{where}.every", raw["every"], used, minimum=1)
        if ("from" in raw) == ("after" in raw):
            self.problems.append(f"{where}: every needs exactly one of from or after")
            return None
        if "from" in raw:
            first = self._day(f"{where}.from", raw["from"], anchor, used)
        else:
            after = self._day(f"{where}.after", raw["after"], anchor, used)
            first = None if after is None or every is None else after + every
        bounds = [k for k in ("to", "count", "through_months") if k in raw]
        if len(bounds) > 1:
            self.problems.append(f"{where}: give at most one of to, count, through_months")
            return None
        if every is None or first is None:
            return None
        if "to" in raw:
            return self._every_to(where, raw["to"], anchor, used, first, every)
        if "count" in raw:
            return self._every_count(where, raw["count"], used, first, every)
        through = None
        if "through_months" in raw:
            through = self.number(f"{where}.through_months", raw["through_months"], used, minimum=1)
            if through is None:
                return None
        return Timing("repeat", every=every, first=first, through_months=through)

    def _every_to(
        self, where: str, raw: Any, anchor: str | None, used: list[str], first: int, every: int
    ) -> Timing | None:
        last = self._day(f"{where}.to", raw, anchor, used)
        if last is None:
            return None
        if last < first:
            self.problems.append(f"{where}: invalid day range {first}..{last}")
            return None
        if (last - first) // every >= MAX_OCCURRENCES:
            self.problems.append(f"{where}: more than {MAX_OCCURRENCES} occurrences")
            return None
        return Timing("points", days=tuple(range(first, last + 1, every)))

    def _every_count(
        self, where: str, raw: Any, used: list[str], first: int, every: int
    ) -> Timing | None:
        count = self.number(f"{where}.count", raw, used, minimum=1)
        if count is None:
            return None
        if count > MAX_OCCURRENCES:
            self.problems.append(f"{where}: more than {MAX_OCCURRENCES} occurrences")
            return None
        return Timing("points", days=tuple(first + every * k for k in range(count)))
