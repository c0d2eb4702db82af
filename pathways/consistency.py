"""Facts that contradict each other, found in one place for every door.

The engine answers on the facts it is given; two facts that cannot both be
true would make it answer as if one of them were (``circulating_blasts:
false`` beside 900 blasts/microL classed as CR while the same evaluation
raises a circulating-blast alert). Every door that brings facts in — the case
file, the web forms that edit facts and assessments, the REST API — calls
``contradictions`` on the facts it would store or evaluate and refuses them,
all at once, writing nothing: the CLI exits 2, the web and the API answer
422. Snapshots loaded from the database are checked the same way, so stored
facts that contradict each other become a data problem instead of advice.

Each ``Contradiction`` names the fields involved by their case-file path
(CASE-FORMAT.md: ``response_assessment.circulating_blasts``) and says, in
plain words, what does not fit. Checks read the facts only: pure, no clock
(``as_of`` is the facts' own date).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

from pathways.errors import ContradictoryFacts
from pathways.facts import CaseFacts, ResponseAssessment, is_testicular_site
from pathways.vocab import REMISSION_CATEGORIES, ResponseCategory

__all__ = [
    "Contradiction",
    "contradictions",
    "require_consistent",
    "signature_contradictions",
]


@dataclass(frozen=True, slots=True)
class Contradiction:
    """Two or more facts that cannot all be true; ``fields`` are case-file paths."""

    fields: tuple[str, ...]
    message: str

    def __str__(self) -> str:
        return f"{', '.join(self.fields)}: {self.message}"


def _count(value: float) -> str:
    return f"{value:,.0f}" if value == int(value) else f"{value:g}"


def _day(value: date) -> str:
    return value.isoformat()


def contradictions(facts: CaseFacts, *, dated: bool = True) -> list[Contradiction]:
    """Every contradiction in ``facts``, in a fixed order (empty when they fit together).

    ``dated=False`` leaves out facts dated after ``as_of``: stored facts
    evaluated as of an earlier day (a flow catching up, a report) are not
    contradictions, only facts that were not known yet on that day.
    """
    as_of = facts.as_of if dated else None
    return [
        *_response(facts.response_assessment, as_of, facts.patient.has_testes),
        *_signed(facts),
        *(_dates(facts) if dated else ()),
        *_history(facts, as_of),
        *_disease(facts),
        *_treatment(facts),
    ]


def require_consistent(facts: CaseFacts) -> CaseFacts:
    """``facts`` unchanged, or ``ContradictoryFacts`` listing every contradiction."""
    found = contradictions(facts)
    if found:
        raise ContradictoryFacts(found)
    return facts


def signature_contradictions(
    assessment: ResponseAssessment | None, category: ResponseCategory
) -> list[Contradiction]:
    """A signed remission category that the assessment it rests on rules out.

    CR, CRh and CRi all need criterion (a) of DEF-03, no circulating
    lymphoblasts: a signature cannot make a recorded count above zero a
    remission, whatever else the assessment says.
    """
    if assessment is None or category not in REMISSION_CATEGORIES:
        return []
    if category is ResponseCategory.PARTIAL_RESPONSE:
        return []  # DEF-09: clinician-entered, no criteria to contradict
    count = assessment.peripheral_blasts_per_ul
    if count is not None and count > 0:
        return [
            Contradiction(
                ("category", "response_assessment.peripheral_blasts_per_ul"),
                f"{category.value} needs no circulating blasts (DEF-03 criterion a), but the "
                f"assessment of {_day(assessment.date)} records {_count(count)} blasts/microL "
                "in the blood; sign another category or correct the assessment",
            )
        ]
    if assessment.circulating_blasts is True:
        return [
            Contradiction(
                ("category", "response_assessment.circulating_blasts"),
                f"{category.value} needs no circulating blasts (DEF-03 criterion a), but the "
                f"assessment of {_day(assessment.date)} records circulating blasts; sign "
                "another category or correct the assessment",
            )
        ]
    return []


def _signed(facts: CaseFacts) -> list[Contradiction]:
    """The signed category of the latest assessment (the same day) against its findings."""
    signed, ra = facts.signed_response, facts.response_assessment
    if signed is None or ra is None or signed.signed_on != ra.date:
        return []
    return [
        Contradiction(("signed_response.category", *c.fields[1:]), c.message)
        for c in signature_contradictions(ra, signed.category)
    ]


def _response(
    ra: ResponseAssessment | None, as_of: date | None, has_testes: bool | None
) -> Iterator[Contradiction]:
    if ra is None:
        return
    path = "response_assessment."
    count = ra.peripheral_blasts_per_ul
    if ra.circulating_blasts is False and count is not None and count > 0:
        yield Contradiction(
            (f"{path}circulating_blasts", f"{path}peripheral_blasts_per_ul"),
            f"'no circulating blasts' contradicts the blood count of {_count(count)} "
            "blasts/microL: a count above zero means blasts are circulating, which rules out "
            "CR (DEF-03)",
        )
    if as_of is not None and ra.date > as_of:
        yield Contradiction(
            (f"{path}date", "as_of"),
            f"the response assessment is dated {_day(ra.date)}, after the date of these facts "
            f"(as_of {_day(as_of)}): an assessment cannot be dated before it was done",
        )
    sites = sorted(ra.extramedullary_sites)
    if ra.extramedullary_disease is False and sites:
        yield Contradiction(
            (f"{path}extramedullary_disease", f"{path}extramedullary_sites"),
            "'no extramedullary disease' contradicts the extramedullary sites listed ("
            + ", ".join(sites)
            + "): remove the sites or record the disease",
        )
    testicular = [s for s in sites if is_testicular_site(s)]
    if testicular and has_testes is False:
        yield Contradiction(
            (f"{path}extramedullary_sites", "patient.has_testes"),
            "testicular disease ("
            + ", ".join(testicular)
            + ") is listed for a patient recorded as having no testes",
        )
    if testicular and ra.testicular_disease_resolved is True:
        yield Contradiction(
            (f"{path}testicular_disease_resolved", f"{path}extramedullary_sites"),
            "'testicular disease resolved' contradicts the active extramedullary sites listed ("
            + ", ".join(testicular)
            + ")",
        )


def _dates(facts: CaseFacts) -> Iterator[Contradiction]:
    """Facts dated after the day they are the facts of."""
    after = [
        ("fitness.assessed_on", "the fitness assessment", facts.fitness.assessed_on),
        (
            "signed_response.signed_on",
            "the signed response",
            None if facts.signed_response is None else facts.signed_response.signed_on,
        ),
        *(
            (f"medications_stopped[{i}].stopped_on", f"the stop of {m.name}", m.stopped_on)
            for i, m in enumerate(facts.stopped_medications)
        ),
    ]
    for path, what, when in after:
        if when is not None and when > facts.as_of:
            yield Contradiction(
                (path, "as_of"),
                f"{what} is dated {_day(when)}, after the date of these facts "
                f"(as_of {_day(facts.as_of)})",
            )


def _history(facts: CaseFacts, as_of: date | None) -> Iterator[Contradiction]:
    hct = facts.history.prior_allogeneic_hct_date
    if hct is None:
        return
    if as_of is not None and hct > as_of:
        yield Contradiction(
            ("history.prior_allogeneic_hct_date", "as_of"),
            f"the prior allogeneic HCT is dated {_day(hct)}, after the date of these facts "
            f"(as_of {_day(as_of)}): a prior transplant cannot be in the future",
        )
    if hct < facts.patient.birth_date:
        yield Contradiction(
            ("history.prior_allogeneic_hct_date", "patient.birth_date"),
            f"the prior allogeneic HCT ({_day(hct)}) is before the birth date",
        )


def _disease(facts: CaseFacts) -> Iterator[Contradiction]:
    d, p = facts.disease, facts.patient
    if d.testicular_involvement is True and p.has_testes is False:
        yield Contradiction(
            ("disease.testicular_involvement", "patient.has_testes"),
            "testicular involvement is recorded for a patient recorded as having no testes",
        )
    if d.abl1_kinase_mutations and d.ph_positive is False:
        yield Contradiction(
            ("disease.abl1_kinase_mutations", "disease.ph_positive"),
            "ABL1 kinase-domain mutations ("
            + ", ".join(d.abl1_kinase_mutations)
            + ") are listed for Ph-negative disease: kinase-domain mutation testing applies "
            "to Ph-positive disease (WU-07)",
        )


def _treatment(facts: CaseFacts) -> Iterator[Contradiction]:
    course = facts.treatment
    if course is None:
        return
    last = course.last_dose_date
    if last is not None and last < course.cycle_start:
        yield Contradiction(
            ("treatment.last_dose_date", "treatment.cycle_start"),
            f"the last dose ({_day(last)}) is before the start of its cycle "
            f"({_day(course.cycle_start)})",
        )
    p1 = course.prephase_start
    if p1 is not None and p1 > course.cycle_start:
        yield Contradiction(
            ("treatment.prephase_start", "treatment.cycle_start"),
            f"the pre-phase starts ({_day(p1)}) after day 1 of the cycle it comes before "
            f"({_day(course.cycle_start)}) (BLIN-01)",
        )
