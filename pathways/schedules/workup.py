"""The workup checklist at r/r diagnosis (RULES.md §2, WU-01..29 and WU-23a-d).

The items are data (the ``workup`` section, ``workup.yaml``) in the template
vocabulary of ``pathways.schedules.templates``; this module owns the section's
validator and the one piece of timing that is not a plain anchor, the workup
window: from DX until the day before IND_D1 [DEFAULT], or DX plus the default
``workup_due_days_without_ind_d1`` while IND_D1 is not yet known. Items tied to
another anchor say so in the data (labs repeated within 72 h before IND_D1,
HLA typing within 7 days of FIT).

The checklist is planned while no course is in progress: in the pre-treatment
phases (SM-01..03, the re-workup of SM-09..11) and in SM-04 until the recorded
first induction cycle has begun — up to and including IND_D1 itself, the day
the pre-IND_D1 labs fall due.
"""

from __future__ import annotations

from typing import Any

from pathways.decisions import PlannedTask
from pathways.facts import CaseFacts
from pathways.model import Definition, ValidationContext
from pathways.policy import Policy
from pathways.schedules.compiler import compiler_for
from pathways.schedules.context import (
    INDUCTION_COURSE_PHASES,
    WORKUP_PHASES,
    PlanContext,
    first_treatment_day,
)
from pathways.schedules.planner import (
    Planner,
)

WorkupWindow = tuple[int, int, str, tuple[str, ...]]


def validate_workup(raw: Any, ctx: ValidationContext) -> None:
    compiler_for(ctx).named_templates(raw, "workup")


def workup_window(ctx: PlanContext) -> WorkupWindow | None:
    """(first day, last day, key scope, defaults used) of the workup, or None when it does not apply."""
    if ctx.phase not in WORKUP_PHASES:
        return None
    course = ctx.course
    ind_d1 = None
    if course is not None:
        if course.cycle != 1 or course.phase not in INDUCTION_COURSE_PHASES:
            return None
        ind_d1 = first_treatment_day(course)
        if ind_d1 < ctx.as_of:
            return (
                None  # the course is in progress (IND_D1 itself still shows the pre-IND_D1 items)
            )
    dx = ctx.facts.history.dx_date
    scope = f"wu{dx:%Y%m%d}" if dx is not None else "wu-undated"
    due_days = int(ctx.values["workup_due_days_without_ind_d1"])
    used: tuple[str, ...] = ()
    if ind_d1 is not None:
        last = ind_d1.toordinal() - 1
        first = dx.toordinal() if dx is not None else last - due_days
        if dx is None:
            used = ("workup_due_days_without_ind_d1",)
    else:
        # DX unknown: the window opens on as_of; the keys do not carry it.
        first = (dx or ctx.as_of).toordinal()
        last = first + due_days
        used = ("workup_due_days_without_ind_d1",)
    return first, max(first, last), scope, used


def workup_checklist(facts: CaseFacts, definition: Definition, policy: Policy) -> list[PlannedTask]:
    """Only the workup items of the plan (empty when a course is in progress)."""
    planner = Planner.for_patient(facts, definition, policy)
    planner.workup_window = workup_window(planner.ctx)
    planner.plan_workup()
    return planner.finish(policy)
