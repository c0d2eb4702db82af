"""Induction selection (RULES.md §4-5): every branch of the tree, each gate at its boundary.

Each test names the rule ids it checks; facts are built through the public
case-file parser, in a zone with DST.
"""

from __future__ import annotations

import copy
import dataclasses
import shutil
from datetime import date
from pathlib import Path
from typing import Any

import pytest

import pathways.selection
from pathways.casefile import parse_case
from pathways.decisions import InductionAdvice
from pathways.definition import DEFINITIONS_DIR, load_definition, shipped_definition
from pathways.errors import DefinitionError
from pathways.facts import CaseFacts, SignedResponse
from pathways.policy import Policy
from pathways.selection import select_induction
from pathways.vocab import OptionId, Phase, ResponseCategory

BASE: dict[str, Any] = {
    "format": "carepath.case/1",
    "as_of": "2026-11-24",
    "timezone": "America/New_York",
    "jurisdiction": "US",
    "patient": {
        "birth_date": "1971-05-04",
        "sex_at_birth": "male",
        "has_testes": True,
        "weight_kg": 81.0,
        "height_cm": 178.0,
    },
    "disease": {
        "lineage": "B",
        "cd19": "positive",
        "cd22": "positive",
        "cd20": "negative",
        "ph_positive": False,
        "abl1_kinase_mutations": None,
        "kmt2a_rearranged": False,
        "cns_status": "negative",
        "testicular_involvement": False,
        "marrow_blast_pct": 30.0,
        "peripheral_blasts_per_ul": 1000,
    },
    "history": {
        "status": "relapsed",
        "initial_diagnosis_date": "2025-01-10",
        "initial_treatment_start_date": "2025-01-14",
        "relapse_dates": ["2026-11-02"],
        "prior_therapies": ["hyper_cvad"],
        "prior_allogeneic_hct_date": None,
    },
    "fitness": {"category": "fit", "ecog": 1, "hct_eligible": "yes"},
    "goal": "cure",
    "centre": {"immunotherapy_capable": True, "cart_qualified": True},
}


def _merge(target: dict[str, Any], changes: dict[str, Any]) -> None:
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        else:
            target[key] = value


def facts_for(**changes: Any) -> CaseFacts:
    data = copy.deepcopy(BASE)
    _merge(data, changes)
    return parse_case(data)


def advise(facts: CaseFacts, overrides: dict[str, Any] | None = None) -> InductionAdvice:
    definition = load_definition(overrides=overrides) if overrides else shipped_definition()
    return select_induction(facts, definition, Policy(definition))


def option_ids(advice: InductionAdvice) -> list[str]:
    return [o.id for o in advice.options]


def excluded(advice: InductionAdvice) -> dict[str, str]:
    return {e.id: e.reason for e in advice.excluded}


def overlay(advice: InductionAdvice, overlay_id: str) -> Any:
    return next((o for o in advice.overlays if o.id == overlay_id), None)


def option(advice: InductionAdvice, option_id: str) -> Any:
    return next(o for o in advice.options if o.id == option_id)


# --------------------------------------------------------------------------- immunotherapy (IND-06)


def test_ind06a_cd19_cd22_positive_lists_every_eligible_immunotherapy_unranked() -> None:
    # rule: IND-06, IND-06a, IND-06h, AMB-24 (suggested, never ranked or picked)
    advice = advise(facts_for())
    assert advice.branch == "immunotherapy"
    assert option_ids(advice) == [
        "blinatumomab",
        "inotuzumab_ozogamicin",
        "brexucabtagene_autoleucel",
        "obecabtagene_autoleucel",
        "clinical_trial",
    ]
    # A fixed display order (the vocabulary order), never a ranking.
    assert option_ids(advice) == sorted(option_ids(advice), key=lambda i: list(OptionId).index(i))
    assert "NOT a ranking" in (pathways.selection.__doc__ or "")
    for opt in advice.options[:4]:
        assert {"IND-06a", "IND-06b", "IND-06h"} <= set(opt.rule_ids)
    assert "chemotherapy_high_intensity" not in option_ids(advice)


def test_amb24_every_advice_is_a_set_of_suggestions() -> None:
    # rule: AMB-24 — Grade 2C: "suggested", never required; a deviation needs only a
    # documented reason (the chemotherapy display filter says so).
    for changes in ({}, {"disease": {"cd19": "negative", "cd22": "negative"}}):
        advice = advise(facts_for(**changes))
        assert "AMB-24" in advice.rule_ids
    less_fit = advise(
        facts_for(
            disease={"cd19": "negative", "cd22": "negative"}, fitness={"category": "less_fit"}
        )
    )
    assert (
        "may be chosen with a recorded reason" in excluded(less_fit)["chemotherapy_high_intensity"]
    )


def test_ino01_inotuzumab_gate_is_cd22_and_it_may_be_given_as_an_outpatient() -> None:
    # rule: INO-01, IND-06b — the CD22 gate cites INO-01; the option notes outpatient use.
    ino = option(advise(facts_for()), "inotuzumab_ozogamicin")
    assert "INO-01" in ino.rule_ids and "outpatient" in ino.note
    gate = next(
        e
        for e in advise(facts_for(disease={"cd22": None})).excluded
        if e.id == "inotuzumab_ozogamicin"
    )
    assert gate.rule_ids == ("IND-06b", "INO-01")


def test_ind06b_cd22_negative_excludes_inotuzumab_only() -> None:
    # rule: IND-06b
    advice = advise(facts_for(disease={"cd22": "negative"}))
    assert advice.branch == "immunotherapy"
    assert excluded(advice)["inotuzumab_ozogamicin"] == "CD22 negative"
    assert "blinatumomab" in option_ids(advice)


def test_ind06b_unknown_cd22_excludes_inotuzumab_with_that_reason() -> None:
    # rule: IND-06b, IND-00 — unknown is unknown, never negative or positive
    advice = advise(facts_for(disease={"cd22": None}))
    assert excluded(advice)["inotuzumab_ozogamicin"] == "CD22 status unknown"
    assert "disease.cd22" in advice.missing
    assert "blinatumomab" in option_ids(advice)


def test_ind06b_amb09_unknown_cd19_excludes_blinatumomab_and_every_cart_product() -> None:
    # rule: IND-06b, AMB-09 — every CAR-T product described is CD19-directed
    advice = advise(facts_for(disease={"cd19": None}))
    reasons = excluded(advice)
    for product in ("blinatumomab", "brexucabtagene_autoleucel", "obecabtagene_autoleucel"):
        assert "CD19 status unknown" in reasons[product]
    assert (
        "AMB-09" in next(e for e in advice.excluded if e.id == "obecabtagene_autoleucel").rule_ids
    )
    assert option_ids(advice)[0] == "inotuzumab_ozogamicin"


def test_unknown_cd19_and_cd22_shows_cd19_cd22_negative_branch_beside_with_fallback() -> None:
    # rule: IND-06b, CHEMO-01 — chemotherapy is the fallback of §5.7
    advice = advise(facts_for(disease={"cd19": None, "cd22": None}))
    assert advice.branch == "immunotherapy"
    assert "chemotherapy" in advice.alternative_branches
    assert "chemotherapy_high_intensity" in option_ids(advice)
    assert "fallback" in option(advice, "chemotherapy_high_intensity").note


def test_ind06c_ind12_centre_without_crs_capability_excludes_immunotherapy() -> None:
    # rule: IND-06c, IND-12
    advice = advise(facts_for(centre={"immunotherapy_capable": False}))
    reasons = excluded(advice)
    for drug in ("blinatumomab", "inotuzumab_ozogamicin", "obecabtagene_autoleucel"):
        assert "CRS and neurologic toxicity" in reasons[drug]
    assert "chemotherapy" in advice.alternative_branches


def test_ind06c_unknown_centre_capability_warns_must_be_verified() -> None:
    # rule: IND-06c, IND-12
    advice = advise(facts_for(centre={"immunotherapy_capable": None, "cart_qualified": None}))
    blin = option(advice, "blinatumomab")
    assert any("verify" in w and "IND-06c" in w for w in blin.warnings)
    brexu = option(advice, "brexucabtagene_autoleucel")
    assert any("CAR-T qualification" in w for w in brexu.warnings)
    assert {"centre.immunotherapy_capable", "centre.cart_qualified"} <= set(advice.missing)


def test_ind06d_cart_needs_qualified_centre() -> None:
    # rule: IND-06d, CART-01
    advice = advise(facts_for(centre={"cart_qualified": False}))
    for product in ("brexucabtagene_autoleucel", "obecabtagene_autoleucel"):
        assert "qualified CAR-T centre" in excluded(advice)[product]
    assert "blinatumomab" in option_ids(advice)


@pytest.mark.parametrize(
    ("birth_date", "status", "relapses", "offered", "reason"),
    [
        # as_of 2026-11-24: born 2001-11-24 is 25, born 2000-11-24 is 26.
        ("2001-11-24", "refractory", [], True, None),
        ("2000-11-24", "refractory", [], False, "age over 25"),
        ("2001-11-24", "relapsed", ["2026-11-02"], False, "neither refractory nor after >=2"),
        ("2001-11-24", "relapsed", ["2025-10-02", "2026-11-02"], True, None),
    ],
)
def test_ind06d_tisagenlecleucel_age_25_vs_26_and_refractory_or_two_relapses(
    birth_date: str, status: str, relapses: list[str], offered: bool, reason: str | None
) -> None:
    # rule: IND-06d, CART-01
    facts = facts_for(
        patient={"birth_date": birth_date},
        history={"status": status, "relapse_dates": relapses},
    )
    advice = advise(facts)
    if offered:
        assert "tisagenlecleucel" in option_ids(advice)
        assert "IND-06d" in option(advice, "tisagenlecleucel").rule_ids
    else:
        assert reason is not None
        assert reason in excluded(advice)["tisagenlecleucel"]


def test_ind06d_tisagenlecleucel_scope_is_a_tunable_default() -> None:
    # rule: IND-06d
    facts = facts_for(patient={"birth_date": "2000-11-24"}, history={"status": "refractory"})
    advice = advise(facts, {"tisagenlecleucel_max_age_years": 26})
    assert "tisagenlecleucel" in option_ids(advice)


def test_ind06d_obecabtagene_carries_the_age_note_and_brexucabtagene_adult_scope() -> None:
    # rule: IND-06d
    advice = advise(facts_for())
    assert "US label is for adults" in option(advice, "obecabtagene_autoleucel").note
    assert "adults" in option(advice, "brexucabtagene_autoleucel").note


def test_ind06g_inotuzumab_note_liver_risk() -> None:
    # rule: IND-06g
    ino = option(advise(facts_for()), "inotuzumab_ozogamicin")
    assert "IND-06g" in ino.rule_ids
    assert "liver" in ino.note


# --------------------------------------------------------------------------- jurisdiction (AMB-11)


def test_ind06e_ind06f_amb11_eu_ph_positive_warns_never_blocks() -> None:
    # rule: IND-06e, IND-06f, AMB-11
    eu = advise(facts_for(jurisdiction="EU", disease={"ph_positive": True}))
    blin = option(eu, "blinatumomab")
    ino = option(eu, "inotuzumab_ozogamicin")
    assert any("Ph-negative" in w for w in blin.warnings)
    assert "IND-06e" in blin.rule_ids
    assert any("failed at least one TKI" in w for w in ino.warnings)
    assert "IND-06f" in ino.rule_ids
    us = advise(facts_for(jurisdiction="US", disease={"ph_positive": True}))
    assert option(us, "blinatumomab").warnings == ()
    assert option(us, "inotuzumab_ozogamicin").warnings == ()


def test_ind06f_eu_inotuzumab_warning_is_configurable() -> None:
    # rule: IND-06f
    facts = facts_for(jurisdiction="EU", disease={"ph_positive": True})
    advice = advise(facts, {"eu_inotuzumab_ph_prior_tki_warning": False})
    assert option(advice, "inotuzumab_ozogamicin").warnings == ()


def test_amb11_unstated_jurisdiction_is_the_clinic_default_policy() -> None:
    # rule: AMB-11 — a case without "jurisdiction" follows the pathway default, which
    # an institution overrides (jurisdiction: EU) without touching code.
    data = copy.deepcopy(BASE)
    del data["jurisdiction"]
    _merge(data, {"disease": {"ph_positive": True}})
    facts = parse_case(data)
    assert facts.jurisdiction is None
    definition = shipped_definition()
    policy = Policy(definition)
    us = select_induction(facts, definition, policy)
    assert option(us, "blinatumomab").warnings == ()
    assert "jurisdiction" in policy.used
    eu = advise(facts, {"jurisdiction": "EU"})
    assert any("Ph-negative" in w for w in option(eu, "blinatumomab").warnings)


def test_amb11_eu_tisagenlecleucel_scope_warning() -> None:
    # rule: AMB-11, IND-06d
    facts = facts_for(
        jurisdiction="EU",
        patient={"birth_date": "2003-01-01"},
        history={"status": "refractory", "relapse_dates": []},
    )
    tisa = option(advise(facts), "tisagenlecleucel")
    assert any("FDA scope only" in w for w in tisa.warnings)


# --------------------------------------------------------------------------- Ph+ (IND-04, PH)


def test_ind04_ph_positive_without_mutation_result_asks_for_testing() -> None:
    # rule: IND-04, PH-01, PH-02, PH-03, PH-06, WU-07, AMB-13
    advice = advise(facts_for(disease={"ph_positive": True, "abl1_kinase_mutations": None}))
    assert advice.branch == "ph_positive"
    tki = overlay(advice, "bcr_abl1_tki")
    assert tki is not None and {"PH-01", "PH-02", "PH-06", "AMB-13"} <= set(tki.rule_ids)
    assert "maps no mutation" in tki.message
    # rule: POST-07 — Ph+: HCT follows induction for transplant-eligible patients.
    assert "POST-07" in tki.rule_ids and "HCT follows induction" in tki.message
    testing = overlay(advice, "abl1_mutation_testing")
    assert testing is not None and "WU-07" in testing.rule_ids
    assert "disease.abl1_kinase_mutations" in advice.missing
    assert "PH-03" in option(advice, "blinatumomab").rule_ids


def test_ph02_amb13_mutation_result_never_changes_the_options() -> None:
    # rule: PH-02, AMB-13 — no mutation-to-TKI mapping, no TKI auto-picked
    with_t315i = advise(
        facts_for(disease={"ph_positive": True, "abl1_kinase_mutations": ["T315I"]})
    )
    no_mutation = advise(facts_for(disease={"ph_positive": True, "abl1_kinase_mutations": []}))
    assert overlay(with_t315i, "abl1_mutation_testing") is None
    assert option_ids(with_t315i) == option_ids(no_mutation)
    assert "T315I" in overlay(with_t315i, "bcr_abl1_tki").message
    assert "no mutation found" in overlay(no_mutation, "bcr_abl1_tki").message
    assert not {"dasatinib", "ponatinib"} & set(option_ids(with_t315i))


def test_ph04_cd19_cd22_negative_tki_plus_corticosteroid_or_chemotherapy() -> None:
    # rule: PH-04, PH-05, CHEMO-03
    advice = advise(
        facts_for(
            disease={"ph_positive": True, "cd19": "negative", "cd22": "negative"},
            fitness={"category": "fit"},
        )
    )
    assert advice.branch == "ph_positive"
    assert option_ids(advice) == [
        "chemotherapy_high_intensity",
        "chemotherapy_moderate_intensity",
        "chemotherapy_low_intensity",
        "clinical_trial",
    ]
    assert "TKI + corticosteroid" in option(advice, "chemotherapy_low_intensity").note
    assert "PH-04" in option(advice, "chemotherapy_high_intensity").rule_ids
    prompt = overlay(advice, "clinical_trial_prompt")
    assert "PH-05" in prompt.rule_ids and "Ph-positive" in prompt.message


def test_ph_status_unknown_shows_ph_branch_beside() -> None:
    # rule: IND-00, IND-04
    advice = advise(facts_for(disease={"ph_positive": None}))
    assert advice.branch == "immunotherapy"
    assert "ph_positive" in advice.alternative_branches
    assert "disease.ph_positive" in advice.missing


# --------------------------------------------------------------------------- T-cell (IND-05, NEL)


def test_ind05_t_cell_nelarabine_with_dose_arithmetic_and_alternatives() -> None:
    # rule: IND-05, NEL-01, NEL-03, NEL-04, NEL-06, NEL-07, NEL-09, CNS-07
    advice = advise(facts_for(disease={"lineage": "T", "cd19": None, "cd22": None}))
    assert advice.branch == "t_cell"
    nel = option(advice, "nelarabine")
    assert {"IND-05", "NEL-01", "NEL-06", "NEL-07"} <= set(nel.rule_ids)
    # Mosteller BSA sqrt(178 x 81 / 3600) = 2.00 m2; 1500 mg/m2 x 2.00 = 3000 mg.
    assert "1500 mg/m2 x BSA 2.00 m2 (mosteller) = 3000 mg" in nel.note
    assert "not a released dose" in nel.note
    assert any("NEL-04" in w for w in nel.warnings)
    assert any("NEL-07" in w for w in nel.warnings)  # one prior regimen, not refractory
    chemo = option(advice, "chemotherapy_moderate_intensity")
    assert "NEL-09" in chemo.rule_ids and "venetoclax" in chemo.note
    cns = overlay(advice, "cns_prophylaxis")
    assert "CNS-07" in cns.rule_ids
    # T-ALL needs no CD19/CD22 (IND-00)
    assert "disease.cd19" not in advice.missing
    # rule: POST-07 — HCT follows induction for transplant-eligible T-ALL patients.
    assert "POST-07" in nel.rule_ids and "transplant-eligible" in nel.note


@pytest.mark.parametrize(("birth_date", "offered"), [("2010-11-24", True), ("2010-11-25", False)])
def test_nel02_amb15_nelarabine_age_16_offered_age_15_excluded(
    birth_date: str, offered: bool
) -> None:
    # rule: NEL-02, AMB-15 (as_of 2026-11-24: the first birth date turns 16 that day)
    advice = advise(facts_for(patient={"birth_date": birth_date}, disease={"lineage": "T"}))
    if offered:
        assert "nelarabine" in option_ids(advice)
    else:
        reason = excluded(advice)["nelarabine"]
        assert "under 16" in reason and "clinician review" in reason
        assert "AMB-15" in next(e for e in advice.excluded if e.id == "nelarabine").rule_ids


def test_nel10_ind09_t_cell_relapse_three_years_after_diagnosis_offers_retreatment() -> None:
    # rule: NEL-10, IND-09, DEF-12
    advice = advise(
        facts_for(
            disease={"lineage": "T"},
            history={
                "initial_diagnosis_date": "2022-01-10",
                "initial_treatment_start_date": "2022-01-14",
            },
        )
    )
    prior = option(advice, "prior_induction_regimen")
    assert {"IND-09", "DEF-12", "NEL-10"} <= set(prior.rule_ids)


def test_amb12_kmt2a_t_cell_at_first_relapse_shows_both_branches() -> None:
    # rule: AMB-12, REV-01
    advice = advise(facts_for(disease={"lineage": "T", "kmt2a_rearranged": True}))
    assert advice.branch == "t_cell"
    assert advice.alternative_branches == ("kmt2a",)
    rev = option(advice, "revumenib")
    assert "AMB-12" in rev.rule_ids and "clinician decides" in rev.note
    assert "nelarabine" in option_ids(advice)


def test_amb12_kmt2a_ph_positive_at_first_relapse_shows_both_branches() -> None:
    # rule: AMB-12
    advice = advise(facts_for(disease={"ph_positive": True, "kmt2a_rearranged": True}))
    assert advice.branch == "ph_positive"
    assert "kmt2a" in advice.alternative_branches
    assert "revumenib" in option_ids(advice)


# --------------------------------------------------------------------------- CD19-/CD22- (IND-07/08)


def test_ind07_kmt2a_cd19_cd22_negative_revumenib_with_dose_arithmetic() -> None:
    # rule: IND-07, REV-01, REV-02, REV-03
    advice = advise(
        facts_for(disease={"cd19": "negative", "cd22": "negative", "kmt2a_rearranged": True})
    )
    assert advice.branch == "kmt2a"
    rev = option(advice, "revumenib")
    assert {"IND-07", "REV-01", "REV-03"} <= set(rev.rule_ids)
    assert "270 mg twice daily" in rev.note
    assert "pharmacist" in rev.note
    assert rev.warnings == ()


def test_rev04_revumenib_option_with_strong_cyp3a4_inhibitor_lower_dose() -> None:
    # rule: REV-04, AMB-14
    advice = advise(
        facts_for(
            disease={"cd19": "negative", "cd22": "negative", "kmt2a_rearranged": True},
            medications=["Posaconazole"],
        )
    )
    rev = option(advice, "revumenib")
    assert "160 mg twice daily" in rev.note
    assert any("REV-04" in w for w in rev.warnings)


def test_rev02_revumenib_under_40_kg_is_by_bsa() -> None:
    # rule: REV-02, REV-03
    advice = advise(
        facts_for(
            patient={"weight_kg": 38.0, "height_cm": 150.0},
            disease={"cd19": "negative", "cd22": "negative", "kmt2a_rearranged": True},
        )
    )
    assert "160 mg/m2 twice daily x BSA" in option(advice, "revumenib").note


def test_ind08_cd19_cd22_negative_without_kmt2a_chemotherapy_by_fitness() -> None:
    # rule: IND-08, CHEMO-01, CHEMO-02, CHEMO-03, IND-02
    fit = advise(facts_for(disease={"cd19": "negative", "cd22": "negative"}))
    assert fit.branch == "chemotherapy"
    assert option_ids(fit)[:2] == ["chemotherapy_high_intensity", "chemotherapy_moderate_intensity"]
    assert "display filter" in excluded(fit)["chemotherapy_low_intensity"]
    assert "CALGB 9111" in option(fit, "chemotherapy_high_intensity").note
    prompt = overlay(fit, "clinical_trial_prompt")
    assert "CD19-/CD22-negative" in prompt.message and "IND-08" in prompt.rule_ids
    less_fit = advise(
        facts_for(
            disease={"cd19": "negative", "cd22": "negative"}, fitness={"category": "less_fit"}
        )
    )
    assert option_ids(less_fit)[:2] == [
        "chemotherapy_moderate_intensity",
        "chemotherapy_low_intensity",
    ]
    assert "chemotherapy_high_intensity" in excluded(less_fit)


def test_kmt2a_unknown_in_cd19_cd22_negative_shows_kmt2a_branch_beside() -> None:
    # rule: IND-00, IND-07
    advice = advise(
        facts_for(disease={"cd19": "negative", "cd22": "negative", "kmt2a_rearranged": None})
    )
    assert advice.branch == "chemotherapy"
    assert advice.alternative_branches == ("kmt2a",)
    assert "disease.kmt2a_rearranged" in advice.missing


# --------------------------------------------------------------------------- IND-01 / goal


def test_ind01_amb22_frail_supportive_care_clinician_confirms_low_intensity_allowed() -> None:
    # rule: IND-01, FIT-07, AMB-22
    advice = advise(facts_for(fitness={"category": "frail"}))
    assert advice.branch == "supportive_care"
    assert option_ids(advice) == ["chemotherapy_low_intensity", "supportive_care"]
    assert "clinician confirms" in option(advice, "supportive_care").note
    assert "recorded reason" in option(advice, "chemotherapy_low_intensity").note
    assert advice.alternative_branches == ("immunotherapy",)
    assert overlay(advice, "clinical_trial_prompt") is not None


def test_ind01_patient_declines_leukemia_directed_therapy() -> None:
    # rule: IND-01, SM-12
    advice = advise(facts_for(declines_therapy=True))
    assert advice.branch == "supportive_care"
    assert option_ids(advice) == ["supportive_care"]
    assert "SM-12" in option(advice, "supportive_care").rule_ids


def test_resp02_goal_symptom_relief_supportive_branch_with_disease_branch_beside() -> None:
    # rule: RESP-02, FIT-07
    advice = advise(facts_for(goal="symptom_relief"))
    assert advice.branch == "supportive_care"
    assert option_ids(advice) == ["supportive_care"]
    assert advice.alternative_branches == ("immunotherapy",)
    assert "RESP-02" in option(advice, "supportive_care").rule_ids


# --------------------------------------------------------------------------- MULTI (IND-03)


def test_ind03_multi_two_relapses_with_known_prior_therapies() -> None:
    # rule: IND-03, DEF-11, MULTI-01, MULTI-02, MULTI-03, MULTI-04
    advice = advise(
        facts_for(
            disease={"kmt2a_rearranged": True},
            history={
                "relapse_dates": ["2025-10-01", "2026-11-02"],
                "prior_therapies": ["hyper_cvad", "blinatumomab"],
            },
        )
    )
    assert advice.branch == "multiply_relapsed"
    assert {"IND-03", "DEF-11", "IND-06"} <= set(advice.rule_ids)  # then the disease branch
    assert excluded(advice)["blinatumomab"] == "blinatumomab given before"
    assert "MULTI-02" in option(advice, "inotuzumab_ozogamicin").rule_ids
    assert "MULTI-03" in option(advice, "revumenib").rule_ids
    hct = option(advice, "allogeneic_hct")
    assert hct.rule_ids == ("MULTI-04",)
    trial = option(advice, "clinical_trial")
    assert "MULTI-01" in trial.rule_ids
    prompt = overlay(advice, "clinical_trial_prompt")
    assert "multiply relapsed" in prompt.message and "MULTI-01" in prompt.rule_ids


def test_multi02_any_prior_cart_excludes_every_cart_product() -> None:
    # rule: MULTI-02
    advice = advise(
        facts_for(
            history={
                "status": "relapsed",
                "relapse_dates": ["2025-10-01", "2026-11-02"],
                "prior_therapies": ["obecabtagene_autoleucel"],
            },
        )
    )
    assert excluded(advice)["brexucabtagene_autoleucel"] == "CAR-T given before"
    assert "blinatumomab" in option_ids(advice)


def test_multi03_prior_revumenib_is_not_suggested_again() -> None:
    # rule: MULTI-03
    advice = advise(
        facts_for(
            disease={"cd19": "negative", "cd22": "negative", "kmt2a_rearranged": True},
            history={
                "relapse_dates": ["2025-10-01", "2026-11-02"],
                "prior_therapies": ["revumenib"],
            },
        )
    )
    assert "given before" in excluded(advice)["revumenib"]


def test_multi06_unknown_prior_therapies_block_the_multi_suggestions() -> None:
    # rule: MULTI-06
    advice = advise(
        facts_for(
            disease={"kmt2a_rearranged": True},
            history={"relapse_dates": ["2025-10-01", "2026-11-02"], "prior_therapies": None},
        )
    )
    assert advice.branch == "multiply_relapsed"
    reasons = excluded(advice)
    assert "prior blinatumomab exposure unknown" in reasons["blinatumomab"]
    assert "prior CAR-T exposure unknown" in reasons["obecabtagene_autoleucel"]
    assert "prior revumenib exposure unknown" in reasons["revumenib"]
    assert "prior allogeneic HCT unknown" in reasons["allogeneic_hct"]
    assert "history.prior_therapies" in advice.missing
    assert not {"blinatumomab", "revumenib", "allogeneic_hct"} & set(option_ids(advice))
    assert "MULTI-06" in next(e for e in advice.excluded if e.id == "revumenib").rule_ids


def test_def11_progressive_disease_after_salvage_is_multiply_relapsed() -> None:
    # rule: DEF-11, IND-03
    facts = dataclasses.replace(
        facts_for(),
        signed_response=SignedResponse(ResponseCategory.PROGRESSIVE_DISEASE, date(2026, 11, 20)),
    )
    advice = advise(facts)
    assert advice.branch == "multiply_relapsed"
    confirmed = dataclasses.replace(facts_for(), phase=Phase.MULTIPLY_RELAPSED)
    assert advise(confirmed).branch == "multiply_relapsed"


def test_sm10_refractory_to_salvage_alone_is_not_multiply_relapsed() -> None:
    # rule: SM-10, SM-11 — moving SM-10 -> SM-11 is a clinician's confirmation (§0.5 guard)
    facts = dataclasses.replace(
        facts_for(),
        signed_response=SignedResponse(ResponseCategory.REFRACTORY, date(2026, 11, 20)),
    )
    assert advise(facts).branch == "immunotherapy"


def test_multi05_relapse_after_allogeneic_hct_offers_dli() -> None:
    # rule: MULTI-05, MULTI-04
    advice = advise(facts_for(history={"prior_allogeneic_hct_date": "2025-06-01"}))
    assert advice.branch == "immunotherapy"
    dli = option(advice, "donor_lymphocyte_infusion")
    assert dli.rule_ids == ("MULTI-05",)
    assert "2025-06-01" in dli.note
    twice = advise(
        facts_for(
            history={
                "relapse_dates": ["2025-10-01", "2026-11-02"],
                "prior_allogeneic_hct_date": "2025-06-01",
            }
        )
    )
    assert "donor_lymphocyte_infusion" in option_ids(twice)
    assert "allogeneic_hct" not in option_ids(twice)  # MULTI-04 needs no prior HCT


def test_multi05_no_dli_when_the_transplant_followed_the_relapse() -> None:
    # rule: MULTI-05
    advice = advise(
        facts_for(
            history={"relapse_dates": ["2025-10-01"], "prior_allogeneic_hct_date": "2026-01-05"}
        )
    )
    assert "donor_lymphocyte_infusion" not in option_ids(advice)


# --------------------------------------------------------------------------- overlays


@pytest.mark.parametrize(("birth_date", "caution"), [("1951-11-24", True), ("1951-11-25", False)])
def test_fit04_age_75_caution_with_high_intensity_chemotherapy(
    birth_date: str, caution: bool
) -> None:
    # rule: FIT-04
    advice = advise(
        facts_for(
            patient={"birth_date": birth_date}, disease={"cd19": "negative", "cd22": "negative"}
        )
    )
    found = overlay(advice, "age_75_caution")
    assert (found is not None) is caution
    if found:
        assert found.rule_ids == ("FIT-04",) and "Non-blocking" in found.message


def test_fit04_no_age_caution_without_high_intensity_option() -> None:
    # rule: FIT-04
    advice = advise(facts_for(patient={"birth_date": "1940-01-01"}))
    assert overlay(advice, "age_75_caution") is None


@pytest.mark.parametrize(("birth_date", "rituximab"), [("1967-11-24", True), ("1966-11-24", False)])
def test_ind10_rituximab_age_59_vs_60(birth_date: str, rituximab: bool) -> None:
    # rule: IND-10 (CD20+, chemotherapy-based, age < 60)
    advice = advise(
        facts_for(
            patient={"birth_date": birth_date},
            disease={"cd19": "negative", "cd22": "negative", "cd20": "positive"},
        )
    )
    found = overlay(advice, "rituximab")
    assert (found is not None) is rituximab
    if found:
        assert ">= 20 percent of blasts" in found.message


def test_ind10_no_rituximab_without_chemotherapy_option_or_when_cd20_negative() -> None:
    # rule: IND-10
    assert overlay(advise(facts_for(disease={"cd20": "positive"})), "rituximab") is None
    negative = advise(facts_for(disease={"cd19": "negative", "cd22": "negative"}))
    assert overlay(negative, "rituximab") is None


@pytest.mark.parametrize(
    ("marrow", "blood", "prephase"),
    [(50.0, 1000, False), (50.1, 1000, True), (10.0, 15000, False), (10.0, 15001, True)],
)
def test_ind11_def14_prephase_thresholds(marrow: float, blood: int, prephase: bool) -> None:
    # rule: IND-11, DEF-14, AMB-08, BLIN-01
    advice = advise(
        facts_for(disease={"marrow_blast_pct": marrow, "peripheral_blasts_per_ul": blood})
    )
    found = overlay(advice, "prephase")
    assert (found is not None) is prephase
    if found:
        assert "AMB-08" in found.rule_ids and "final decision" in found.message


def test_ind11_amb08_prephase_threshold_is_configurable() -> None:
    # rule: AMB-08
    facts = facts_for(disease={"marrow_blast_pct": 50.0})
    advice = advise(facts, {"prephase_marrow_blast_pct_above": 49.9})
    assert overlay(advice, "prephase") is not None


def test_ind11_no_prephase_when_blinatumomab_is_not_an_option() -> None:
    # rule: IND-11
    advice = advise(facts_for(disease={"cd19": "negative", "marrow_blast_pct": 90.0}))
    assert overlay(advice, "prephase") is None


@pytest.mark.parametrize(
    ("hct", "banner"), [("yes", True), ("pending", True), (None, True), ("no", False)]
)
def test_ind13_sos_banner_when_inotuzumab_and_hct_possible(hct: str | None, banner: bool) -> None:
    # rule: IND-13, INO-11, AMB-19
    advice = advise(facts_for(fitness={"hct_eligible": hct}))
    found = overlay(advice, "sos_risk_transplant_team")
    assert (found is not None) is banner
    if found:
        assert "transplant team" in found.message and "INO-11" in found.rule_ids


def test_ind09_def12_amb05_both_intervals_shown_met_if_either() -> None:
    # rule: IND-09, DEF-12, AMB-05 — diagnosis 3 years before relapse, treatment start not
    advice = advise(
        facts_for(
            history={
                "initial_diagnosis_date": "2023-11-01",
                "initial_treatment_start_date": "2023-11-20",
                "relapse_dates": ["2026-11-10"],
            }
        )
    )
    prior = option(advice, "prior_induction_regimen")
    assert "from initial diagnosis (2023-11-01 to relapse 2026-11-10): 3.03 years" in prior.note
    assert (
        "from start of initial treatment (2023-11-20 to relapse 2026-11-10): 2.97 years"
        in prior.note
    )
    short = advise(
        facts_for(
            history={
                "initial_diagnosis_date": "2023-11-11",
                "initial_treatment_start_date": "2023-11-20",
                "relapse_dates": ["2026-11-10"],
            }
        )
    )
    assert "prior_induction_regimen" not in option_ids(short)


def test_def12_met_if_either_interval_is_a_named_overridable_default() -> None:
    # rule: DEF-12, AMB-05 — DEFAULT "met if either"; an institution may require both.
    split = facts_for(
        history={
            "initial_diagnosis_date": "2023-11-01",  # 3.03 years to the relapse
            "initial_treatment_start_date": "2023-11-20",  # 2.97 years
            "relapse_dates": ["2026-11-10"],
        }
    )
    either = option(advise(split), "prior_induction_regimen")
    assert "met if either interval" in either.note
    both = advise(split, overrides={"prolonged_remission_met_if": "both"})
    assert "prior_induction_regimen" not in option_ids(both)
    assert "prior_induction_regimen" in option_ids(
        advise(
            facts_for(
                history={
                    "initial_diagnosis_date": "2023-11-01",
                    "initial_treatment_start_date": "2023-11-02",
                    "relapse_dates": ["2026-11-10"],
                }
            ),
            overrides={"prolonged_remission_met_if": "both"},
        )
    )


def test_def12_unknown_dates_are_missing_not_guessed() -> None:
    # rule: DEF-12, IND-00
    advice = advise(
        facts_for(history={"initial_diagnosis_date": None, "initial_treatment_start_date": None})
    )
    assert "prior_induction_regimen" not in option_ids(advice)
    assert {"history.initial_diagnosis_date", "history.initial_treatment_start_date"} <= set(
        advice.missing
    )


def test_ind02_clinical_trial_prompt_always_present() -> None:
    # rule: IND-02
    for facts in (facts_for(), facts_for(fitness={"category": "frail"})):
        prompt = overlay(advise(facts), "clinical_trial_prompt")
        assert prompt is not None and "Document yes or no" in prompt.message
    plain = overlay(advise(facts_for()), "clinical_trial_prompt")
    assert "Strongly" not in plain.message


def test_cns03_prophylaxis_for_all_and_cns05_when_involved() -> None:
    # rule: CNS-03, CNS-04, CNS-05, CNS-01
    plain = overlay(advise(facts_for()), "cns_prophylaxis")
    assert plain.rule_ids[:2] == ("CNS-03", "CNS-04")
    involved = overlay(advise(facts_for(disease={"cns_status": "involved"})), "cns_prophylaxis")
    assert "CNS-05" in involved.rule_ids and "24 Gy" in involved.message
    unknown = advise(facts_for(disease={"cns_status": None}))
    assert "CNS-01" in overlay(unknown, "cns_prophylaxis").rule_ids
    assert "disease.cns_status" in unknown.missing


def test_ind00_missing_inputs_are_listed() -> None:
    # rule: IND-00
    advice = advise(
        facts_for(
            fitness={"category": None, "hct_eligible": None},
            goal=None,
            disease={"cd20": None, "kmt2a_rearranged": None},
        )
    )
    assert {
        "fitness.category",
        "fitness.hct_eligible",
        "goal",
        "disease.cd20",
        "disease.kmt2a_rearranged",
    } <= set(advice.missing)
    assert "IND-00" in advice.rule_ids


# --------------------------------------------------------------------------- policy and data


def test_defaults_used_are_recorded_in_the_policy() -> None:
    # rule: CHEMO-03, IND-10, FIT-04
    definition = shipped_definition()
    policy = Policy(definition)
    select_induction(
        facts_for(
            patient={"birth_date": "1990-01-01"},
            disease={"cd19": "negative", "cd22": "negative", "cd20": "positive"},
        ),
        definition,
        policy,
    )
    assert {
        "chemotherapy_intensity_by_fitness",
        "rituximab_age_below_years",
        "cd20_positive_blast_pct_at_least",
        "age_caution_years",
    } <= policy.used
    assert all(s.tag in {"SRC", "DER", "DEFAULT"} for s in policy.used_settings())


def test_chemo03_fitness_filter_is_local_policy_and_overridable() -> None:
    # rule: CHEMO-03
    assert shipped_definition().defaults["chemotherapy_intensity_by_fitness"].is_local_policy
    advice = advise(
        facts_for(disease={"cd19": "negative", "cd22": "negative"}),
        {"chemotherapy_intensity_by_fitness": {"fit": ["high"], "less_fit": ["low"]}},
    )
    assert "chemotherapy_moderate_intensity" in excluded(advice)


def test_selection_section_is_validated_when_the_definition_loads(tmp_path: Path) -> None:
    # rule: CHEMO-02, PH-02, NEL-09 — catalogues are data, checked at load
    folder = tmp_path / "rr-all-adult" / "2026.1"
    shutil.copytree(DEFINITIONS_DIR / "rr-all-adult" / "2026.1", folder)
    path = folder / "selection.yaml"
    text = path.read_text(encoding="utf-8").replace("rules: [PH-02]", "rules: [PH-99]")
    path.write_text(text.replace("  t_cell_alternatives:", "  t_cell_alternativez:"), "utf-8")
    with pytest.raises(DefinitionError) as raised:
        load_definition(folder=folder)
    problems = "\n".join(raised.value.problems)
    assert "unknown rule id 'PH-99'" in problems
    assert "selection.t_cell_alternativez: unknown entry" in problems
    assert "selection.t_cell_alternatives: required mapping" in problems
