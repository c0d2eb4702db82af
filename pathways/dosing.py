"""Dose arithmetic, shown as a suggestion for pharmacist checking — never released.

RULES.md §10 rule 1: mg/m² doses need a current height and weight and a
pharmacist's verification. Every function here returns a ``DoseSuggestion``
whose ``released`` is False; when the body size is missing the suggestion says
so and carries no number.

The body-surface-area formula is not in the source: it is the named default
``bsa_formula`` (Mosteller unless the institution chooses DuBois).
"""

from __future__ import annotations

import math

from pathways.decisions import DoseSuggestion
from pathways.facts import CaseFacts
from pathways.policy import Policy

BSA_FORMULAS = ("mosteller", "dubois")


def bsa_m2(weight_kg: float, height_cm: float, formula: str = "mosteller") -> float:
    """Body-surface area in m², rounded to 2 decimals."""
    if weight_kg <= 0 or height_cm <= 0:
        raise ValueError("weight and height must be positive")
    if formula == "mosteller":
        value = math.sqrt(height_cm * weight_kg / 3600.0)
    elif formula == "dubois":
        value = 0.007184 * (weight_kg**0.425) * (height_cm**0.725)
    else:
        raise ValueError(f"unknown BSA formula {formula!r} (known: {', '.join(BSA_FORMULAS)})")
    return round(value, 2)


def per_m2(
    drug: str,
    amount: float,
    unit: str,
    facts: CaseFacts,
    policy: Policy,
    *,
    rule_ids: tuple[str, ...],
    cap: float | None = None,
    note: str | None = None,
) -> DoseSuggestion:
    """A body-surface-area dose (``unit`` like "mg/m2"): the arithmetic, if size is known."""
    formula = str(policy("bsa_formula"))
    weight, height = facts.patient.weight_kg, facts.patient.height_cm
    # "mg/m2" -> "mg", "mcg/m2/day" -> "mcg/day", "mg/m2 twice daily" -> "mg twice daily"
    absolute_unit = unit.replace("/m2", "").replace("/m²", "")
    if weight is None or height is None:
        return DoseSuggestion(
            drug=drug,
            value=amount,
            unit=unit,
            basis=f"{amount:g} {unit}",
            rule_ids=rule_ids,
            bsa_formula=formula,
            note=_join(note, "current weight and height needed before any calculation"),
        )
    bsa = bsa_m2(weight, height, formula)
    calculated = round(amount * bsa, 3)
    capped_note = None
    if cap is not None and calculated > cap:
        calculated = cap
        capped_note = f"capped at {cap:g} {absolute_unit}"
    return DoseSuggestion(
        drug=drug,
        value=amount,
        unit=unit,
        basis=f"{amount:g} {unit} x BSA {bsa:.2f} m2 ({formula})",
        rule_ids=rule_ids,
        bsa_m2=bsa,
        bsa_formula=formula,
        calculated_mg=calculated,
        note=_join(note, capped_note, "for pharmacist verification; not a released dose"),
        calculated_unit=absolute_unit,
    )


def flat(
    drug: str, amount: float, unit: str, *, rule_ids: tuple[str, ...], note: str | None = None
) -> DoseSuggestion:
    """A fixed dose (e.g. revumenib 270 mg twice daily, blinatumomab 28 mcg/day)."""
    in_mg = unit.startswith("mg")
    return DoseSuggestion(
        drug=drug,
        value=amount,
        unit=unit,
        basis=f"{amount:g} {unit}",
        rule_ids=rule_ids,
        calculated_mg=amount if in_mg else None,
        note=_join(note, "for pharmacist verification; not a released dose"),
        calculated_unit=unit if in_mg else None,
    )


def on_strong_cyp3a4_inhibitor(facts: CaseFacts, policy: Policy) -> bool:
    """REV-03/REV-04: is a drug of the configured strong-CYP3A4-inhibitor list current?

    The source's table 4 is not reproduced (AMB-14); the list is the default
    ``strong_cyp3a4_inhibitors``, to be kept by pharmacy from an interaction database.
    """
    inhibitors = {str(name).lower() for name in policy("strong_cyp3a4_inhibitors")}
    return any(med.lower() in inhibitors for med in facts.medications)


def revumenib_dose(facts: CaseFacts, policy: Policy) -> DoseSuggestion:
    """REV-02/REV-03: weight band ≥40 kg flat dose, <40 kg by BSA; lower with a strong CYP3A4 inhibitor."""
    rule_ids = ("REV-02", "REV-03", "REV-04")
    inhibitor = on_strong_cyp3a4_inhibitor(facts, policy)
    band = float(policy("revumenib_weight_band_kg"))
    weight = facts.patient.weight_kg
    tablets = "BSA dose given as whole tablets per the revumenib monograph: pharmacist (AMB-14)"
    with_inhibitor = (
        "with a strong CYP3A4 inhibitor" if inhibitor else "no strong CYP3A4 inhibitor listed"
    )
    if weight is None:
        return DoseSuggestion(
            drug="revumenib",
            value=None,
            unit="mg twice daily",
            basis=f"weight unknown: weigh the patient to choose the band (>= {band:g} kg or < {band:g} kg)",
            rule_ids=rule_ids,
            note=with_inhibitor,
        )
    if weight >= band:
        amount = 160.0 if inhibitor else 270.0
        return flat(
            "revumenib",
            amount,
            "mg twice daily",
            rule_ids=rule_ids,
            note=f"weight {weight:g} kg >= {band:g} kg; {with_inhibitor}",
        )
    amount = 95.0 if inhibitor else 160.0
    return per_m2(
        "revumenib",
        amount,
        "mg/m2 twice daily",
        facts,
        policy,
        rule_ids=rule_ids,
        note=f"weight {weight:g} kg < {band:g} kg; {with_inhibitor}; {tablets}",
    )


def _join(*parts: str | None) -> str | None:
    text = "; ".join(part for part in parts if part)
    return text or None
