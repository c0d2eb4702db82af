"""Induction selection (RULES.md §4-5): the immunotherapy options (IND-06) and the jurisdiction (AMB-11).

Each test names the rule ids it checks; the case is ``selection_cases``'.
"""

from __future__ import annotations

import copy

import pytest

import pathways.selection
from pathways.casefile import parse_case
from pathways.definition import shipped_definition
from pathways.policy import Policy
from pathways.selection import select_induction
from pathways.vocab import OptionId
from tests.pathways.selection_cases import (
    BASE,
    advise,
    excluded,
    facts_for,
    merge,
    option,
    option_ids,
)

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
    merge(data, {"disease": {"ph_positive": True}})
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
