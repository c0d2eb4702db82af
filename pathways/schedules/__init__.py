"""Regimen schedules, follow-up and the workup as planned tasks (RULES.md §2, §5-7).

Public surface::

    plan_tasks(facts, definition, policy) -> list[PlannedTask]

Every task of the course in progress and its monitoring, the follow-up and
parallel tracks (post-remission, surveillance, CNS, testis, Ph+, fitness),
and — when no course is in progress — the workup checklist, each in its window
on the clinic's calendar, clipped to the planning horizon ``as_of - 14 days ..
as_of + 90 days`` (CASE-FORMAT.md), sorted by due instant and key.

The templates are data (``templates`` documents the vocabulary); named
conditions are in ``predicates``, dose figures in ``doses``, the expansion in
``planner``, the workup window in ``workup``.
"""

from __future__ import annotations

from pathways.decisions import PlannedTask
from pathways.facts import CaseFacts
from pathways.model import Definition
from pathways.policy import Policy
from pathways.schedules.context import NO_PLAN_PHASES, infer_phase
from pathways.schedules.planner import LOOKAHEAD_DAYS, LOOKBACK_DAYS, Planner, compiled_schedules
from pathways.schedules.workup import workup_window

__all__ = ["LOOKAHEAD_DAYS", "LOOKBACK_DAYS", "compiled_schedules", "infer_phase", "plan_tasks"]


def plan_tasks(facts: CaseFacts, definition: Definition, policy: Policy) -> list[PlannedTask]:
    """The patient's planned tasks in the horizon; ``policy`` records every default used."""
    planner = Planner.for_patient(facts, definition, policy)
    ctx = planner.ctx
    if ctx.phase in NO_PLAN_PHASES:
        return []
    course = ctx.course
    if course is not None:
        regimen = planner.compiled.regimens.get(course.regimen)
        if regimen is not None:
            planner.plan_course(course, regimen)
    planner.plan_last_dose()
    planner.workup_window = workup_window(ctx)
    planner.plan_followup()
    planner.plan_workup()
    return planner.finish(policy)
