"""Where a template's days count from, and the occurrences of repeats and month series.

An ``Anchor`` is one resolved day 0 (a course's cycle day 1, its pre-phase,
the signed response, the fitness assessment...), with the scope and prefix of
the task keys planned on it (``planner`` documents the key shape).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import date

from pathways.facts import Course
from pathways.schedules.context import (
    INDUCTION_COURSE_PHASES,
    first_treatment_day,
    prephase_start,
)
from pathways.schedules.tasks import add_months
from pathways.schedules.templates import Regimen, Template
from pathways.vocab import CoursePhase

# How a task names the dated anchor it counts from (detail "anchor_fallback").
FALLBACK_WORDS = {
    "fitness": "the fitness assessment date (FIT)",
    "response": "the signed response date (RESP)",
    "last_dose": "the last dose date",
    "dx": "the r/r diagnosis date (DX)",
}


class Anchor:
    """One resolved anchor: day 0 as an ordinal, the key scope and the occurrence prefix."""

    __slots__ = ("course", "day0", "fallback_of", "iso", "prefix", "regimen", "scope", "start")

    def __init__(
        self,
        start: date,
        base: int,
        scope: str,
        prefix: str,
        regimen: Regimen | None = None,
        course: Course | None = None,
    ) -> None:
        self.start = start
        self.iso = start.isoformat()
        self.day0 = start.toordinal() - base
        self.scope = scope
        self.prefix = prefix
        self.regimen = regimen
        self.course = course
        # The anchor a template asked for, when this one stands in for it (``fallback``).
        self.fallback_of: str | None = None


def course_anchor(name: str, course: Course, regimen: Regimen | None) -> Anchor | None:
    """A course-bound anchor of the course in progress (None: not on this course or cycle)."""
    scope = course.key
    cycle_prefix = f"c{course.cycle}:"
    if name == "cycle_day":
        return Anchor(course.cycle_start, 1, scope, cycle_prefix, regimen, course)
    if name == "infusion_day":
        return Anchor(course.cycle_start, 0, scope, cycle_prefix, regimen, course)
    if name == "prephase_day":
        p1 = prephase_start(course)
        if p1 is None or course.cycle != 1:
            return None
        return Anchor(p1, 1, scope, "p:", regimen, course)
    if name == "induction_day":
        if course.cycle != 1 or course.phase not in INDUCTION_COURSE_PHASES:
            return None
        return Anchor(first_treatment_day(course), 1, scope, "i:", regimen, course)
    if name == "maintenance_day":
        if regimen is None or regimen.maintenance_interval_days is None:
            return None
        if course.phase is not CoursePhase.MAINTENANCE:
            return None
        first = date.fromordinal(
            course.cycle_start.toordinal() - (course.cycle - 1) * regimen.maintenance_interval_days
        )
        return Anchor(first, 1, scope, "m:", regimen, course)
    return None


def occurrences(
    t: Template, anchor: Anchor, h0: int, h1: int, horizon_start: date
) -> Iterator[tuple[int | None, int | None, int]]:
    """(day, month, occurrence ordinal) of an open-ended repeat or a month series, near the horizon.

    Fixed days and spans are expanded by the planner (``Planner.emit_on``) itself.
    """
    timing = t.timing
    day0 = anchor.day0
    mode = timing.mode
    if mode == "repeat":
        every, first = timing.every, timing.first
        low = h0 - t.after_days - (day0 + first)
        k = max(0, math.ceil(low / every))
        high = h1 + t.before_days
        limit = None
        if timing.through_months is not None:
            limit = add_months(anchor.start, timing.through_months).toordinal()
        while True:
            d = first + k * every
            occ = day0 + d
            if occ > high or (limit is not None and occ >= limit):
                return
            yield d, None, occ
            k += 1
    elif mode == "months":
        every, after, through = timing.every, timing.month_after, timing.month_through
        start = anchor.start
        behind = (horizon_start.year - start.year) * 12 + (horizon_start.month - start.month)
        # Start a little before the horizon: a window reaches after_days past its month.
        margin = 2 + t.after_days // 28
        k = max(1, (behind - margin - after) // every)
        high = h1 + t.before_days
        while True:
            m = after + k * every
            if through is not None and m > through:
                return
            occ = add_months(start, m).toordinal()
            if occ > high:
                return
            yield None, m, occ
            k += 1
