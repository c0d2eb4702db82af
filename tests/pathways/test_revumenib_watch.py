"""REV-03/REV-04: the revumenib dose basis restated when its inputs change, and the inhibitor stop.

The dose basis is an alert whose inputs are the weight band and the
strong-CYP3A4-inhibitor status (with the dose they give); an alert being
raised once per inputs (pathways.alert_identity), it is raised again exactly
when one of them changes. These tests check both halves.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pathways.alert_identity import RaisedBefore, alert_fingerprint, is_new
from pathways.casefile import parse_case
from pathways.decisions import Alert
from pathways.definition import shipped_definition
from pathways.monitoring import evaluate_monitoring
from pathways.policy import Policy
from pathways.vocab import Severity
from tests.pathways.factories import case

REVUMENIB = {"regimen": "revumenib", "cycle": 1, "cycle_start": "2026-11-02", "phase": "induction"}
TZ = "America/New_York"


def alerts(**changes: Any) -> dict[str, Alert]:
    document = case(
        treatment=REVUMENIB,
        **{"patient.weight_kg": 72.0, "patient.height_cm": 170.0, "disease.kmt2a_rearranged": True},
    )
    for path, value in changes.items():
        target = document
        *parents, leaf = path.split(".")
        for part in parents:
            target = target.setdefault(part, {})
        target[leaf] = value
    facts = parse_case(document)
    definition = shipped_definition()
    return {a.id: a for a in evaluate_monitoring(facts, definition, Policy(definition))}


def raised_again(old: Alert, new: Alert) -> bool:
    at = datetime(2026, 11, 20, 14, 0, tzinfo=UTC)
    before = RaisedBefore(alert_fingerprint(old), at)
    return is_new(new, before, now=at.replace(hour=20), timezone=TZ, repeat_days=None)


def test_rev03_the_dose_basis_is_stated_without_an_inhibitor() -> None:
    # rule: REV-03, REV-02 — stated on its own, not only inside the inhibitor alert.
    found = alerts()
    basis = found["revumenib_dose_basis"]
    assert basis.severity is Severity.INFO
    assert basis.inputs == {
        "weight_band": ">= 40 kg",
        "strong_cyp3a4_inhibitor": False,
        "inhibitors": [],
        "dose": {"value": 270.0, "unit": "mg twice daily", "basis": "270 mg twice daily"},
    }
    assert "270 mg twice daily" in basis.message and "not a released dose" in basis.message
    assert "revumenib_strong_cyp3a4_inhibitor" not in found


def test_rev03_rev04_the_basis_is_restated_when_an_inhibitor_starts() -> None:
    # rule: REV-03, REV-04, MON-14
    without = alerts()["revumenib_dose_basis"]
    with_inhibitor = alerts(medications=["posaconazole"])
    basis = with_inhibitor["revumenib_dose_basis"]
    assert basis.inputs["strong_cyp3a4_inhibitor"] is True
    assert basis.inputs["dose"]["value"] == 160.0
    assert raised_again(without, basis)
    assert "revumenib_strong_cyp3a4_inhibitor" in with_inhibitor


def test_rev03_the_basis_is_restated_when_the_weight_band_is_crossed_not_within_it() -> None:
    # rule: REV-02, REV-03 — 41 -> 43 kg stays >= 40 kg; 41 -> 38 kg crosses to the BSA dose.
    at_41 = alerts(**{"patient.weight_kg": 41.0})["revumenib_dose_basis"]
    at_43 = alerts(**{"patient.weight_kg": 43.0})["revumenib_dose_basis"]
    at_38 = alerts(**{"patient.weight_kg": 38.0})["revumenib_dose_basis"]
    assert not raised_again(at_41, at_43)
    assert raised_again(at_41, at_38)
    assert at_38.inputs["weight_band"] == "< 40 kg"
    assert at_38.inputs["dose"]["unit"] == "mg/m2 twice daily"
    assert "whole tablets" in at_38.message  # AMB-14: the pharmacist rounds the BSA dose


def test_rev04_an_unchanged_medication_list_is_not_raised_again() -> None:
    # rule: REV-04 — the alert raised 15 times for one unchanged list.
    first = alerts(medications=["posaconazole", "acyclovir"])
    second = alerts(medications=["acyclovir", "posaconazole"])
    for alert_id in ("revumenib_dose_basis", "revumenib_strong_cyp3a4_inhibitor"):
        assert not raised_again(first[alert_id], second[alert_id])


def test_rev04_the_interaction_check_is_asked_again_at_a_medication_change() -> None:
    # rule: REV-04, MON-14 — every change of the list while an inhibitor is on it.
    first = alerts(medications=["posaconazole"])["revumenib_strong_cyp3a4_inhibitor"]
    changed = alerts(medications=["posaconazole", "fluconazole"])
    assert raised_again(first, changed["revumenib_strong_cyp3a4_inhibitor"])
    # ...while the dose basis, whose inputs did not change, is not restated.
    assert not raised_again(
        alerts(medications=["posaconazole"])["revumenib_dose_basis"],
        changed["revumenib_dose_basis"],
    )


def test_rev04_when_the_inhibitor_stops_the_full_dose_is_surfaced() -> None:
    # rule: REV-04, REV-03, AMB-14 — clinician and pharmacist; no invented re-dosing timing.
    found = alerts(medications_stopped=[{"name": "Posaconazole", "stopped_on": "2026-11-20"}])
    stopped = found["revumenib_cyp3a4_inhibitor_stopped"]
    assert stopped.severity is Severity.WARNING
    assert stopped.inputs == {
        "stopped": [{"name": "posaconazole", "stopped_on": "2026-11-20"}],
        "full_dose": {"value": 270.0, "unit": "mg twice daily", "basis": "270 mg twice daily"},
    }
    assert "Clinician and pharmacist" in stopped.message and "AMB-14" in stopped.message
    assert found["revumenib_dose_basis"].inputs["strong_cyp3a4_inhibitor"] is False
    # Stopped before day 1, or another inhibitor still listed: no return to the full dose.
    assert "revumenib_cyp3a4_inhibitor_stopped" not in alerts(
        medications_stopped=[{"name": "posaconazole", "stopped_on": "2026-10-20"}]
    )
    assert "revumenib_cyp3a4_inhibitor_stopped" not in alerts(
        medications=["voriconazole"],
        medications_stopped=[{"name": "posaconazole", "stopped_on": "2026-11-20"}],
    )


def test_rev02_without_a_weight_the_basis_says_so() -> None:
    # rule: REV-02
    basis = alerts(**{"patient.weight_kg": None})["revumenib_dose_basis"]
    assert basis.severity is Severity.WARNING and basis.inputs["weight_band"] is None
    assert "Weigh the patient" in basis.message
