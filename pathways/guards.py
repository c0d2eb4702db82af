"""Guards of the phase machine: named, side-effect-free predicates over facts.

A definition file names guards; the loader refuses names that are not here.
Each guard says in words what it requires, so a refusal can explain itself.
Guards never look at the clock: ``facts.as_of`` is the only "today".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pathways.facts import CaseFacts
from pathways.vocab import (
    REMISSION_CATEGORIES,
    FitnessCategory,
    Goal,
    HctEligible,
    Lineage,
    ResponseCategory,
)


@dataclass(frozen=True, slots=True)
class Guard:
    name: str
    requires: str
    rule_ids: tuple[str, ...]
    test: Callable[[CaseFacts], bool]


def _decision_facts_known(f: CaseFacts) -> bool:
    # IND-00 [DER]: the induction decision needs these facts resulted.
    d = f.disease
    antigens_known = d.lineage is Lineage.T or (d.cd19 is not None and d.cd22 is not None)
    return (
        antigens_known
        and d.ph_positive is not None
        and d.kmt2a_rearranged is not None
        and f.fitness.category is not None
        and f.goal is not None
    )


def _off_pathway_indicated(f: CaseFacts) -> bool:
    # SM-12 / IND-01 / FIT-07: frail, symptom relief only, or the patient declines.
    return (
        f.fitness.category is FitnessCategory.FRAIL
        or f.goal is Goal.SYMPTOM_RELIEF
        or f.declines_therapy
    )


def _signed(f: CaseFacts, categories: frozenset[ResponseCategory]) -> bool:
    return f.signed_response is not None and f.signed_response.category in categories


GUARDS: dict[str, Guard] = {
    guard.name: guard
    for guard in (
        Guard(
            "decision_facts_known",
            "lineage, CD19 and CD22 (B-ALL), Ph status, KMT2A status, fitness category "
            "and goal of therapy recorded",
            ("IND-00", "SM-02"),
            _decision_facts_known,
        ),
        Guard(
            "off_pathway_indicated",
            "fitness category frail, goal of therapy symptom relief, or the patient declines",
            ("SM-12", "IND-01", "FIT-07"),
            _off_pathway_indicated,
        ),
        Guard(
            "course_recorded",
            "a course of the selected regimen recorded",
            ("SM-04",),
            lambda f: f.treatment is not None,
        ),
        Guard(
            "signed_remission_hct_eligible",
            "a signed response of CR, CRh, CRi or partial response, and hct_eligible = yes",
            ("RESP-07", "SM-06"),
            lambda f: (
                _signed(f, REMISSION_CATEGORIES) and f.fitness.hct_eligible is HctEligible.YES
            ),
        ),
        Guard(
            "signed_remission",
            "a signed response of CR, CRh, CRi or partial response",
            ("RESP-07", "SM-07", "POST-06"),
            lambda f: _signed(f, REMISSION_CATEGORIES),
        ),
        Guard(
            "signed_refractory_or_progressive",
            "a signed response of refractory or progressive disease",
            ("RESP-07", "SM-10"),
            lambda f: _signed(
                f,
                frozenset({ResponseCategory.REFRACTORY, ResponseCategory.PROGRESSIVE_DISEASE}),
            ),
        ),
        Guard(
            "signed_relapse",
            "a signed response of relapse",
            ("DEF-07", "SM-09"),
            lambda f: _signed(f, frozenset({ResponseCategory.RELAPSE})),
        ),
        Guard(
            "fewer_than_two_relapses",
            "fewer than two relapses recorded",
            ("SM-09",),
            lambda f: f.history.relapse_count < 2,
        ),
        Guard(
            "two_or_more_relapses",
            "two or more relapses recorded",
            ("SM-09", "SM-11", "DEF-11"),
            lambda f: f.history.relapse_count >= 2,
        ),
        Guard(
            "fit_for_directed_therapy",
            "fitness category fit or less fit, and goal of therapy cure",
            ("FIT-05", "SM-12"),
            lambda f: (
                f.fitness.category in (FitnessCategory.FIT, FitnessCategory.LESS_FIT)
                and f.goal is Goal.CURE
            ),
        ),
        Guard(
            "cns_involved",
            "CNS status recorded as involved",
            ("CNS-05", "SM-P1"),
            lambda f: f.disease.cns_status is not None and f.disease.cns_status.value == "involved",
        ),
        Guard(
            "testicular_disease",
            "testicular involvement recorded",
            ("TEST-03", "SM-P2"),
            lambda f: f.disease.testicular_involvement is True,
        ),
    )
}
