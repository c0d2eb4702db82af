"""pathways.consistency: facts that cannot all be true, found without IO, each naming its fields."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from pathways.casefile import parse_case, parse_case_text
from pathways.consistency import contradictions, signature_contradictions
from pathways.definition import shipped_definition
from pathways.errors import ContradictoryFacts
from pathways.facts import ResponseAssessment, StoppedMedication
from pathways.policy import Policy
from pathways.response import classify_response
from pathways.vocab import ResponseCategory
from tests.pathways.factories import case, facts

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "cases"
CR_ASSESSMENT = {
    "date": "2026-11-23",
    "marrow_blast_pct": 1.0,
    "trilineage_hematopoiesis": True,
    "circulating_blasts": False,
    "extramedullary_disease": False,
    "anc_per_ul": 1500,
    "platelets_per_ul": 150000,
    "in_remission_before": False,
}


def refused(**changes: object) -> list[tuple[tuple[str, ...], str]]:
    with pytest.raises(ContradictoryFacts) as excinfo:
        parse_case(case(**changes))
    return [(c.fields, c.message) for c in excinfo.value.contradictions]


@pytest.mark.parametrize("path", sorted(GOLDEN.glob("*.json")), ids=lambda p: p.stem)
def test_the_golden_cases_are_consistent(path: Path) -> None:
    assert contradictions(parse_case_text(path.read_text(encoding="utf-8"))) == []


def test_no_circulating_blasts_beside_a_count_is_refused_naming_both_fields() -> None:
    found = refused(response_assessment=CR_ASSESSMENT | {"peripheral_blasts_per_ul": 900})
    assert found == [
        (
            (
                "response_assessment.circulating_blasts",
                "response_assessment.peripheral_blasts_per_ul",
            ),
            "'no circulating blasts' contradicts the blood count of 900 blasts/microL: a count "
            "above zero means blasts are circulating, which rules out CR (DEF-03)",
        )
    ]


def test_a_count_above_zero_is_never_a_cr_whatever_the_flag_says() -> None:
    # DEF-03 (a): even past the doors (facts built directly), the count decides.
    base = facts(response_assessment=CR_ASSESSMENT)
    policy = Policy(shipped_definition())
    cr = classify_response(base, policy)
    assert cr is not None and cr.category is ResponseCategory.CR
    assert base.response_assessment is not None
    with_count = replace(
        base, response_assessment=replace(base.response_assessment, peripheral_blasts_per_ul=900)
    )
    suggestion = classify_response(with_count, policy)
    assert suggestion is not None and suggestion.category is not ResponseCategory.CR
    assert any("circulating lymphoblasts present" in r for r in suggestion.reasons)


def test_a_response_marrow_after_as_of_is_refused() -> None:
    found = refused(response_assessment=CR_ASSESSMENT | {"date": "2026-11-25"})
    assert [f for f, _ in found] == [("response_assessment.date", "as_of")]


def test_no_extramedullary_disease_beside_sites_is_refused() -> None:
    found = refused(response_assessment=CR_ASSESSMENT | {"extramedullary_sites": ["skin"]})
    assert [f for f, _ in found] == [
        ("response_assessment.extramedullary_disease", "response_assessment.extramedullary_sites")
    ]


def test_a_prior_hct_in_the_future_or_before_birth_is_refused() -> None:
    assert [f for f, _ in refused(**{"history.prior_allogeneic_hct_date": "2026-12-01"})] == [
        ("history.prior_allogeneic_hct_date", "as_of")
    ]
    assert [f for f, _ in refused(**{"history.prior_allogeneic_hct_date": "1960-01-01"})] == [
        ("history.prior_allogeneic_hct_date", "patient.birth_date")
    ]


def test_testicular_involvement_without_testes_is_refused() -> None:
    found = refused(**{"patient.has_testes": False, "disease.testicular_involvement": True})
    assert [f for f, _ in found] == [("disease.testicular_involvement", "patient.has_testes")]
    # The same finding as an extramedullary site of an assessment (TEST-03).
    found = refused(
        **{"patient.has_testes": False},
        response_assessment=CR_ASSESSMENT
        | {"extramedullary_disease": True, "extramedullary_sites": ["Testis"]},
    )
    assert [f for f, _ in found] == [
        ("response_assessment.extramedullary_sites", "patient.has_testes")
    ]


def test_abl1_kinase_mutations_on_ph_negative_disease_are_refused() -> None:
    # WU-07: kinase-domain mutation testing is conditional on Ph+.
    found = refused(**{"disease.abl1_kinase_mutations": ["T315I"]})
    assert [f for f, _ in found] == [("disease.abl1_kinase_mutations", "disease.ph_positive")]
    # Tested with none found is not a contradiction, nor is an unknown Ph status.
    assert contradictions(facts(**{"disease.abl1_kinase_mutations": []})) == []
    assert (
        contradictions(
            facts(**{"disease.abl1_kinase_mutations": ["T315I"], "disease.ph_positive": None})
        )
        == []
    )


def test_a_last_dose_before_its_cycle_start_is_refused() -> None:
    treatment = {
        "regimen": "inotuzumab_ozogamicin",
        "cycle": 1,
        "cycle_start": "2026-11-16",
        "phase": "induction",
        "last_dose_date": "2026-11-10",
    }
    assert [f for f, _ in refused(treatment=treatment)] == [
        ("treatment.last_dose_date", "treatment.cycle_start")
    ]


def test_a_prephase_after_cycle_day_1_is_refused() -> None:
    # BLIN-01: the pre-phase comes before blinatumomab.
    treatment = {
        "regimen": "blinatumomab",
        "cycle": 1,
        "cycle_start": "2026-11-16",
        "phase": "induction",
        "prephase_start": "2026-11-18",
    }
    assert [f for f, _ in refused(treatment=treatment)] == [
        ("treatment.prephase_start", "treatment.cycle_start")
    ]


def test_dates_after_as_of_are_refused() -> None:
    found = refused(
        **{"fitness.assessed_on": "2026-12-01"},
        medications_stopped=[{"name": "posaconazole", "stopped_on": "2026-12-02"}],
    )
    assert [f for f, _ in found] == [
        ("fitness.assessed_on", "as_of"),
        ("medications_stopped[0].stopped_on", "as_of"),
    ]


def test_resolved_testicular_disease_beside_an_active_testicular_site_is_refused() -> None:
    found = refused(
        response_assessment=CR_ASSESSMENT
        | {
            "extramedullary_disease": True,
            "extramedullary_sites": ["testes"],
            "testicular_disease_resolved": True,
        }
    )
    assert [f for f, _ in found] == [
        (
            "response_assessment.testicular_disease_resolved",
            "response_assessment.extramedullary_sites",
        )
    ]


def test_every_contradiction_is_reported_at_once_in_a_fixed_order() -> None:
    found = refused(
        **{
            "disease.abl1_kinase_mutations": ["T315I"],
            "history.prior_allogeneic_hct_date": "2027-01-01",
        },
        response_assessment=CR_ASSESSMENT | {"peripheral_blasts_per_ul": 10},
    )
    assert [f[0] for f, _ in found] == [
        "response_assessment.circulating_blasts",
        "history.prior_allogeneic_hct_date",
        "disease.abl1_kinase_mutations",
    ]


def test_a_remission_signature_on_circulating_blasts_is_a_contradiction() -> None:
    assessment = ResponseAssessment(date=date(2026, 11, 20), peripheral_blasts_per_ul=50)
    for category in (ResponseCategory.CR, ResponseCategory.CRH, ResponseCategory.CRI):
        found = signature_contradictions(assessment, category)
        assert [c.fields for c in found] == [
            ("category", "response_assessment.peripheral_blasts_per_ul")
        ]
    flagged = ResponseAssessment(date=date(2026, 11, 20), circulating_blasts=True)
    assert signature_contradictions(flagged, ResponseCategory.CR)
    # Partial response (DEF-09) has no criteria to contradict; other categories fit blasts.
    for category in (ResponseCategory.PARTIAL_RESPONSE, ResponseCategory.RELAPSE):
        assert signature_contradictions(assessment, category) == []
    assert signature_contradictions(None, ResponseCategory.CR) == []


def test_a_signed_cr_in_a_case_file_against_its_assessment_is_refused() -> None:
    found = refused(
        response_assessment=CR_ASSESSMENT | {"circulating_blasts": True},
        signed_response={"category": "CR", "signed_on": "2026-11-23"},
    )
    assert [f for f, _ in found] == [
        ("signed_response.category", "response_assessment.circulating_blasts")
    ]


def test_stopped_medications_are_facts() -> None:
    parsed = facts(medications_stopped=[{"name": " Posaconazole ", "stopped_on": "2026-11-20"}])
    assert parsed.stopped_medications == (StoppedMedication("posaconazole", date(2026, 11, 20)),)
