"""One template on one anchor: what all its occurrences share, and its plan-wide title fields."""

from __future__ import annotations

from typing import Any

from pathways.schedules.anchors import Anchor
from pathways.schedules.tasks import midnights
from pathways.schedules.templates import Template


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
