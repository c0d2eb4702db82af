"""Monitoring evaluation (RULES.md §7): thresholds at their boundaries, result selection, purity.

Each test names the rule ids it checks. The clinic is in America/New_York and
several fixtures sit on the DST change of 2026-03-08.
"""

from __future__ import annotations

import copy
import re
from datetime import datetime

import pytest

from pathways.decisions import Alert
from pathways.definition import load_definition, shipped_definition
from pathways.facts import LabResult
from pathways.monitoring import evaluate_monitoring
from pathways.policy import Policy
from pathways.vocab import Severity
from tests.pathways.monitoring_cases import (
    BASE,
    T1,
    T2,
    alert,
    evaluate,
    facts_for,
    ids,
    lab,
)

# --------------------------------------------------------------------------- INO-05 hold rule


@pytest.mark.parametrize(
    ("bilirubin", "hold"),
    [(1.8, False), (1.81, True)],  # ULN 1.2: 1.5 x ULN = 1.8 exactly
)
def test_ino05_mon05_bilirubin_exactly_1_5_uln_does_not_trigger_above_does(
    bilirubin: float, hold: bool
) -> None:
    # rule: INO-05, MON-05
    alerts = evaluate(
        facts_for([lab("total_bilirubin", bilirubin, uln=1.2), lab("alt", 130, uln=40)])
    )
    assert ("inotuzumab_liver_hold" in ids(alerts)) is hold
    if not hold:
        assert "lft_elevated_on_inotuzumab" in ids(alerts)


@pytest.mark.parametrize(("ast", "hold"), [(100, False), (101, True)])  # ULN 40: 2.5 x = 100
def test_ino05_transaminase_exactly_2_5_uln_does_not_trigger(ast: float, hold: bool) -> None:
    # rule: INO-05, MON-05
    alerts = evaluate(
        facts_for(
            [lab("total_bilirubin", 2.0, uln=1.0), lab("ast", ast, uln=40), lab("alt", 30, uln=40)]
        )
    )
    assert ("inotuzumab_liver_hold" in ids(alerts)) is hold


def test_ino05_hold_alert_is_critical_names_gilbert_and_its_inputs() -> None:
    # rule: INO-05, MON-05
    alerts = evaluate(
        facts_for([lab("total_bilirubin", 2.0, at=T1, uln=1.0), lab("alt", 150, at=T2, uln=40)])
    )
    hold = alert(alerts, "inotuzumab_liver_hold")
    assert hold.severity is Severity.CRITICAL
    assert hold.rule_id == "INO-05" and "MON-05" in hold.rule_ids
    # the dose it concerns: the next dose day on or after the result (cycle 1 day 8 = 2026-03-09)
    assert "Hold the cycle 1 day 8 inotuzumab dose (2026-03-09), clinician decides" in hold.message
    assert hold.inputs["dose"] == {"cycle": 1, "day": 8, "date": "2026-03-09"}
    assert "Gilbert" in hold.message and "hemolysis" in hold.message
    tests = {r["test"]: r for r in hold.inputs["results"]}
    assert tests["total_bilirubin"]["uln"] == 1.0 and tests["alt"]["value"] == 150
    assert tests["total_bilirubin"]["uln_source"] == "laboratory"
    assert "ULN 1 mg/dL: the laboratory's own, given with the result" in hold.message
    assert hold.inputs["bilirubin_x_uln_above"] == 1.5
    assert hold.inputs["ast_alt_x_uln_above"] == 2.5
    assert hold.at == datetime.fromisoformat(T2)
    assert alerts[0] is hold  # most severe first


def test_ino05_thresholds_are_defaults_recorded_in_the_policy() -> None:
    # rule: INO-05
    definition = shipped_definition()
    policy = Policy(definition)
    evaluate_monitoring(facts_for([lab("total_bilirubin", 1.0, uln=1.0)]), definition, policy)
    assert {"ino_hold_bilirubin_x_uln_above", "ino_hold_transaminase_x_uln_above"} <= policy.used
    stricter = evaluate(
        facts_for([lab("total_bilirubin", 1.5, uln=1.0), lab("alt", 90, uln=40)]),
        {"ino_hold_bilirubin_x_uln_above": 1.4, "ino_hold_transaminase_x_uln_above": 2.0},
    )
    assert "inotuzumab_liver_hold" in ids(stricter)


def test_safety_an_older_critical_result_is_kept_until_the_same_test_is_repeated() -> None:
    # rule: INO-05 (§10 rule 3): a later normal result of another test never hides it
    critical = [lab("total_bilirubin", 2.5, at=T1, uln=1.0), lab("ast", 200, at=T1, uln=40)]
    later_normal_other = [*critical, lab("alt", 20, at=T2, uln=40), lab("alp", 80, at=T2, uln=120)]
    assert "inotuzumab_liver_hold" in ids(evaluate(facts_for(later_normal_other)))
    later_normal_same = [*critical, lab("total_bilirubin", 0.8, at=T2, uln=1.0)]
    alerts = evaluate(facts_for(later_normal_same))
    assert "inotuzumab_liver_hold" not in ids(alerts)
    assert "lft_elevated_on_inotuzumab" in ids(alerts)  # AST still above ULN


def test_ino05_earlier_normal_result_never_suppresses_a_later_abnormal_one() -> None:
    # rule: INO-05
    labs = [
        lab("total_bilirubin", 0.5, at=T1, uln=1.0),
        lab("alt", 20, at=T1, uln=40),
        lab("total_bilirubin", 2.0, at=T2, uln=1.0),
        lab("alt", 120, at=T2, uln=40),
    ]
    assert "inotuzumab_liver_hold" in ids(evaluate(facts_for(labs)))


def test_results_after_as_of_in_the_clinic_zone_are_ignored_across_dst() -> None:
    # rule: INO-05 — "today" is facts.as_of on the clinic's calendar (2026-03-08 is the DST day)
    late_evening = "2026-03-08T23:30:00-04:00"  # 03:30 UTC on the 9th, still the 8th in New York
    next_morning = "2026-03-09T00:30:00-04:00"
    labs = [
        lab("total_bilirubin", 2.0, at=late_evening, uln=1.0),
        lab("alt", 150, at=late_evening, uln=40),
    ]
    assert "inotuzumab_liver_hold" in ids(evaluate(facts_for(labs, as_of="2026-03-08")))
    future = [
        lab("total_bilirubin", 2.0, at=next_morning, uln=1.0),
        lab("alt", 150, at=next_morning, uln=40),
    ]
    assert evaluate(facts_for(future, as_of="2026-03-08")) == []


def test_ino05_without_its_own_uln_a_result_takes_the_local_reference_and_says_so() -> None:
    # rule: INO-05, MON-05 — a ULN is never silently missing (lab_reference_uln, [DEFAULT])
    definition = shipped_definition()
    policy = Policy(definition)
    facts = facts_for([lab("total_bilirubin", 3.0), lab("alt", 200, uln=40)])
    hold = alert(evaluate_monitoring(facts, definition, policy), "inotuzumab_liver_hold")
    bili = next(r for r in hold.inputs["results"] if r["test"] == "total_bilirubin")
    assert bili["uln"] == 1.2 and bili["uln_source"] == "local reference range"
    assert bili["uln_setting"] == "lab_reference_uln"
    assert "ULN 1.2 mg/dL: the local reference range (lab_reference_uln, local policy" in (
        hold.message
    )
    assert "lab_reference_uln" in policy.used  # listed among the local policy the output used


def test_ino05_a_hand_entered_bilirubin_alone_holds_the_dose_until_ast_alt_are_resulted() -> None:
    # rule: INO-05, MON-05 — 3.2 mg/dL > 1.5 x the local ULN 1.2; AST/ALT unknown: cannot exclude
    alerts = evaluate(facts_for([lab("total_bilirubin", 3.2)]))
    hold = alert(alerts, "inotuzumab_liver_hold")
    assert hold.severity is Severity.CRITICAL and alerts[0] is hold
    assert hold.inputs["not_resulted"] == ["ast", "alt"]
    assert "total bilirubin 3.2 mg/dL > 1.5 x ULN (ULN 1.2 mg/dL: the local" in hold.message
    assert "AST and ALT not resulted, so the hold cannot be excluded" in hold.message
    assert "interrupt inotuzumab when total bilirubin > 1.5 x ULN" in hold.message  # the rule text
    assert "cycle 1 day 8 inotuzumab dose (2026-03-09)" in hold.message


def test_ino05_a_bilirubin_in_umol_per_litre_is_compared_in_mg_per_dl() -> None:
    # rule: INO-05 — 54.7 umol/L = 3.2 mg/dL (the catalogue's conversion); 20.5 umol/L = 1.2
    alerts = evaluate(facts_for([lab("total_bilirubin", 54.7, unit="µmol/L"), lab("alt", 30)]))
    hold = alert(alerts, "inotuzumab_liver_hold")
    bili = hold.inputs["results"][0]
    assert round(bili["value"], 2) == 3.2 and bili["entered"] == {"value": 54.7, "unit": "umol/L"}
    normal = evaluate(facts_for([lab("total_bilirubin", 20.5, unit="umol/L"), lab("alt", 30)]))
    assert "inotuzumab_liver_hold" not in ids(normal)


def test_ino05_an_institution_reference_range_overrides_the_default_and_is_named() -> None:
    # rule: INO-05 — CAREPATH_POLICY_FILE sets lab_reference_uln; the alert says it came from there
    ulns = {"alt": 45, "ast": 35, "total_bilirubin": 2.5, "alp": 130, "ldh": 250, "potassium": 5.1}
    facts = facts_for([lab("total_bilirubin", 3.2), lab("alt", 200)])
    assert "inotuzumab_liver_hold" not in ids(evaluate(facts, {"lab_reference_uln": ulns}))
    stricter = evaluate(facts, {"lab_reference_uln": {**ulns, "total_bilirubin": 1.0}})
    hold = alert(stricter, "inotuzumab_liver_hold")
    assert "institution policy file" in hold.message


def test_a_reference_range_without_the_uln_a_rule_needs_is_refused_when_the_definition_loads() -> (
    None
):
    # rule: INO-05, MON-05 — a policy file cannot take away the ULN a x ULN rule compares against
    from pathways.errors import DefinitionError

    with pytest.raises(DefinitionError, match="no upper limit for total_bilirubin"):
        load_definition(overrides={"lab_reference_uln": {"alt": 40, "ast": 40, "alp": 120}})


def test_ino05_no_hold_alert_when_not_on_inotuzumab() -> None:
    # rule: INO-05
    facts = facts_for(
        [lab("total_bilirubin", 3.0, uln=1.0), lab("alt", 200, uln=40)],
        treatment={"regimen": "blinatumomab"},
    )
    assert "inotuzumab_liver_hold" not in ids(evaluate(facts))


def test_a_lab_value_never_changes_a_phase() -> None:
    # rule: INO-05, MON-13 (§10 rule 2): alerts only, the facts are untouched
    facts = facts_for([lab("total_bilirubin", 3.0, uln=1.0), lab("alt", 200, uln=40)])
    before = copy.deepcopy(facts)
    alerts = evaluate(facts)
    assert facts == before and facts.phase is None
    assert all(isinstance(a, Alert) for a in alerts)


# --------------------------------------------------------------------------- INO-02, MON-07, INO-11


@pytest.mark.parametrize(("blasts", "fires"), [(10000, False), (10001, True)])
def test_ino02_cytoreduction_before_the_first_dose(blasts: int, fires: bool) -> None:
    # rule: INO-02
    facts = facts_for(as_of="2026-03-02", disease={"peripheral_blasts_per_ul": blasts})
    alerts = evaluate(facts)
    assert ("inotuzumab_cytoreduction_before_first_dose" in ids(alerts)) is fires
    after_first_dose = facts_for(as_of="2026-03-03", disease={"peripheral_blasts_per_ul": 20000})
    assert "inotuzumab_cytoreduction_before_first_dose" not in ids(evaluate(after_first_dose))


def test_mon07_rising_bilirubin_after_inotuzumab_is_an_sos_sign() -> None:
    # rule: MON-07, INO-11
    labs = [
        lab("total_bilirubin", 0.6, at=T1, uln=1.2),
        lab("total_bilirubin", 0.9, at=T2, uln=1.2),
    ]
    rising = alert(evaluate(facts_for(labs)), "sos_sign_rising_bilirubin")
    assert "transplant team" in rising.message
    assert rising.at == datetime.fromisoformat(T2)
    falling = [
        lab("total_bilirubin", 0.9, at=T1, uln=1.2),
        lab("total_bilirubin", 0.6, at=T2, uln=1.2),
    ]
    assert "sos_sign_rising_bilirubin" not in ids(evaluate(facts_for(falling)))


def test_ino11_bilirubin_at_uln_in_a_possible_hct_candidate_after_inotuzumab() -> None:
    # rule: INO-11, AMB-19
    facts = facts_for(
        [lab("total_bilirubin", 1.2, uln=1.2)],
        fitness={"hct_eligible": "pending"},
        treatment=None,
        history={"prior_therapies": ["inotuzumab_ozogamicin"]},
    )
    found = alert(evaluate(facts), "sos_risk_bilirubin_before_hct")
    assert found.severity is Severity.INFO
    below = facts_for(
        [lab("total_bilirubin", 1.1, uln=1.2)],
        fitness={"hct_eligible": "pending"},
        treatment=None,
        history={"prior_therapies": ["inotuzumab_ozogamicin"]},
    )
    assert "sos_risk_bilirubin_before_hct" not in ids(evaluate(below))


# --------------------------------------------------------------------------- before an LP


def test_wu23b_mon21_circulating_blasts_before_lp() -> None:
    # rule: WU-23b, MON-21, WU-23 (every patient has an LP, so no LP booking is needed)
    alerts = evaluate(facts_for(disease={"peripheral_blasts_per_ul": 300}, treatment=None))
    found = alert(alerts, "circulating_blasts_before_lp")
    assert "contaminate the CSF" in found.message
    assert found.inputs["disease.peripheral_blasts_per_ul"] == 300
    assert "circulating_blasts_before_lp" not in ids(evaluate(facts_for(treatment=None)))


@pytest.mark.parametrize(("platelets", "fires"), [(50000, False), (49999, True)])
def test_wu23c_mon22_platelets_below_50000_before_lp(platelets: int, fires: bool) -> None:
    # rule: WU-23c, MON-22
    alerts = evaluate(facts_for([lab("platelets", platelets)], treatment=None))
    assert ("low_platelets_before_lp" in ids(alerts)) is fires
    if fires:
        found = alert(alerts, "low_platelets_before_lp")
        assert found.inputs["platelets_below"] == 50000 and "cryoprecipitate" in found.message


def test_mon22_uses_the_latest_platelet_count() -> None:
    # rule: MON-22 — a later count of the same test supersedes the earlier one
    labs = [lab("platelets", 30000, at=T1), lab("platelets", 80000, at=T2)]
    assert "low_platelets_before_lp" not in ids(evaluate(facts_for(labs, treatment=None)))
    labs = [lab("platelets", 80000, at=T1), lab("platelets", 30000, at=T2)]
    assert "low_platelets_before_lp" in ids(evaluate(facts_for(labs, treatment=None)))
    # Two counts stamped at the same instant: the worse one is never hidden by the order.
    tie = [lab("platelets", 30000, at=T2), lab("platelets", 80000, at=T2)]
    assert "low_platelets_before_lp" in ids(evaluate(facts_for(tie, treatment=None)))


# --------------------------------------------------------------------------- tumour lysis


@pytest.mark.parametrize(("as_of", "fires"), [("2026-03-08", True), ("2026-03-09", False)])
def test_mon26_def14_tumour_lysis_watch_day_1_to_7_of_induction(as_of: str, fires: bool) -> None:
    # rule: MON-26, DEF-14 — cycle start 2026-03-02 (day 7 is the DST day 2026-03-08)
    facts = facts_for(
        as_of=as_of,
        disease={"marrow_blast_pct": 80.0},
        treatment={"regimen": "blinatumomab"},
    )
    assert ("tumour_lysis_watch" in ids(evaluate(facts))) is fires


@pytest.mark.parametrize(("as_of", "fires"), [("2026-03-01", True), ("2026-03-02", False)])
def test_mon26_tumour_lysis_watch_counts_from_p1_when_a_prephase_precedes(
    as_of: str, fires: bool
) -> None:
    # rule: MON-26, DEF-14, BLIN-01 — IND_D1 is P1 (2026-02-23) for a course with a
    # pre-phase, so the watch ends on P7 (2026-03-01), as the planned tumour-lysis
    # labs do, not on C1_D1 + 6.
    facts = facts_for(
        as_of=as_of,
        disease={"peripheral_blasts_per_ul": 20000},
        treatment={"regimen": "blinatumomab", "phase": "prephase", "prephase_start": "2026-02-23"},
    )
    alerts = evaluate(facts)
    assert ("tumour_lysis_watch" in ids(alerts)) is fires
    if fires:
        assert "2026-02-23 to 2026-03-01" in alert(alerts, "tumour_lysis_watch").message


def test_mon26_no_watch_without_high_burden_and_abnormal_potassium_escalates() -> None:
    # rule: MON-26, DEF-14
    low_burden = facts_for(as_of="2026-03-03", treatment={"regimen": "blinatumomab"})
    assert "tumour_lysis_watch" not in ids(evaluate(low_burden))
    high = facts_for(
        [lab("potassium", 5.9, uln=5.1, at="2026-03-03T07:00:00-05:00")],
        as_of="2026-03-03",
        disease={"peripheral_blasts_per_ul": 20000},
        treatment={"regimen": "blinatumomab"},
    )
    alerts = evaluate(high)
    assert "tumour_lysis_potassium_abnormal" in ids(alerts)
    assert alert(alerts, "tumour_lysis_watch").severity is Severity.INFO


# --------------------------------------------------------------------------- testis


@pytest.mark.parametrize(
    ("lineage", "has_testes", "involvement", "fires"),
    [
        ("T", True, None, True),
        ("T", None, None, True),  # unknown is not "no testes"
        ("T", False, None, False),
        ("T", True, False, False),  # the exam is documented
        ("B", True, None, False),
    ],
)
def test_test02_t_all_testicular_risk_flag_until_the_exam_is_documented(
    lineage: str, has_testes: bool | None, involvement: bool | None, fires: bool
) -> None:
    # rule: TEST-02, WU-11 — a flag at DX, no action beyond the exam of WU-11/TEST-01.
    disease = {"lineage": lineage, "testicular_involvement": involvement}
    facts = facts_for(
        treatment=None,
        patient={**BASE["patient"], "has_testes": has_testes},
        disease={**BASE["disease"], **disease},
    )
    alerts = evaluate(facts)
    assert ("testicular_involvement_common_in_t_all" in ids(alerts)) is fires
    if fires:
        found = alert(alerts, "testicular_involvement_common_in_t_all")
        assert found.severity is Severity.INFO and found.rule_ids[0] == "TEST-02"


# --------------------------------------------------------------------------- shape


def test_every_alert_has_a_stable_id_rule_ids_inputs_and_known_rules() -> None:
    # rule: INO-05, MON-13, MON-21, MON-22, MON-26 — the alert contract
    morning = "2026-03-01T08:00:00-05:00"
    facts = facts_for(
        [
            lab("total_bilirubin", 3.0, at=morning, uln=1.0),
            lab("alt", 200, at=morning, uln=40),
            lab("platelets", 20000, at=morning),
        ],
        disease={"peripheral_blasts_per_ul": 20000},
        as_of="2026-03-02",
    )
    alerts = evaluate(facts)
    assert {
        "inotuzumab_liver_hold",
        "inotuzumab_cytoreduction_before_first_dose",
        "circulating_blasts_before_lp",
        "low_platelets_before_lp",
        "tumour_lysis_watch",
    } <= set(ids(alerts))
    catalogue = shipped_definition().rules
    for a in alerts:
        assert re.fullmatch(r"[a-z0-9_]+", a.id)
        assert a.rule_id == a.rule_ids[0]
        assert all(r in catalogue for r in a.rule_ids)
        assert a.inputs and a.message
    severities = [a.severity for a in alerts]
    order = [Severity.CRITICAL, Severity.WARNING, Severity.INFO]
    assert severities == sorted(severities, key=order.index)
    assert evaluate(facts) == alerts  # deterministic


def test_lab_results_keep_their_canonical_units() -> None:
    # rule: INO-05 — bilirubin in umol/L is converted by the case parser before the rule
    facts = facts_for(
        [
            lab("total_bilirubin", 34.2, uln=20.52, unit="umol/L"),  # 2.0 and 1.2 mg/dL
            lab("alt", 130, uln=40),
        ]
    )
    result = facts.labs[0]
    assert isinstance(result, LabResult) and result.unit == "mg/dL"
    assert "inotuzumab_liver_hold" in ids(evaluate(facts))
