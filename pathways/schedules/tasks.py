"""Building ``PlannedTask`` values fast, and the calendar helpers the planner uses.

Instants come from ``pathways.clock`` (local midnight in the clinic's zone),
cached per zone and date; dates from ordinals are cached too. ``new_task`` is
the constructor of ``PlannedTask`` without the frozen-dataclass ``__init__``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from pathways.clock import start_of_day
from pathways.decisions import DoseSuggestion, PlannedTask

_FIELDS = (
    "key", "kind", "rule_id", "title", "role", "window_start", "due_date", "window_end",
    "not_before", "due", "expires", "section", "regimen", "cycle", "day", "panel", "dose",
    "safety", "blocks", "result_fields", "defaults_used", "detail",
)  # fmt: skip
if tuple(f.name for f in dataclasses.fields(PlannedTask)) != _FIELDS:  # pragma: no cover
    raise ImportError("PlannedTask changed: update pathways.schedules.tasks.new_task")
(
    _s_key, _s_kind, _s_rule_id, _s_title, _s_role, _s_window_start, _s_due_date,
    _s_window_end, _s_not_before, _s_due, _s_expires, _s_section, _s_regimen, _s_cycle,
    _s_day, _s_panel, _s_dose, _s_safety, _s_blocks, _s_result_fields, _s_defaults_used,
    _s_detail,
) = (getattr(PlannedTask, name).__set__ for name in _FIELDS)  # fmt: skip
_new = object.__new__


def new_task(
    key: str,
    kind: Any,
    rule_id: str,
    title: str,
    role: Any,
    window_start: date,
    due_date: date,
    window_end: date,
    not_before: Any,
    due: Any,
    expires: Any,
    section: str,
    regimen: str | None,
    cycle: int | None,
    day: int | None,
    panel: str | None,
    dose: DoseSuggestion | None,
    safety: bool,
    blocks: str | None,
    result_fields: tuple[str, ...],
    defaults_used: tuple[str, ...],
    detail: dict[str, Any],
) -> PlannedTask:
    """``PlannedTask(...)`` without the frozen-dataclass ``__init__`` overhead.

    The same object as the constructor makes (tests/pathways/test_planner.py
    checks it); it halves the cost of a task when a flow plans 100,000 patients.
    """
    task = _new(PlannedTask)
    _s_key(task, key)
    _s_kind(task, kind)
    _s_rule_id(task, rule_id)
    _s_title(task, title)
    _s_role(task, role)
    _s_window_start(task, window_start)
    _s_due_date(task, due_date)
    _s_window_end(task, window_end)
    _s_not_before(task, not_before)
    _s_due(task, due)
    _s_expires(task, expires)
    _s_section(task, section)
    _s_regimen(task, regimen)
    _s_cycle(task, cycle)
    _s_day(task, day)
    _s_panel(task, panel)
    _s_dose(task, dose)
    _s_safety(task, safety)
    _s_blocks(task, blocks)
    _s_result_fields(task, result_fields)
    _s_defaults_used(task, defaults_used)
    _s_detail(task, detail)
    return task


@lru_cache(maxsize=64)
def midnights(tz: str) -> Callable[[int], datetime]:
    """Local midnight of a date ordinal in ``tz`` (pathways.clock), cached per zone."""

    @lru_cache(maxsize=8192)
    def midnight(ordinal: int) -> datetime:
        return start_of_day(date.fromordinal(ordinal), tz)

    return midnight


date_of = lru_cache(maxsize=16384)(date.fromordinal)


@lru_cache(maxsize=8192)
def iso_of(ordinal: int) -> str:
    return date.fromordinal(ordinal).isoformat()


def add_months(day: date, months: int) -> date:
    """The same day ``months`` calendar months later (clamped to the month's last day)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    last = 31 if month == 12 else (date(year, month + 1, 1) - date(year, month, 1)).days
    return date(year, month, min(day.day, last))
