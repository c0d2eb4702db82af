"""Monitoring of the regimens with their own watch (RULES.md §7): revumenib (QTc,
potassium, CYP3A4 inhibitors) and nelarabine (age, CNS disease, cytopenias).

Each test names the rule ids it checks; the case is tests/pathways/monitoring_cases.py.
"""

from __future__ import annotations

import pytest

from pathways.vocab import Severity
from tests.pathways.monitoring_cases import (
    T1,
    alert,
    evaluate,
    facts_for,
    ids,
    lab,
    with_lln,
)

# --------------------------------------------------------------------------- revumenib


REVUMENIB = {"regimen": "revumenib", "cycle": 1, "cycle_start": "2026-03-02", "phase": "induction"}


@pytest.mark.parametrize(("qtcf", "fires"), [(480, False), (481, True)])
def test_mon13_revumenib_qtcf_above_480(qtcf: float, fires: bool) -> None:
    # rule: MON-13, REV-06
    facts = facts_for([lab("qtcf_ms", 470, at=T1), lab("qtcf_ms", qtcf)], treatment=REVUMENIB)
    alerts = evaluate(facts)
    assert ("revumenib_qtcf_prolonged" in ids(alerts)) is fires
    if fires:
        found = alert(alerts, "revumenib_qtcf_prolonged")
        assert found.severity is Severity.CRITICAL and found.inputs["qtcf_above_ms"] == 480


@pytest.mark.parametrize(("qtcf", "fires"), [(460, False), (461, True)])
def test_mon13_revumenib_qtcf_rise_above_60_ms_from_baseline(qtcf: float, fires: bool) -> None:
    # rule: MON-13, REV-06 — baseline is the latest QTcF on or before day 1
    labs = [
        lab("qtcf_ms", 390, at="2026-02-20T09:00:00-05:00"),
        lab("qtcf_ms", 400, at="2026-03-01T09:00:00-05:00"),
        lab("qtcf_ms", qtcf),
    ]
    alerts = evaluate(facts_for(labs, treatment=REVUMENIB))
    assert ("revumenib_qtcf_prolonged" in ids(alerts)) is fires
    if fires:
        found = alert(alerts, "revumenib_qtcf_prolonged")
        assert found.inputs["baseline"]["value"] == 400
        assert "on or before day 1" in found.inputs["baseline_basis"]


def test_mon13_qtcf_not_evaluated_when_not_on_revumenib() -> None:
    # rule: MON-13
    assert evaluate(facts_for([lab("qtcf_ms", 520)])) == []


def test_rev06_low_potassium_against_the_labs_lower_limit() -> None:
    # rule: REV-06, MON-13
    facts = with_lln(
        facts_for([lab("potassium", 3.4), lab("magnesium", 0.7)], treatment=REVUMENIB),
        {"potassium": 3.5, "magnesium": 0.7},
    )
    alerts = evaluate(facts)
    assert "revumenib_potassium_low" in ids(alerts)
    assert "revumenib_magnesium_low" not in ids(alerts)  # at the limit, not below


def test_rev06_without_a_lab_lower_limit_the_local_reference_applies_and_is_named() -> None:
    # rule: REV-06 — lab_reference_lln (potassium 3.5, [DEFAULT])
    alerts = evaluate(facts_for([lab("potassium", 3.1)], treatment=REVUMENIB))
    found = alert(alerts, "revumenib_potassium_low")
    assert found.severity is Severity.WARNING and "local reference range" in found.message
    assert found.inputs["results"][0]["lln_source"] == "local reference range"
    assert "revumenib_potassium_low" not in ids(
        evaluate(facts_for([lab("potassium", 3.6)], treatment=REVUMENIB))
    )


def test_rev04_mon14_strong_cyp3a4_inhibitor_while_on_revumenib() -> None:
    # rule: REV-04, MON-14, REV-03, AMB-14
    alerts = evaluate(facts_for(treatment=REVUMENIB, medications=["voriconazole", "aciclovir"]))
    found = alert(alerts, "revumenib_strong_cyp3a4_inhibitor")
    assert found.inputs["medications"] == ["voriconazole"]
    assert found.inputs["suggested_dose"]["value"] == 160.0
    assert "not a released dose" in found.message
    assert "revumenib_strong_cyp3a4_inhibitor" not in ids(evaluate(facts_for(treatment=REVUMENIB)))


# --------------------------------------------------------------------------- nelarabine


NELARABINE = {
    "regimen": "nelarabine",
    "cycle": 1,
    "cycle_start": "2026-03-02",
    "phase": "induction",
}


@pytest.mark.parametrize(("birth_date", "blocked"), [("2010-03-11", True), ("2010-03-10", False)])
def test_amb15_nel02_nelarabine_under_16_is_critical(birth_date: str, blocked: bool) -> None:
    # rule: AMB-15, NEL-02
    facts = facts_for(
        patient={"birth_date": birth_date}, disease={"lineage": "T"}, treatment=NELARABINE
    )
    alerts = evaluate(facts)
    assert ("nelarabine_under_16" in ids(alerts)) is blocked
    if blocked:
        assert alert(alerts, "nelarabine_under_16").severity is Severity.CRITICAL


def test_nel04_cns07_nelarabine_interaction_alert_names_active_cns_disease() -> None:
    # rule: NEL-04, CNS-07
    facts = facts_for(disease={"lineage": "T", "cns_status": "involved"}, treatment=NELARABINE)
    found = alert(evaluate(facts), "nelarabine_neurotoxicity_interaction")
    assert "active CNS disease is recorded" in found.message


@pytest.mark.parametrize(
    ("anc", "platelets", "fires"), [(1000, 50000, False), (999, 50000, True), (1000, 49999, True)]
)
def test_mon18_nelarabine_grade3_cytopenia_thresholds(
    anc: int, platelets: int, fires: bool
) -> None:
    # rule: MON-18, NEL-05
    facts = facts_for(
        [lab("anc", anc), lab("platelets", platelets)],
        disease={"lineage": "T"},
        treatment=NELARABINE,
    )
    assert ("nelarabine_grade3_cytopenia" in ids(evaluate(facts))) is fires
