"""Where a definition and the code state one fact twice, the loader checks the copies agree.

A definition that restates a fact the code also names (the phases of the main
machine and ``Phase``, the lab tests the monitoring rules read and the lab
catalogue, the keys the review and escalation hours are looked up by) is
refused with one problem per disagreement, so a rename on one side cannot
silently switch a rule off. The cadence written in a regimen and in its
maintenance task is checked where regimens compile (``schedules.compiler``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import Any

from pathways.core.labs import LabCatalogue
from pathways.machine import Machine
from pathways.review import ALERT_REVIEW_HOURS, ESCALATION_GRACE_HOURS
from pathways.vocab import CnsTrack, Phase, Severity, TestisTrack

# Each machine whose states the code names through a vocabulary.
MACHINE_VOCABULARY: tuple[tuple[str, type[StrEnum]], ...] = (
    ("main", Phase),
    ("cns", CnsTrack),
    ("testis", TestisTrack),
)


def vocabulary_problems(machines: Mapping[str, Machine]) -> list[str]:
    """The states of each machine equal its vocabulary in ``pathways.vocab``."""
    problems = []
    for name, vocabulary in MACHINE_VOCABULARY:
        machine = machines.get(name)
        if machine is None:
            problems.append(f"machines.{name}: missing (the {vocabulary.__name__} vocabulary)")
            continue
        states, words = set(machine.states), {word.value for word in vocabulary}
        if missing := sorted(words - states):
            problems.append(
                f"machines.{name}: no state for {', '.join(missing)} of the "
                f"{vocabulary.__name__} vocabulary"
            )
        if extra := sorted(states - words):
            problems.append(
                f"machines.{name}: states {', '.join(extra)} are not in the "
                f"{vocabulary.__name__} vocabulary"
            )
    return problems


def lab_problems(
    labs: LabCatalogue, where: str, tests: Iterable[str], panels: Iterable[str]
) -> list[str]:
    """Every test and panel a rule reads by name is in the lab catalogue (labs.yaml)."""
    problems = [
        f"{where}: reads lab test {test!r}, which the lab catalogue does not list"
        for test in tests
        if test not in labs.tests
    ]
    problems += [
        f"{where}: reads lab panel {panel!r}, which the lab catalogue does not list"
        for panel in panels
        if panel not in labs.panels
    ]
    return problems


def hours_problems(defaults: Mapping[str, Any]) -> list[str]:
    """The review hours cover every severity; the escalation grace has its ``default``."""
    problems = []
    review = _value(defaults, ALERT_REVIEW_HOURS)
    if review is not None:
        if missing := sorted(s.value for s in Severity if s.value not in review):
            problems.append(f"defaults.{ALERT_REVIEW_HOURS}: no hours for {', '.join(missing)}")
        problems += _hours(ALERT_REVIEW_HOURS, review)
    grace = _value(defaults, ESCALATION_GRACE_HOURS)
    if grace is not None:
        if "default" not in grace:
            problems.append(f"defaults.{ESCALATION_GRACE_HOURS}: needs a 'default' grace")
        problems += _hours(ESCALATION_GRACE_HOURS, grace)
    return problems


def _value(defaults: Mapping[str, Any], name: str) -> Mapping[str, Any] | None:
    setting = defaults.get(name)
    value = getattr(setting, "value", None)
    return value if isinstance(value, Mapping) else None


def _hours(name: str, values: Mapping[str, Any]) -> list[str]:
    return [
        f"defaults.{name}.{key}: must be a number of hours, at least 0"
        for key, hours in values.items()
        if isinstance(hours, bool) or not isinstance(hours, int | float) or hours < 0
    ]
