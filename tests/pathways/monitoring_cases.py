"""The monitoring tests' case: an inotuzumab induction in New York around the DST change
of 2026-03-08, and helpers to add results and evaluate (RULES.md §7)."""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

from pathways.casefile import parse_case
from pathways.decisions import Alert
from pathways.definition import load_definition, shipped_definition
from pathways.facts import CaseFacts
from pathways.monitoring import evaluate_monitoring
from pathways.policy import Policy

BASE: dict[str, Any] = {
    "as_of": "2026-03-10",
    "timezone": "America/New_York",
    "patient": {"birth_date": "1975-06-01", "weight_kg": 70.0, "height_cm": 170.0},
    "disease": {
        "lineage": "B",
        "cd22": "positive",
        "cns_status": "negative",
        "marrow_blast_pct": 20.0,
        "peripheral_blasts_per_ul": 0,
    },
    "history": {"status": "relapsed", "relapse_dates": ["2026-02-01"], "prior_therapies": []},
    "fitness": {"category": "fit", "hct_eligible": "no"},
    "goal": "cure",
    "treatment": {
        "regimen": "inotuzumab_ozogamicin",
        "cycle": 1,
        "cycle_start": "2026-03-02",
        "phase": "induction",
    },
}
T1 = "2026-03-07T08:00:00-05:00"  # before the DST change
T2 = "2026-03-09T08:00:00-04:00"  # after it


def lab(
    test: str, value: float, at: str = T2, uln: float | None = None, unit: str = ""
) -> dict[str, Any]:
    units = {
        "alt": "U/L",
        "ast": "U/L",
        "alp": "U/L",
        "total_bilirubin": "mg/dL",
        "anc": "/uL",
        "platelets": "/uL",
        "wbc": "/uL",
        "potassium": "mmol/L",
        "magnesium": "mmol/L",
        "qtcf_ms": "ms",
    }
    entry: dict[str, Any] = {"test": test, "value": value, "unit": unit or units[test], "at": at}
    if uln is not None:
        entry["uln"] = uln
    return entry


def facts_for(labs: list[dict[str, Any]] | None = None, **changes: Any) -> CaseFacts:
    data = copy.deepcopy(BASE)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    data["labs"] = labs or []
    return parse_case(data)


def with_lln(facts: CaseFacts, lln: dict[str, float]) -> CaseFacts:
    """The case format carries no LLN yet; database snapshots do (LabResult.lln)."""
    labs = tuple(
        dataclasses.replace(r, lln=lln[r.test]) if r.test in lln else r for r in facts.labs
    )
    return dataclasses.replace(facts, labs=labs)


def evaluate(facts: CaseFacts, overrides: dict[str, Any] | None = None) -> list[Alert]:
    definition = load_definition(overrides=overrides) if overrides else shipped_definition()
    return evaluate_monitoring(facts, definition, Policy(definition))


def ids(alerts: list[Alert]) -> list[str]:
    return [a.id for a in alerts]


def alert(alerts: list[Alert], alert_id: str) -> Alert:
    return next(a for a in alerts if a.id == alert_id)
