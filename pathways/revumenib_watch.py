"""Revumenib dose basis and the strong-CYP3A4-inhibitor watch (REV-02..04, MON-14, AMB-14).

The dose depends on two inputs: the weight band (>= 40 kg flat dose, < 40 kg by
BSA) and whether a strong CYP3A4 inhibitor is taken (REV-03). The dose basis is
stated as an alert whose inputs are exactly those two (and the dose they give),
so — an alert being raised once per inputs (``pathways.alert_identity``) — it
is restated whenever one of them changes: the weight crosses the band, an
inhibitor starts or stops (below 40 kg the dose is per m2, so the BSA it is
computed from is an input too). Never only on day 1, never only inside the
inhibitor alert.

Alongside it:

- ``revumenib_strong_cyp3a4_inhibitor``: an inhibitor is listed; its inputs
  carry the whole medication list, so the interaction check is asked again at
  every change of the list while on the inhibitor (REV-04 [DEFAULT] trigger).
- ``revumenib_cyp3a4_inhibitor_stopped``: an inhibitor stopped during the
  course and none is listed now: the return to the full dose is surfaced to
  the clinician and the pharmacist (the source has no re-dosing rule: AMB-14).

Dose figures are arithmetic for pharmacist checking, never a released dose.
"""

from __future__ import annotations

from typing import Any

from pathways.decisions import Alert, DoseSuggestion
from pathways.dosing import revumenib_dose
from pathways.facts import CaseFacts, StoppedMedication
from pathways.policy import Policy
from pathways.vocab import Role, Severity

__all__ = ["revumenib_medication_alerts"]


def revumenib_medication_alerts(facts: CaseFacts, policy: Policy) -> list[Alert]:
    """The dose-basis statement and the inhibitor alerts, for a patient on revumenib."""
    listed = _inhibitors(facts, policy)
    dose = revumenib_dose(facts, policy)
    alerts = [_dose_basis(facts, policy, listed, dose)]
    if listed:
        alerts.append(_inhibitor_listed(facts, listed, dose))
    else:
        stopped = _stopped_inhibitors(facts, policy)
        if stopped:
            alerts.append(_inhibitor_stopped(stopped, dose))
    return alerts


def _inhibitors(facts: CaseFacts, policy: Policy) -> list[str]:
    known = {str(name).lower() for name in policy("strong_cyp3a4_inhibitors")}
    return sorted({m for m in facts.medications if m.lower() in known})


def _stopped_inhibitors(facts: CaseFacts, policy: Policy) -> list[StoppedMedication]:
    """Listed inhibitors stopped since day 1 of the revumenib course (and on or before as_of)."""
    course = facts.treatment
    if course is None:
        return []
    known = {str(name).lower() for name in policy("strong_cyp3a4_inhibitors")}
    return sorted(
        (
            m
            for m in facts.stopped_medications
            if m.name.lower() in known and course.cycle_start <= m.stopped_on <= facts.as_of
        ),
        key=lambda m: (m.stopped_on, m.name),
    )


def _dose(dose: DoseSuggestion) -> dict[str, Any]:
    return {"value": dose.value, "unit": dose.unit, "basis": dose.basis}


def _arithmetic(dose: DoseSuggestion) -> str:
    if dose.bsa_m2 is not None and dose.calculated_mg is not None:
        return f"{dose.basis} = {dose.calculated_mg:g} {dose.calculated_unit}"
    return dose.basis


def _band(facts: CaseFacts, policy: Policy) -> str | None:
    weight = facts.patient.weight_kg
    if weight is None:
        return None
    band = float(policy("revumenib_weight_band_kg"))
    return f">= {band:g} kg" if weight >= band else f"< {band:g} kg"


def _dose_basis(facts: CaseFacts, policy: Policy, listed: list[str], dose: DoseSuggestion) -> Alert:
    """REV-03: the dose basis, with only the inputs that change it as the alert's inputs."""
    band = _band(facts, policy)
    limit = float(policy("revumenib_weight_band_kg"))
    inhibitor = (
        "a strong CYP3A4 inhibitor is listed (" + ", ".join(listed) + ")"
        if listed
        else "no strong CYP3A4 inhibitor is listed"
    )
    if band is None:
        message = (
            "Revumenib dose basis unknown: the weight is not recorded, so the dose band "
            f"(>= {limit:g} kg or < {limit:g} kg) cannot be chosen; {inhibitor}. Weigh the "
            "patient (REV-02)."
        )
        severity = Severity.WARNING
    else:
        message = (
            f"Revumenib dose basis: weight band {band}, {inhibitor}: {_arithmetic(dose)} "
            f"(REV-03; {dose.note or 'for pharmacist verification; not a released dose'}). "
            "Restated whenever the weight band or the inhibitor status changes."
        )
        severity = Severity.INFO
    return Alert(
        id="revumenib_dose_basis",
        severity=severity,
        rule_id="REV-03",
        message=message,
        role=Role.CLINICIAN,
        inputs={
            "weight_band": band,
            "strong_cyp3a4_inhibitor": bool(listed),
            "inhibitors": listed,
            "dose": _dose(dose),
        },
        rule_ids=("REV-03", "REV-02", "REV-04", "MON-14"),
    )


def _inhibitor_listed(facts: CaseFacts, listed: list[str], dose: DoseSuggestion) -> Alert:
    """REV-04 / MON-14: re-checked at every change of the medication list while it is listed."""
    return Alert(
        id="revumenib_strong_cyp3a4_inhibitor",
        severity=Severity.WARNING,
        rule_id="REV-04",
        message=(
            "Strong CYP3A4 inhibitor on the medication list while on revumenib ("
            + ", ".join(listed)
            + "): clinician/pharmacist dose review. Dose arithmetic for checking, not a "
            f"released dose: {_arithmetic(dose)}. Re-check at every medication change, "
            "including when the inhibitor stops."
        ),
        role=Role.CLINICIAN,
        inputs={
            "medications": list(listed),
            "medication_list": sorted(facts.medications),
            "suggested_dose": _dose(dose),
        },
        rule_ids=("REV-04", "MON-14", "REV-03", "AMB-14"),
    )


def _inhibitor_stopped(stopped: list[StoppedMedication], dose: DoseSuggestion) -> Alert:
    """REV-04 re-dosing on stop: the full dose again, for the clinician and the pharmacist."""
    names = ", ".join(f"{m.name} on {m.stopped_on.isoformat()}" for m in stopped)
    return Alert(
        id="revumenib_cyp3a4_inhibitor_stopped",
        severity=Severity.WARNING,
        rule_id="REV-04",
        message=(
            f"Strong CYP3A4 inhibitor stopped while on revumenib ({names}) and none is listed "
            f"now: the dose returns to the full dose, {_arithmetic(dose)} (REV-03). Clinician "
            "and pharmacist review the order; the source gives no rule for when to re-dose "
            "after an inhibitor stops (AMB-14), so the pharmacist verifies the timing."
        ),
        role=Role.CLINICIAN,
        inputs={
            "stopped": [{"name": m.name, "stopped_on": m.stopped_on.isoformat()} for m in stopped],
            "full_dose": _dose(dose),
        },
        rule_ids=("REV-04", "REV-03", "MON-14", "AMB-14"),
    )
