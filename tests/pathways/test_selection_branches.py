"""Induction selection (RULES.md §4-5): the branches of the tree beside immunotherapy.

Ph+ (IND-04, PH), T-cell (IND-05, NEL), CD19-/CD22- (IND-07/08), the goal
and fitness (IND-01) and multiply relapsed disease (IND-03, MULTI). Each test
names the rule ids it checks; the case is ``selection_cases``'.
"""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest

from pathways.facts import SignedResponse
from pathways.vocab import Phase, ResponseCategory
from tests.pathways.selection_cases import (
    advise,
    excluded,
    facts_for,
    option,
    option_ids,
    overlay,
)

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
