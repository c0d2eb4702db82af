"""Response classification (DEF-15): every category and every boundary.

Each test names the rule ids it checks. Facts come from the public case-file
parser, in a zone with DST (Europe/Berlin).
"""

from __future__ import annotations

import copy
import dataclasses
from datetime import date
from typing import Any

import pytest

from pathways.casefile import parse_case
from pathways.decisions import ResponseSuggestion
from pathways.definition import load_definition, shipped_definition
from pathways.facts import CaseFacts, SignedResponse
from pathways.policy import Policy
from pathways.response import classify_response
from pathways.vocab import Phase, ResponseCategory

CR_ASSESSMENT: dict[str, Any] = {
    "date": "2026-03-30",
    "marrow_blast_pct": 2.0,
    "trilineage_hematopoiesis": True,
    "circulating_blasts": False,
    "extramedullary_disease": False,
    "anc_per_ul": 1500,
    "platelets_per_ul": 150000,
    "in_remission_before": False,
    "end_of_induction": True,
    "csf_clear_since_last_positive": True,
    "testicular_exam_documented": True,
    "mrd": {"method": "flow", "value": 0.00005},
}
BASE: dict[str, Any] = {
    "as_of": "2026-03-30",
    "timezone": "Europe/Berlin",
    "patient": {"birth_date": "1980-02-29", "has_testes": True},
    "disease": {"lineage": "B", "cns_status": "negative", "testicular_involvement": False},
    "history": {"status": "relapsed", "relapse_dates": ["2026-01-20"]},
    "goal": "cure",
}


def facts_for(assessment: dict[str, Any] | None = None, **changes: Any) -> CaseFacts:
    data = copy.deepcopy(BASE)
    for key, value in changes.items():
        if isinstance(value, dict):
            data[key] = {**data.get(key, {}), **value}
        else:
            data[key] = value
    data["response_assessment"] = {**CR_ASSESSMENT, **(assessment or {})}
    return parse_case(data)


def classify(facts: CaseFacts, overrides: dict[str, Any] | None = None) -> ResponseSuggestion:
    definition = load_definition(overrides=overrides) if overrides else shipped_definition()
    result = classify_response(facts, Policy(definition))
    assert result is not None
    assert result.requires_signature is True  # RESP-04: always
    return result


def category(assessment: dict[str, Any], **changes: Any) -> ResponseCategory:
    return classify(facts_for(assessment, **changes)).category


def test_no_assessment_gives_no_suggestion() -> None:
    # rule: DEF-15
    data = copy.deepcopy(BASE)
    assert classify_response(parse_case(data), Policy(shipped_definition())) is None


# --------------------------------------------------------------------------- CR / CRh / CRi


def test_def03_complete_remission_with_reasons_and_signature() -> None:
    # rule: DEF-03, DEF-15, RESP-04
    result = classify(facts_for())
    assert result.category is ResponseCategory.CR
    assert result.requires_signature is True
    assert {"DEF-03", "DEF-15", "RESP-04"} <= set(result.rule_ids)
    assert not result.provisional
    assert any("ANC >= 1000 and platelets >= 100,000" in r for r in result.reasons)


@pytest.mark.parametrize(
    ("blasts", "expected"),
    [
        (4.9, ResponseCategory.CR),
        (5.0, ResponseCategory.REFRACTORY),
        (5.1, ResponseCategory.REFRACTORY),
    ],
)
def test_def03_marrow_blast_boundary_below_5_percent(
    blasts: float, expected: ResponseCategory
) -> None:
    # rule: DEF-03 (c) "<5 percent", DEF-06
    assert category({"marrow_blast_pct": blasts}) is expected


@pytest.mark.parametrize(
    ("anc", "plt", "expected"),
    [
        (1000, 100000, ResponseCategory.CR),
        (999, 100000, ResponseCategory.CRH),
        (1000, 99999, ResponseCategory.CRH),
        (500, 50000, ResponseCategory.CRH),
        (499, 50000, ResponseCategory.CRI),
        (500, 49999, ResponseCategory.CRI),
        (200, 20000, ResponseCategory.CRI),
    ],
)
def test_def04_def05_count_boundaries_with_crh_rule_and(
    anc: int, plt: int, expected: ResponseCategory
) -> None:
    # rule: DEF-03, DEF-04, DEF-05, AMB-03 (shipped CRH_RULE = AND)
    result = classify(facts_for({"anc_per_ul": anc, "platelets_per_ul": plt}))
    assert result.category is expected
    if expected is ResponseCategory.CRH:
        assert {"DEF-04", "DEF-15", "AMB-03"} <= set(result.rule_ids)
    if expected is ResponseCategory.CRI:
        assert "DEF-05" in result.rule_ids


@pytest.mark.parametrize(
    ("anc", "plt", "and_rule", "or_rule"),
    [
        (600, 30000, ResponseCategory.CRI, ResponseCategory.CRH),
        (300, 60000, ResponseCategory.CRI, ResponseCategory.CRH),
        (300, 30000, ResponseCategory.CRI, ResponseCategory.CRI),
        (600, 60000, ResponseCategory.CRH, ResponseCategory.CRH),
    ],
)
def test_amb03_crh_rule_and_versus_or_policy_override(
    anc: int, plt: int, and_rule: ResponseCategory, or_rule: ResponseCategory
) -> None:
    # rule: AMB-03, DEF-04
    facts = facts_for({"anc_per_ul": anc, "platelets_per_ul": plt})
    assert classify(facts).category is and_rule
    with_or = classify(facts, {"crh_rule": "OR"})
    assert with_or.category is or_rule
    if or_rule is ResponseCategory.CRH:
        assert any("CRH_RULE = OR" in r for r in with_or.reasons)


def test_amb03_crh_rule_is_recorded_as_a_used_default() -> None:
    # rule: AMB-03, DEF-10
    definition = shipped_definition()
    policy = Policy(definition)
    classify_response(facts_for({"anc_per_ul": 600, "platelets_per_ul": 60000}), policy)
    assert {"crh_rule", "mrd_negative_below"} <= policy.used


def test_remission_counts_missing_is_indeterminate_not_cr() -> None:
    # rule: DEF-03, DEF-15
    result = classify(facts_for({"anc_per_ul": None}))
    assert result.category is ResponseCategory.INDETERMINATE
    assert any("ANC not recorded" in r for r in result.reasons)


def test_def15_step_a_unknown_trilineage_is_review_not_remission() -> None:
    # rule: DEF-15 step A (core UNKNOWN -> REVIEW)
    result = classify(facts_for({"trilineage_hematopoiesis": None, "end_of_induction": False}))
    assert result.category is ResponseCategory.INDETERMINATE
    assert any("trilineage hematopoiesis" in r for r in result.reasons)


# --------------------------------------------------------------------------- RESP-06 provisional


def test_resp06_cr_provisional_when_csf_not_clear_since_last_positive() -> None:
    # rule: RESP-06
    result = classify(
        facts_for({"csf_clear_since_last_positive": None}, disease={"cns_status": "involved"})
    )
    assert result.category is ResponseCategory.CR
    assert result.provisional and "provisional" in result.labels
    assert "RESP-06" in result.rule_ids
    assert any("no clear CSF result" in r for r in result.reasons)


def test_resp06_cr_provisional_without_testicular_exam_after_testicular_disease() -> None:
    # rule: RESP-06, DEF-03 (b)
    result = classify(
        facts_for({"testicular_exam_documented": False}, disease={"testicular_involvement": True})
    )
    assert result.provisional
    current = classify(
        facts_for({"testicular_exam_documented": True}, disease={"testicular_involvement": True})
    )
    assert not current.provisional


def test_resp06_unknown_cns_status_keeps_cr_provisional() -> None:
    # rule: RESP-06
    result = classify(
        facts_for({"csf_clear_since_last_positive": None}, disease={"cns_status": None})
    )
    assert result.provisional
    assert any("CNS status not known" in r for r in result.reasons)


def test_resp06_crh_is_provisional_too() -> None:
    # rule: RESP-06, DEF-04
    result = classify(
        facts_for(
            {"anc_per_ul": 600, "platelets_per_ul": 60000, "testicular_exam_documented": None},
            disease={"testicular_involvement": None},
        )
    )
    assert result.category is ResponseCategory.CRH and result.provisional


# --------------------------------------------------------------------------- relapse (step B)


@pytest.mark.parametrize(
    ("blasts", "expected"),
    [
        (4.9, ResponseCategory.CR),
        (5.0, ResponseCategory.INDETERMINATE),
        (5.1, ResponseCategory.RELAPSE),
    ],
)
def test_def07_amb02_relapse_boundary_after_remission(
    blasts: float, expected: ResponseCategory
) -> None:
    # rule: DEF-07 (">5 percent"), AMB-02 (exactly 5 -> indeterminate)
    result = classify(facts_for({"marrow_blast_pct": blasts, "in_remission_before": True}))
    assert result.category is expected
    if expected is ResponseCategory.INDETERMINATE:
        assert "AMB-02" in result.rule_ids
    if expected is ResponseCategory.RELAPSE:
        assert {"DEF-07", "DEF-01"} <= set(result.rule_ids)


def test_def07_extramedullary_disease_after_remission_is_relapse() -> None:
    # rule: DEF-07, DEF-01
    result = classify(
        facts_for(
            {"in_remission_before": True, "extramedullary_disease": True},
        )
    )
    assert result.category is ResponseCategory.RELAPSE


def test_amb02_circulating_blasts_after_remission_relapse_suspected_never_silent() -> None:
    # rule: AMB-02, DEF-01
    result = classify(facts_for({"in_remission_before": True, "circulating_blasts": True}))
    assert result.category is ResponseCategory.INDETERMINATE
    assert "relapse_suspected" in result.labels
    assert any("relapse suspected" in r for r in result.reasons)


def test_prior_remission_read_from_a_signed_remission_when_not_recorded() -> None:
    # rule: DEF-07, DEF-15
    facts = dataclasses.replace(
        facts_for({"in_remission_before": None, "marrow_blast_pct": 30.0}),
        signed_response=SignedResponse(ResponseCategory.CRI, date(2026, 2, 1)),
    )
    assert classify(facts).category is ResponseCategory.RELAPSE
    in_surveillance = dataclasses.replace(
        facts_for({"in_remission_before": None, "marrow_blast_pct": 30.0}),
        phase=Phase.SURVEILLANCE,
    )
    assert classify(in_surveillance).category is ResponseCategory.RELAPSE


def test_unknown_prior_remission_with_relapse_findings_is_indeterminate() -> None:
    # rule: DEF-07, AMB-02
    result = classify(facts_for({"in_remission_before": None, "marrow_blast_pct": 30.0}))
    assert result.category is ResponseCategory.INDETERMINATE
    assert any("in remission before is not recorded" in r for r in result.reasons)


# --------------------------------------------------------------------------- active disease (step D)


@pytest.mark.parametrize(
    ("reference", "now", "progressive"),
    [(40.0, 50.0, True), (40.0, 49.9, False), (12.4, 15.5, True), (12.4, 15.4, False)],
)
def test_def08_amb04_marrow_blast_rise_of_25_percent_relative(
    reference: float, now: float, progressive: bool
) -> None:
    # rule: DEF-08, AMB-04 — (new - reference) / reference >= 0.25, exact at the boundary
    result = classify(
        facts_for(
            {
                "marrow_blast_pct": now,
                "reference_marrow_blast_pct": reference,
                "end_of_induction": False,
            }
        )
    )
    expected = (
        ResponseCategory.PROGRESSIVE_DISEASE if progressive else ResponseCategory.NOT_IN_REMISSION
    )
    assert result.category is expected
    if progressive:
        assert {"DEF-08", "AMB-04"} <= set(result.rule_ids)
        assert any("most recent prior" in r for r in result.reasons)


@pytest.mark.parametrize(("now", "progressive"), [(1250, True), (1249, False)])
def test_def08_circulating_blast_rise_of_25_percent(now: int, progressive: bool) -> None:
    # rule: DEF-08, AMB-04
    result = classify(
        facts_for(
            {
                "marrow_blast_pct": 40.0,
                "circulating_blasts": True,
                "peripheral_blasts_per_ul": now,
                "reference_peripheral_blasts_per_ul": 1000,
                "end_of_induction": False,
            }
        )
    )
    assert (result.category is ResponseCategory.PROGRESSIVE_DISEASE) is progressive


def test_def08_new_circulating_blasts_and_new_extramedullary_site() -> None:
    # rule: DEF-08
    new_blasts = classify(
        facts_for(
            {
                "marrow_blast_pct": 40.0,
                "circulating_blasts": True,
                "reference_peripheral_blasts_per_ul": 0,
            }
        )
    )
    assert new_blasts.category is ResponseCategory.PROGRESSIVE_DISEASE
    new_site = classify(
        facts_for(
            {
                "marrow_blast_pct": 40.0,
                "extramedullary_disease": True,
                "extramedullary_sites": ["skin", "testis"],
                "reference_extramedullary_sites": ["skin"],
            }
        )
    )
    assert new_site.category is ResponseCategory.PROGRESSIVE_DISEASE
    assert any("testis" in r for r in new_site.reasons)
    same_site = classify(
        facts_for(
            {
                "marrow_blast_pct": 40.0,
                "extramedullary_disease": True,
                "extramedullary_sites": ["skin"],
                "reference_extramedullary_sites": ["skin"],
            }
        )
    )
    assert same_site.category is ResponseCategory.REFRACTORY


def test_amb01_both_refractory_labels_after_two_rounds_at_end_of_induction() -> None:
    # rule: AMB-01, DEF-02, DEF-06
    result = classify(facts_for({"marrow_blast_pct": 30.0, "induction_rounds": 2}))
    assert result.category is ResponseCategory.REFRACTORY
    assert result.labels == ("refractory_to_current_induction", "primary_refractory_2_rounds")
    assert {"DEF-06", "DEF-02", "AMB-01"} <= set(result.rule_ids)
    one_round = classify(facts_for({"marrow_blast_pct": 30.0, "induction_rounds": 1}))
    assert one_round.labels == ("refractory_to_current_induction",)
    assert "DEF-02" not in one_round.rule_ids


def test_def02_two_rounds_without_cr_is_refractory_even_before_end_of_induction_is_set() -> None:
    # rule: DEF-02, AMB-01
    result = classify(
        facts_for({"marrow_blast_pct": 30.0, "induction_rounds": 2, "end_of_induction": None})
    )
    assert result.category is ResponseCategory.REFRACTORY
    assert result.labels == ("primary_refractory_2_rounds",)


def test_def09_amb06_partial_response_is_never_computed() -> None:
    # rule: DEF-09, AMB-06
    result = classify(facts_for({"marrow_blast_pct": 8.0, "end_of_induction": False}))
    assert result.category is ResponseCategory.NOT_IN_REMISSION
    assert {"DEF-09", "AMB-06"} <= set(result.rule_ids)
    assert any("partial response" in r for r in result.reasons)
    for blasts in (0.0, 3.0, 6.0, 20.0, 60.0):
        for end in (True, False):
            got = category({"marrow_blast_pct": blasts, "end_of_induction": end})
            assert got is not ResponseCategory.PARTIAL_RESPONSE


# --------------------------------------------------------------------------- MRD and goal


@pytest.mark.parametrize(
    ("value", "sensitivity", "text"),
    [
        (0.00005, None, "MRD negative (< 0.0001"),
        (0.0001, None, "MRD positive (>= 0.0001"),
        (0.0, 0.001, "MRD negativity not established"),
    ],
)
def test_def10_resp05_mrd_reported_against_the_local_threshold(
    value: float, sensitivity: float | None, text: str
) -> None:
    # rule: DEF-10, RESP-05
    mrd: dict[str, Any] = {"method": "flow", "value": value}
    if sensitivity is not None:
        mrd["sensitivity"] = sensitivity
    result = classify(facts_for({"mrd": mrd}))
    assert result.category is ResponseCategory.CR  # MRD never changes the category
    assert any(text in r for r in result.reasons)
    assert {"DEF-10", "RESP-05"} <= set(result.rule_ids)


def test_def10_mrd_threshold_is_a_policy_setting() -> None:
    # rule: DEF-10
    facts = facts_for({"mrd": {"method": "ngs", "value": 0.00005}})
    stricter = classify(facts, {"mrd_negative_below": 1.0e-5})
    assert any("MRD positive (>= 1e-05" in r for r in stricter.reasons)


def test_resp02_symptom_relief_goal_is_named_in_the_reasons() -> None:
    # rule: RESP-02, RESP-01
    result = classify(facts_for(goal="symptom_relief"))
    assert "RESP-02" in result.rule_ids


@pytest.mark.parametrize(
    "assessment",
    [
        {},
        {"marrow_blast_pct": 30.0},
        {"marrow_blast_pct": 5.0, "in_remission_before": True},
        {"marrow_blast_pct": 40.0, "reference_marrow_blast_pct": 10.0},
        {"trilineage_hematopoiesis": None},
        {"marrow_blast_pct": 8.0, "end_of_induction": False},
    ],
)
def test_resp04_every_category_requires_a_signature_and_names_def15(
    assessment: dict[str, Any],
) -> None:
    # rule: RESP-04, DEF-15, INO-09 (no cycle-2 dose may follow an unsigned category)
    result = classify(facts_for(assessment))
    assert result.requires_signature is True
    assert "DEF-15" in result.rule_ids
    assert result.reasons


def test_resp03_missing_mrd_is_named() -> None:
    # rule: RESP-03, DEF-10
    result = classify(facts_for({"mrd": None}))
    assert result.category is ResponseCategory.CR
    assert any("MRD not recorded" in r for r in result.reasons)
    assert "RESP-03" in result.rule_ids
