"""Induction selection (RULES.md §4-5): the overlays on every option, and the policy and data.

Age and rituximab cautions, the pre-phase, the SOS banner, the relapse
intervals, the trial prompt, CNS prophylaxis, the missing inputs; the defaults
recorded and the section's validation. Each test names the rule ids it checks;
the case is ``selection_cases``'.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pathways.definition import DEFINITIONS_DIR, load_definition, shipped_definition
from pathways.errors import DefinitionError
from pathways.policy import Policy
from pathways.selection import select_induction
from tests.pathways.selection_cases import (
    advise,
    excluded,
    facts_for,
    option,
    option_ids,
    overlay,
)

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
