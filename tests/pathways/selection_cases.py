"""The case the induction-selection tests start from, and how they read the advice.

Facts are built through the public case-file parser, in a zone with DST: one
fit adult at first relapse of CD19+/CD22+ B-ALL, changed per test.
"""

from __future__ import annotations

import copy
from typing import Any

from pathways.casefile import parse_case
from pathways.decisions import InductionAdvice
from pathways.definition import load_definition, shipped_definition
from pathways.facts import CaseFacts
from pathways.policy import Policy
from pathways.selection import select_induction

BASE: dict[str, Any] = {
    "format": "carepath.case/1",
    "as_of": "2026-11-24",
    "timezone": "America/New_York",
    "jurisdiction": "US",
    "patient": {
        "birth_date": "1971-05-04",
        "sex_at_birth": "male",
        "has_testes": True,
        "weight_kg": 81.0,
        "height_cm": 178.0,
    },
    "disease": {
        "lineage": "B",
        "cd19": "positive",
        "cd22": "positive",
        "cd20": "negative",
        "ph_positive": False,
        "abl1_kinase_mutations": None,
        "kmt2a_rearranged": False,
        "cns_status": "negative",
        "testicular_involvement": False,
        "marrow_blast_pct": 30.0,
        "peripheral_blasts_per_ul": 1000,
    },
    "history": {
        "status": "relapsed",
        "initial_diagnosis_date": "2025-01-10",
        "initial_treatment_start_date": "2025-01-14",
        "relapse_dates": ["2026-11-02"],
        "prior_therapies": ["hyper_cvad"],
        "prior_allogeneic_hct_date": None,
    },
    "fitness": {"category": "fit", "ecog": 1, "hct_eligible": "yes"},
    "goal": "cure",
    "centre": {"immunotherapy_capable": True, "cart_qualified": True},
}


def merge(target: dict[str, Any], changes: dict[str, Any]) -> None:
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            merge(target[key], value)
        else:
            target[key] = value


def facts_for(**changes: Any) -> CaseFacts:
    data = copy.deepcopy(BASE)
    merge(data, changes)
    return parse_case(data)


def advise(facts: CaseFacts, overrides: dict[str, Any] | None = None) -> InductionAdvice:
    definition = load_definition(overrides=overrides) if overrides else shipped_definition()
    return select_induction(facts, definition, Policy(definition))


def option_ids(advice: InductionAdvice) -> list[str]:
    return [o.id for o in advice.options]


def excluded(advice: InductionAdvice) -> dict[str, str]:
    return {e.id: e.reason for e in advice.excluded}


def overlay(advice: InductionAdvice, overlay_id: str) -> Any:
    return next((o for o in advice.overlays if o.id == overlay_id), None)


def option(advice: InductionAdvice, option_id: str) -> Any:
    return next(o for o in advice.options if o.id == option_id)
