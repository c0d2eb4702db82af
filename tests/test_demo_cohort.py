"""The synthetic cohort tells coherent stories and spreads over the induction tree."""

from __future__ import annotations

from datetime import date

from carepath.demo.cohort import COHORT, materialise
from pathways.casefile import parse_case
from pathways.definition import shipped_definition
from pathways.policy import Policy
from pathways.selection import select_induction


def test_every_story_is_in_time_order_and_names_known_events() -> None:
    events = {e for m in shipped_definition().machines.values() for e in m.events}
    for entry in COHORT:
        days = [step.days_ago for step in entry.story]
        assert days == sorted(days, reverse=True), f"{entry.mrn}: story out of time order"
        assert {step.event for step in entry.story} <= events, entry.mrn


def test_the_cohort_covers_every_branch_of_the_induction_tree() -> None:
    # rule: IND-01 IND-04 IND-05 IND-06 IND-07 IND-08 IND-03 — at least 20 patients over the branches
    definition = shipped_definition()
    today = date(2026, 11, 24)
    branches = set()
    for entry in COHORT:
        facts = parse_case(materialise(entry, today, "America/New_York"))
        branches.add(select_induction(facts, definition, Policy(definition)).branch)
    assert len(COHORT) >= 20
    assert {
        "supportive_care",
        "ph_positive",
        "t_cell",
        "immunotherapy",
        "kmt2a",
        "chemotherapy",
        "multiply_relapsed",
    } <= branches
