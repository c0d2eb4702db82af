"""Named conditions a schedule template may require (``when: [name, ...]``).

Each predicate answers True, False, or None for *unknown*. Unknown is never
read as "no": a template whose condition is unknown is still planned, and the
task says what it depends on (``detail["applies_if"]``), so a missing fact
costs the coordinator a question rather than costing the patient a task.
The definition loader refuses a name that is not listed here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from pathways.schedules.context import PREPHASE_DAYS, PlanContext
from pathways.vocab import (
    CHEMOTHERAPY_OPTIONS,
    REMISSION_CATEGORIES,
    CnsStatus,
    CoursePhase,
    FitnessCategory,
    Goal,
    HctEligible,
    OptionId,
    ResponseCategory,
)

# NEL-01 [SRC]: the nelarabine dose is given for patients >=16 years (NEL-02, AMB-15 below).
NELARABINE_MIN_AGE_YEARS = 16
# TEST-04: "the first cycle of maintenance chemotherapy" (MAINT_C1_D1).
MAINTENANCE_CHEMOTHERAPY = frozenset(
    {*(o.value for o in CHEMOTHERAPY_OPTIONS), OptionId.PRIOR_REGIMEN.value}
)


@dataclass(frozen=True, slots=True)
class Predicate:
    name: str
    requires: str
    rule_ids: tuple[str, ...]
    test: Callable[[PlanContext], bool | None]
    # Defaults the predicate reads (listed in the task's defaults_used).
    defaults: tuple[str, ...] = ()


def _c1d1_before_p8(ctx: PlanContext) -> bool:
    """BLIN-01 [DER]: a recorded pre-phase P1..P7 puts the earliest C1_D1 at P8."""
    course = ctx.course
    if course is None or course.cycle != 1 or course.prephase_start is None:
        return False
    return course.cycle_start < course.prephase_start + timedelta(days=PREPHASE_DAYS)


def _cycle(ctx: PlanContext) -> int | None:
    return ctx.course.cycle if ctx.course is not None else None


def _high_burden(ctx: PlanContext) -> bool | None:
    # DEF-14: marrow blasts above the threshold, or peripheral blasts above the
    # (DEFAULT) number; either known and above is enough.
    d = ctx.facts.disease
    answers: list[bool] = []
    if d.marrow_blast_pct is not None:
        answers.append(d.marrow_blast_pct > float(ctx.value("prephase_marrow_blast_pct_above")))
    if d.peripheral_blasts_per_ul is not None:
        answers.append(
            d.peripheral_blasts_per_ul > float(ctx.value("prephase_peripheral_blasts_per_ul_above"))
        )
    if any(answers):
        return True
    if len(answers) == 2:
        return False
    return None


def _testicular_disease(ctx: PlanContext) -> bool | None:
    if ctx.facts.patient.has_testes is False:
        return False
    return ctx.facts.disease.testicular_involvement


def _testicular_unresolved(ctx: PlanContext) -> bool | None:
    """TEST-03: testicular disease at DX still present at the end-of-induction assessment."""
    at_dx = _testicular_disease(ctx)
    if not at_dx:
        return at_dx
    ra = ctx.facts.response_assessment
    if ra is None or ra.end_of_induction is False:
        return None  # no end-of-induction exam on record yet
    return ra.testicular_disease_unresolved


def _no_maintenance_chemotherapy(ctx: PlanContext) -> bool:
    """TEST-04 / AMB-17: no maintenance-chemotherapy cycle to anchor testicular RT on."""
    course = ctx.course
    return not (
        course is not None
        and course.phase is CoursePhase.MAINTENANCE
        and course.regimen in MAINTENANCE_CHEMOTHERAPY
    )


def _cns_involved(ctx: PlanContext) -> bool | None:
    status = ctx.facts.disease.cns_status
    return None if status is None else status is CnsStatus.INVOLVED


def _marrow_indicated(ctx: PlanContext) -> bool:
    # RESP-02: no marrow when the goal is symptom relief; FIT-07: frail -> SM-12.
    return not (
        ctx.facts.goal is Goal.SYMPTOM_RELIEF or ctx.facts.fitness.category is FitnessCategory.FRAIL
    )


def _goal_symptom_relief(ctx: PlanContext) -> bool | None:
    goal = ctx.facts.goal
    return None if goal is None else goal is Goal.SYMPTOM_RELIEF


def _hct_yes(ctx: PlanContext) -> bool | None:
    value = ctx.facts.fitness.hct_eligible
    return None if value is None else value is HctEligible.YES


def _hct_not_no(ctx: PlanContext) -> bool | None:
    value = ctx.facts.fitness.hct_eligible
    return None if value is None else value is not HctEligible.NO


def _signed_remission(ctx: PlanContext) -> bool:
    signed = ctx.facts.signed_response
    return signed is not None and signed.category in REMISSION_CATEGORIES


def _not_signed_cr(ctx: PlanContext) -> bool:
    signed = ctx.facts.signed_response
    return signed is None or signed.category is not ResponseCategory.CR


def _fitness_fit(ctx: PlanContext) -> bool | None:
    category = ctx.facts.fitness.category
    return None if category is None else category is FitnessCategory.FIT


def _not_frail(ctx: PlanContext) -> bool:
    # WU-16 [DEFAULT]: HLA typing for everyone not classed FRAIL (unknown is not frail).
    return ctx.facts.fitness.category is not FitnessCategory.FRAIL


def _relapse_after_allo_hct(ctx: PlanContext) -> bool | None:
    """MULTI-05 needs a prior allogeneic HCT; an unrecorded prior-therapy list blocks it
    (MULTI-06: the MULTI rules wait for that data, which WU-01 asks for) instead of
    planning a DLI referral for a patient who may never have had a transplant."""
    history = ctx.facts.history
    had = history.had_allogeneic_hct
    if not had:
        return False
    hct, dx = history.prior_allogeneic_hct_date, history.dx_date
    if hct is not None and dx is not None:
        return dx > hct
    return True


def _age_on_course_start(ctx: PlanContext) -> int | None:
    if ctx.course is None:
        return None
    return ctx.facts.patient.age_on(ctx.course.cycle_start)


def _age_16_or_over(ctx: PlanContext) -> bool | None:
    age = _age_on_course_start(ctx)
    return None if age is None else age >= NELARABINE_MIN_AGE_YEARS


def _under_16(ctx: PlanContext) -> bool | None:
    age = _age_on_course_start(ctx)
    return None if age is None else age < NELARABINE_MIN_AGE_YEARS


def _inotuzumab_exposed(ctx: PlanContext) -> bool | None:
    course = ctx.facts.treatment
    if course is not None and course.regimen == OptionId.INOTUZUMAB:
        return True
    prior = ctx.facts.history.prior_therapies
    return None if prior is None else OptionId.INOTUZUMAB.value in prior


def _ino_cytoreduction(ctx: PlanContext) -> bool | None:
    blasts = ctx.facts.disease.peripheral_blasts_per_ul
    if blasts is None:
        return None
    return blasts > float(ctx.value("ino_cytoreduce_peripheral_blasts_above"))


def _prior_anthracycline(ctx: PlanContext) -> bool | None:
    prior = ctx.facts.history.prior_therapies
    if prior is None:
        return None
    listed = {str(name).lower() for name in ctx.value("prior_anthracycline_therapies")}
    return any(therapy.lower() in listed for therapy in prior)


PREDICATES: dict[str, Predicate] = {
    p.name: p
    for p in (
        Predicate("first_cycle", "cycle 1 of the course", (), lambda c: _cycle(c) == 1),
        Predicate(
            "c1d1_before_prephase_complete",
            "cycle 1 day 1 planned before P8, the end of the one-week pre-phase",
            ("BLIN-01", "IND-11"),
            _c1d1_before_p8,
        ),
        Predicate(
            "c1d1_not_before_prephase_complete",
            "cycle 1 day 1 not before P8",
            ("BLIN-01",),
            lambda c: not _c1d1_before_p8(c),
        ),
        Predicate("second_cycle", "cycle 2 of the course", (), lambda c: _cycle(c) == 2),
        Predicate("later_cycle", "cycle 2 or later", (), lambda c: (_cycle(c) or 0) >= 2),
        Predicate("third_or_later_cycle", "cycle 3 or later", (), lambda c: (_cycle(c) or 0) >= 3),
        Predicate(
            "no_course_recorded",
            "no course recorded yet",
            (),
            lambda c: c.course is None,
        ),
        Predicate(
            "cycle_length_not_recorded",
            "the cycle length has not been recorded yet",
            ("INO-07",),
            lambda c: c.course is not None and c.course.cycle_length_days is None,
        ),
        Predicate(
            "high_burden",
            "high leukemic burden (DEF-14)",
            ("DEF-14", "MON-26"),
            _high_burden,
            ("prephase_marrow_blast_pct_above", "prephase_peripheral_blasts_per_ul_above"),
        ),
        Predicate(
            "reproductive_potential",
            "patient of reproductive potential",
            ("WU-25", "REV-09"),
            lambda c: c.facts.patient.reproductive_potential,
        ),
        Predicate(
            "has_testes",
            "patient has testes",
            ("WU-11", "WU-22", "TEST-01"),
            lambda c: c.facts.patient.has_testes,
        ),
        Predicate(
            "testicular_disease_at_dx",
            "testicular disease at diagnosis",
            ("TEST-03", "MON-20", "SM-P2"),
            _testicular_disease,
        ),
        Predicate(
            "testicular_disease_unresolved",
            "testicular disease not resolved at the end of induction",
            ("TEST-03", "MON-20"),
            _testicular_unresolved,
        ),
        Predicate(
            "no_maintenance_chemotherapy",
            "no maintenance-chemotherapy cycle to anchor on (HCT or another plan next)",
            ("TEST-04", "AMB-17"),
            _no_maintenance_chemotherapy,
        ),
        Predicate(
            "cns_involved", "documented CNS involvement", ("CNS-05", "MON-19"), _cns_involved
        ),
        Predicate(
            "ph_positive",
            "Ph-positive (DEF-13)",
            ("DEF-13", "WU-07", "PH-02", "PH-07"),
            lambda c: c.facts.disease.ph_positive,
        ),
        Predicate(
            "marrow_indicated",
            "goal of therapy is not symptom relief and the patient is not frail",
            ("RESP-02", "FIT-07"),
            _marrow_indicated,
        ),
        Predicate(
            "goal_symptom_relief",
            "goal of therapy is symptom relief",
            ("RESP-02",),
            _goal_symptom_relief,
        ),
        Predicate(
            "hct_eligible_yes", "transplant eligibility recorded as yes", ("FIT-08",), _hct_yes
        ),
        Predicate(
            "hct_eligible_not_no",
            "transplant eligibility recorded as yes or pending",
            ("FIT-08", "IND-13"),
            _hct_not_no,
        ),
        Predicate(
            "signed_remission",
            "a signed response of CR, CRh, CRi or partial response",
            ("RESP-04", "RESP-07"),
            _signed_remission,
        ),
        Predicate("not_signed_cr", "no signed CR yet", ("NEL-08",), _not_signed_cr),
        Predicate("fitness_fit", "fitness category fit", ("FIT-03", "FIT-06"), _fitness_fit),
        Predicate("not_frail", "fitness category not frail", ("WU-16",), _not_frail),
        Predicate(
            "relapse_after_allo_hct",
            "relapse after an allogeneic HCT",
            ("MULTI-05", "MULTI-06"),
            _relapse_after_allo_hct,
        ),
        Predicate(
            "age_16_or_over",
            "age 16 years or older at the cycle start",
            ("NEL-01",),
            _age_16_or_over,
        ),
        Predicate(
            "under_16", "younger than 16 at the cycle start", ("NEL-02", "AMB-15"), _under_16
        ),
        Predicate(
            "inotuzumab_exposed",
            "inotuzumab given in this or an earlier course",
            ("INO-11",),
            _inotuzumab_exposed,
        ),
        Predicate(
            "ino_cytoreduction_indicated",
            "circulating blasts above the pre-inotuzumab cytoreduction threshold",
            ("INO-02",),
            _ino_cytoreduction,
            ("ino_cytoreduce_peripheral_blasts_above",),
        ),
        Predicate(
            "split_dose_product",
            "a CAR-T product given as a split dose (obecabtagene autoleucel)",
            ("CART-03",),
            lambda c: c.course is not None and c.course.regimen == OptionId.OBECABTAGENE,
        ),
        Predicate(
            "cart_tocilizumab_check",
            "the cell-therapy programme checks tocilizumab before each infusion",
            ("CART-02", "MON-08", "AMB-10"),
            lambda c: bool(c.value("cart_check_tocilizumab")),
            ("cart_check_tocilizumab",),
        ),
        Predicate(
            "prior_anthracycline",
            "prior anthracycline-containing therapy",
            ("WU-19", "AMB-21"),
            _prior_anthracycline,
            ("prior_anthracycline_therapies",),
        ),
    )
}

# The predicate that only suppresses marrow tasks (RESP-02/FIT-07): the
# response-assessment window itself still exists for the companion tasks.
SUPPRESSION_ONLY = frozenset({"marrow_indicated"})
