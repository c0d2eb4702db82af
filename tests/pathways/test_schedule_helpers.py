"""Shared builders for the schedule, planner and workup tests (no tests here).

Facts are built through the public case-file parser, then given what a case
file cannot carry (a signed response, the FIT date, a confirmed phase) with
``dataclasses.replace``.
"""

from __future__ import annotations

import copy
import dataclasses
from datetime import date, timedelta
from typing import Any

from pathways.casefile import parse_case
from pathways.decisions import PlannedTask
from pathways.definition import Definition, shipped_definition
from pathways.facts import CaseFacts, SignedResponse
from pathways.policy import Policy
from pathways.schedules import plan_tasks
from pathways.vocab import Phase, ResponseCategory

BASE: dict[str, Any] = {
    "format": "carepath.case/1",
    "as_of": "2026-11-24",
    "timezone": "America/New_York",
    "patient": {
        "birth_date": "1971-05-04",
        "sex_at_birth": "male",
        "has_testes": True,
        "reproductive_potential": False,
        "weight_kg": 81.0,
        "height_cm": 178.0,
    },
    "disease": {
        "lineage": "B",
        "cd19": "positive",
        "cd22": "positive",
        "ph_positive": False,
        "kmt2a_rearranged": False,
        "cns_status": "negative",
        "testicular_involvement": False,
        "marrow_blast_pct": 20.0,
        "peripheral_blasts_per_ul": 1000,
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


def definition() -> Definition:
    return shipped_definition()


def case(**changes: Any) -> dict[str, Any]:
    """The base case with dotted-path changes; ``...`` removes a field."""
    document = copy.deepcopy(BASE)
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


def make_facts(
    *,
    regimen: str | None = None,
    cycle: int = 1,
    start: str | date | None = None,
    phase: str = "induction",
    signed: tuple[ResponseCategory, date] | None = None,
    fit_on: date | None = None,
    confirmed_phase: Phase | None = None,
    course: dict[str, Any] | None = None,
    **changes: Any,
) -> CaseFacts:
    if regimen is not None:
        treatment: dict[str, Any] = {
            "regimen": regimen,
            "cycle": cycle,
            "cycle_start": str(start),
            "phase": phase,
        }
        treatment.update(course or {})
        changes["treatment"] = treatment
    facts = parse_case(case(**changes))
    if signed is not None:
        facts = dataclasses.replace(facts, signed_response=SignedResponse(*signed))
    if fit_on is not None:
        facts = dataclasses.replace(
            facts, fitness=dataclasses.replace(facts.fitness, assessed_on=fit_on)
        )
    if confirmed_phase is not None:
        facts = dataclasses.replace(facts, phase=confirmed_phase)
    return facts


def plan(facts: CaseFacts, defn: Definition | None = None) -> list[PlannedTask]:
    defn = defn or definition()
    return plan_tasks(facts, defn, Policy(defn))


def plan_with_policy(
    facts: CaseFacts, defn: Definition | None = None
) -> tuple[list[PlannedTask], Policy]:
    defn = defn or definition()
    policy = Policy(defn)
    return plan_tasks(facts, defn, policy), policy


def of_rule(tasks: list[PlannedTask], rule_id: str, slot: str | None = None) -> list[PlannedTask]:
    return [
        t for t in tasks if t.rule_id == rule_id and (slot is None or t.key.endswith(f":{slot}"))
    ]


def one(
    tasks: list[PlannedTask], rule_id: str, slot: str | None = None, day: int | None = None
) -> PlannedTask:
    found = [t for t in of_rule(tasks, rule_id, slot) if day is None or t.day == day]
    assert len(found) == 1, f"expected one {rule_id} {slot} day {day}, got {[t.key for t in found]}"
    return found[0]


def days_of(tasks: list[PlannedTask], rule_id: str, slot: str | None = None) -> list[int | None]:
    return sorted((t.day for t in of_rule(tasks, rule_id, slot)), key=lambda d: (d is None, d))


def d(text: str) -> date:
    return date.fromisoformat(text)


def plus(day: date | str, n: int) -> date:
    base = d(day) if isinstance(day, str) else day
    return base + timedelta(days=n)
