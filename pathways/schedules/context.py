"""What one planning run knows: the facts, the patient's phase, the course in progress.

The phase comes from ``facts.phase`` (the phase a clinician last confirmed)
or, for a case file, is inferred from the course and the signed response
(:func:`infer_phase`). Which recorded course is *current* depends on the
phase: in the pre-treatment phases a recorded course counts only when it is a
planned first cycle of a new induction (an older course belongs to an earlier
line of therapy), and once therapy is complete (SM-08) no course is current.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

from pathways.core import prephase
from pathways.facts import CaseFacts, Course
from pathways.guards import GUARDS
from pathways.policy import Policy
from pathways.vocab import REMISSION_CATEGORIES, CoursePhase, HctEligible, Phase

# SM-13: the trial protocol governs and the tracker pauses pathway tasks;
# ENDED: tracking is over.
NO_PLAN_PHASES = frozenset({Phase.CLINICAL_TRIAL, Phase.ENDED})
# Phases before a line of therapy starts: the workup checklist belongs here
# (SM-01..03, and the re-workup after relapse or refractoriness, SM-09..11).
PRE_TREATMENT_PHASES = frozenset(
    {
        Phase.SUSPECTED_RR,
        Phase.WORKUP,
        Phase.INDUCTION_SELECTION,
        Phase.RELAPSE,
        Phase.REFRACTORY,
        Phase.MULTIPLY_RELAPSED,
    }
)
# The workup also shows in SM-04 while the recorded induction has not begun
# (its pre-IND_D1 labs need the anchor).
WORKUP_PHASES = PRE_TREATMENT_PHASES | {Phase.INDUCTION}
INDUCTION_COURSE_PHASES = frozenset(CoursePhase(p) for p in prephase.INDUCTION_COURSE_PHASES)
# BLIN-01 [DER]: a one-week pre-phase P1..P7, earliest C1_D1 = P8 (``pathways.core.prephase``).
PREPHASE_DAYS = prephase.PREPHASE_DAYS


def infer_phase(facts: CaseFacts) -> Phase:
    """A suggested phase for facts that carry none (a case file); never applied, only planned on."""
    if facts.phase is not None:
        return facts.phase
    course = facts.treatment
    signed = facts.signed_response
    in_remission = signed is not None and signed.category in REMISSION_CATEGORIES
    hct_yes = facts.fitness.hct_eligible is HctEligible.YES
    if course is None:
        if in_remission:
            return Phase.POST_REMISSION_HCT if hct_yes else Phase.POST_REMISSION_NON_HCT
        # SM-02 -> SM-03 once the facts the decision needs are resulted (IND-00).
        if GUARDS["decision_facts_known"].test(facts):
            return Phase.INDUCTION_SELECTION
        return Phase.WORKUP
    ended = course.last_dose_date is not None and course.last_dose_date < facts.as_of
    if course.phase is CoursePhase.MAINTENANCE:
        return Phase.SURVEILLANCE if ended else Phase.POST_REMISSION_NON_HCT
    if course.phase is CoursePhase.CONSOLIDATION:
        return Phase.POST_REMISSION_HCT if hct_yes else Phase.POST_REMISSION_NON_HCT
    assessment = facts.response_assessment
    if ended or (assessment is not None and assessment.end_of_induction):
        return Phase.RESPONSE_ASSESSMENT
    return Phase.INDUCTION


def prephase_start(course: Course) -> date | None:
    """P1: recorded, or [DER] C1_D1 - 7 for a course recorded in its pre-phase without P1."""
    if course.prephase_start is not None:
        return course.prephase_start
    if course.phase is CoursePhase.PREPHASE:
        return course.cycle_start - timedelta(days=PREPHASE_DAYS)
    return None


def first_treatment_day(course: Course) -> date:
    """IND_D1 of a first-cycle course: P1 when a pre-phase precedes it, else C1_D1 (INF_D0)."""
    return prephase_start(course) or course.cycle_start


def current_course(facts: CaseFacts, phase: Phase) -> Course | None:
    course = facts.treatment
    if course is None or phase in NO_PLAN_PHASES or phase is Phase.SURVEILLANCE:
        return None
    if phase in PRE_TREATMENT_PHASES:
        if course.cycle != 1 or course.phase not in INDUCTION_COURSE_PHASES:
            return None
        dx = facts.history.dx_date
        if dx is not None and first_treatment_day(course) < dx:
            return None
    return course


class PlanContext:
    """One planning run. Predicates, dose rules and anchors read the facts through it."""

    __slots__ = (
        "as_of",
        "course",
        "facts",
        "horizon_end",
        "horizon_start",
        "phase",
        "policy",
        "predicate_cache",
        "tz",
        "used",
        "values",
    )

    def __init__(
        self,
        facts: CaseFacts,
        policy: Policy,
        values: Mapping[str, Any],
        lookback_days: int,
        lookahead_days: int,
    ) -> None:
        self.facts = facts
        self.policy = policy
        self.values = values
        self.tz = facts.timezone
        self.as_of = facts.as_of
        self.horizon_start = facts.as_of - timedelta(days=lookback_days)
        self.horizon_end = facts.as_of + timedelta(days=lookahead_days)
        self.phase = infer_phase(facts)
        self.course = current_course(facts, self.phase)
        self.used: set[str] = set()
        self.predicate_cache: dict[str, bool | None] = {}

    def value(self, name: str) -> Any:
        """A default's value (the definition's, with institution overrides); its use is recorded."""
        self.used.add(name)
        return self.values[name]
