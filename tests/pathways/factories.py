"""Small builders of engine facts for tests (through the public case-file parser)."""

from __future__ import annotations

import copy
from typing import Any

from pathways.casefile import parse_case
from pathways.facts import CaseFacts

BASE_CASE: dict[str, Any] = {
    "format": "carepath.case/1",
    "as_of": "2026-11-24",
    "timezone": "America/New_York",
    "patient": {"birth_date": "1971-05-04", "sex_at_birth": "male", "has_testes": True},
    "disease": {
        "lineage": "B",
        "cd19": "positive",
        "cd22": "positive",
        "ph_positive": False,
        "kmt2a_rearranged": False,
    },
    "history": {
        "status": "relapsed",
        "initial_diagnosis_date": "2022-01-10",
        "relapse_dates": ["2026-11-02"],
        "prior_therapies": ["hyper_cvad"],
    },
    "fitness": {"category": "fit", "ecog": 1, "hct_eligible": "pending"},
    "goal": "cure",
}


def case(**changes: Any) -> dict[str, Any]:
    """The base case with dotted-path changes, e.g. case(**{"disease.cd22": None})."""
    document = copy.deepcopy(BASE_CASE)
    for path, value in changes.items():
        target = document
        *parents, leaf = path.split(".")
        for part in parents:
            target = target.setdefault(part, {})
        if value is ...:
            target.pop(leaf, None)
        else:
            target[leaf] = value
    return document


def facts(**changes: Any) -> CaseFacts:
    return parse_case(case(**changes))
