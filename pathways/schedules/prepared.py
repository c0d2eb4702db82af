"""One template on one anchor: what all its occurrences share, and what each one adds.

The plan-wide title fields are filled once per template (``plan_field``); an
occurrence fills its own (``occurrence_title``), may name its overlap with the
next cycle (``with_overlap``) and has its window's instants (``window_instants``).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pathways.schedules.anchors import Anchor
from pathways.schedules.tasks import date_of, midnights
from pathways.schedules.templates import Template

_DAY_ONLY = ("day",)


class Prepared:
    """One template on one anchor: what its occurrences share."""

    __slots__ = (
        "anchor",
        "block_head",
        "block_tail",
        "cycle",
        "defaults",
        "detail",
        "key_head",
        "key_tail",
        "midnight",
        "regimen_id",
        "template",
        "title",
    )

    def __init__(
        self,
        template: Template,
        anchor: Anchor,
        detail: dict[str, Any],
        title: str,
        defaults: tuple[str, ...],
        blocks: Template | None,
        tz: str,
    ) -> None:
        self.template = template
        self.anchor = anchor
        self.detail = detail
        self.title = title
        self.defaults = defaults
        # key = {rule_id}:{scope}:{occurrence}:{slot}; the occurrence varies.
        self.key_head = f"{template.rule}:{anchor.scope}:"
        self.key_tail = f":{template.slot}"
        self.block_head = None if blocks is None else f"{blocks.rule}:{anchor.scope}:"
        self.block_tail = "" if blocks is None else f":{blocks.slot}"
        course = anchor.course
        self.regimen_id = course.regimen if course is not None else None
        self.cycle = course.cycle if course is not None else None
        self.midnight = midnights(tz)


def plan_field(name: str, t: Template, anchor: Anchor) -> Any:
    """A title placeholder that is the same for every occurrence in one plan."""
    course, regimen = anchor.course, anchor.regimen
    if name == "hours":
        return t.hours_before
    if name == "cycle":
        return course.cycle if course is not None else "?"
    if name == "next_cycle":
        return course.cycle + 1 if course is not None else "?"
    if name == "product":
        return course.regimen.replace("_", " ") if course is not None else "?"
    if name == "phase":
        return course.phase.value if course is not None else "?"
    return regimen.title if regimen is not None else "?"  # regimen


def occurrence_number(t: Template, day: int | None, month: int | None) -> int | None:
    timing = t.timing
    if timing.mode == "points" and day is not None:
        return timing.days.index(day) + 1
    if timing.mode == "repeat" and day is not None:
        return (day - timing.first) // timing.every + 1
    if timing.mode == "months" and month is not None:
        return (month - timing.month_after) // timing.every
    return None


def occurrence_title(
    prep: Prepared, title: str, we: int, day: int | None, month: int | None
) -> str:
    """``title`` with the occurrence's own fields: its day, last day, month or number."""
    t = prep.template
    fields = t.occurrence_fields
    if fields == _DAY_ONLY:
        return title.replace("{day}", str(day))
    for name in fields:
        if name == "day":
            value: Any = day
        elif name == "last_day":
            value = we - prep.anchor.day0 if t.timing.mode == "span" else day
        elif name == "month":
            value = month
        else:
            value = occurrence_number(t, day, month)
        title = title.replace(f"{{{name}}}", str(value))
    return title


def with_overlap(title: str, detail: dict[str, Any], overlap: dict[str, Any]) -> str:
    """NEL-01 / NEL-08: the response marrow and the next cycle compete for the same days."""
    detail["next_cycle_overlap"] = overlap
    first, last = overlap["window"]
    return title + (
        f" — the response marrow window ({first} to {last}) reaches cycle "
        f"{overlap['next_cycle']} day 1 ({overlap['next_cycle_day_1']}): the clinician "
        f"decides whether the marrow comes first or cycle {overlap['next_cycle']} waits"
    )


def window_instants(
    prep: Prepared, ws: int, we: int, due: int
) -> tuple[date, date, date, datetime, datetime, datetime]:
    """Start, due and end dates, and not-before, due and expiry instants, of ``ws..we``.

    A one-day window has one date and two instants: due and expires at the midnight after.
    """
    midnight = prep.midnight
    if ws == we:
        start = end_date = due_date = date_of(ws)
        not_before, due_at = midnight(ws), midnight(ws + 1)
        return start, due_date, end_date, not_before, due_at, due_at
    return (
        date_of(ws),
        date_of(due),
        date_of(we),
        midnight(ws),
        midnight(due + 1),
        midnight(we + 1),
    )
