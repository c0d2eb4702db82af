"""Dose arithmetic (pathways.dosing): BSA, mg/m2, caps and the revumenib bands — never released.

Each test names its rule ids; the figures are worked by hand in the comments.
"""

from __future__ import annotations

import dataclasses

import pytest

from pathways.dosing import bsa_m2, flat, per_m2, revumenib_dose
from pathways.facts import CaseFacts
from pathways.policy import Policy
from pathways.selection._agents import dose_text
from tests.pathways.test_schedule_helpers import definition, make_facts


def facts(
    weight: float | None, height: float | None, medications: list[str] | None = None
) -> CaseFacts:
    changes: dict[str, object] = {"patient.weight_kg": weight, "patient.height_cm": height}
    if medications is not None:
        changes["medications"] = medications
    return make_facts(**changes)


def policy() -> Policy:
    return Policy(definition())


@pytest.mark.parametrize(
    ("weight", "height", "formula", "expected"),
    [
        (81.0, 178.0, "mosteller", 2.00),  # sqrt(178 x 81 / 3600) = sqrt(4.005) = 2.0012
        (38.0, 150.0, "mosteller", 1.26),  # sqrt(150 x 38 / 3600) = sqrt(1.5833) = 1.2583
        (42.0, 155.0, "mosteller", 1.34),  # sqrt(155 x 42 / 3600) = sqrt(1.8083) = 1.3447
        (81.0, 178.0, "dubois", 1.99),  # 0.007184 x 81^0.425 x 178^0.725 = 1.9946
    ],
)
def test_bsa_formulas_rounded_to_two_decimals(
    weight: float, height: float, formula: str, expected: float
) -> None:
    # rule: INO-06, NEL-01, REV-03 — the BSA formula is the named default bsa_formula.
    assert bsa_m2(weight, height, formula) == expected


def test_per_m2_dose_is_arithmetic_for_the_pharmacist_never_released() -> None:
    # rule: NEL-01 — 1500 mg/m2 x 2.00 m2 = 3000 mg; AMB-14 pharmacist verification.
    dose = per_m2("nelarabine", 1500.0, "mg/m2", facts(81.0, 178.0), policy(), rule_ids=("NEL-01",))
    assert (dose.bsa_m2, dose.calculated_mg, dose.calculated_unit) == (2.0, 3000.0, "mg")
    assert dose.released is False and "not a released dose" in (dose.note or "")


def test_per_m2_without_height_gives_no_number() -> None:
    # rule: NEL-01 — RULES.md §10 rule 1: a current height and weight are needed first.
    dose = per_m2("nelarabine", 1500.0, "mg/m2", facts(81.0, None), policy(), rule_ids=("NEL-01",))
    assert dose.calculated_mg is None and dose.bsa_m2 is None
    assert "current weight and height needed" in (dose.note or "")


def test_blin_05_cap_is_stated_in_the_absolute_unit() -> None:
    # rule: BLIN-05 — <45 kg: 15 mcg/m2/day, max 28 mcg/day. With a BSA of 2.00 m2
    # the arithmetic gives 30 mcg/day, capped at 28 mcg/day (not "28 mcg/m2/day").
    # A body size no case file accepts (327 cm), only to reach the cap:
    # sqrt(327 x 44 / 3600) = 1.999 -> 2.00 m2.
    base = facts(44.0, 170.0)
    giant = dataclasses.replace(base, patient=dataclasses.replace(base.patient, height_cm=327.0))
    dose = per_m2(
        "blinatumomab",
        15.0,
        "mcg/m2/day",
        giant,
        policy(),
        rule_ids=("BLIN-05",),
        cap=28.0,
    )
    assert dose.bsa_m2 == 2.0
    assert (dose.calculated_mg, dose.calculated_unit) == (28.0, "mcg/day")
    assert "capped at 28 mcg/day" in (dose.note or "")


@pytest.mark.parametrize(
    ("weight", "height", "medications", "value", "unit", "calculated"),
    [
        (72.0, 168.0, [], 270.0, "mg twice daily", 270.0),
        (72.0, 168.0, ["posaconazole"], 160.0, "mg twice daily", 160.0),
        # <40 kg by BSA: 160 mg/m2 x 1.26 m2 = 201.6 mg; with an inhibitor 95 x 1.26 = 119.7 mg.
        (38.0, 150.0, [], 160.0, "mg/m2 twice daily", 201.6),
        (38.0, 150.0, ["Voriconazole"], 95.0, "mg/m2 twice daily", 119.7),
    ],
)
def test_rev_02_rev_03_revumenib_bands_and_strong_cyp3a4_inhibitors(
    weight: float,
    height: float,
    medications: list[str],
    value: float,
    unit: str,
    calculated: float,
) -> None:
    # rule: REV-02, REV-03, REV-04 — >=40 kg 270 / 160 mg; <40 kg 160 / 95 mg/m2 twice daily.
    dose = revumenib_dose(facts(weight, height, medications), policy())
    assert (dose.value, dose.unit, dose.calculated_mg) == (value, unit, calculated)
    assert dose.calculated_unit == "mg twice daily"
    assert dose.released is False


def test_rev_03_dose_text_shows_arithmetic_only_for_a_bsa_dose() -> None:
    # rule: REV-03 — "270 mg twice daily = 270 mg" would read as a daily total: a flat
    # dose shows its basis only; a BSA dose shows the product in its absolute unit.
    fixed = revumenib_dose(facts(72.0, 168.0), policy())
    assert dose_text(fixed).startswith("dose arithmetic: 270 mg twice daily (")
    assert "= 270" not in dose_text(fixed)
    small = revumenib_dose(facts(38.0, 150.0), policy())
    assert "160 mg/m2 twice daily x BSA 1.26 m2 (mosteller) = 201.6 mg twice daily" in dose_text(
        small
    )


def test_flat_dose_in_micrograms_has_no_milligram_figure() -> None:
    # rule: BLIN-05 — 28 mcg/day is not a mg figure.
    dose = flat("blinatumomab", 28.0, "mcg/day", rule_ids=("BLIN-05",))
    assert dose.calculated_mg is None and dose.calculated_unit is None and not dose.released
