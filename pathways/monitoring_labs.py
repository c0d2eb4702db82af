"""How the monitoring rules read a result: the limit of normal it is compared against, and the dose.

A rule compares a result against the laboratory's own ULN (or LLN) when the
result came with one, else against the local reference range of the lab
catalogue; ``Limits`` resolves it and records a local default as used, so the
evaluation lists it as local policy. ``lab_inputs`` puts a result into an
alert's inputs with the limit used and where it came from (``uln_source``).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pathways.clock import local_date
from pathways.core.labs import LOCAL, LabCatalogue, Limit, fmt
from pathways.facts import CaseFacts, LabResult
from pathways.model import Definition
from pathways.policy import Policy
from pathways.schedules.compiled import compiled_schedules
from pathways.vocab import OptionId


class Limits:
    """The ULN/LLN each rule compares against, recording a local default as used."""

    def __init__(self, catalogue: LabCatalogue, policy: Policy) -> None:
        self.catalogue = catalogue
        self.policy = policy

    def _used(self, limit: Limit | None) -> Limit | None:
        if limit is not None and limit.source == LOCAL and limit.setting:
            self.policy(limit.setting)
        return limit

    def uln(self, result: LabResult) -> Limit | None:
        return self._used(self.catalogue.uln_of(result.test, result.uln))

    def lln(self, result: LabResult) -> Limit | None:
        return self._used(self.catalogue.lln_of(result.test, result.lln))

    def label(self, test: str) -> str:
        known = self.catalogue.tests.get(test)
        return known.label if known else test


def lab_inputs(
    result: LabResult, *, uln: Limit | None = None, lln: Limit | None = None
) -> dict[str, Any]:
    """A result as an alert's input, with the limits the rule used and where they came from."""
    entry: dict[str, Any] = {
        "test": result.test,
        "value": result.value,
        "unit": result.unit,
        "at": result.at.isoformat(),
    }
    if result.entered_unit is not None and result.entered_unit != result.unit:
        entry["entered"] = {"value": result.entered_value, "unit": result.entered_unit}
    if uln is not None:
        entry |= uln.as_inputs("uln")
    elif result.uln is not None:
        entry["uln"] = result.uln
    if lln is not None:
        entry |= lln.as_inputs("lln")
    elif result.lln is not None:
        entry["lln"] = result.lln
    return entry


def uln_text(limit: Limit, unit: str) -> str:
    return f"ULN {fmt(limit.value)} {unit}: {limit.description}"


def inotuzumab_dose_concerned(
    facts: CaseFacts, definition: Definition, result: LabResult
) -> tuple[str, dict[str, Any]]:
    """The inotuzumab dose a liver result decides on: the next dose day on or after it (INO-05)."""
    course = facts.treatment
    regimen = compiled_schedules(definition).regimens.get(OptionId.INOTUZUMAB)
    blocked = {t.blocks for t in regimen.tasks if t.blocks} if regimen else set()
    days = sorted(
        {d for t in (regimen.tasks if regimen else ()) if t.slot in blocked for d in t.timing.days}
    )
    if course is None or not days:
        return "the next inotuzumab dose", {}
    on = local_date(result.at, facts.timezone)
    for day in days:
        when = course.cycle_start + timedelta(days=day - 1)
        if when >= on:
            return (
                f"the cycle {course.cycle} day {day} inotuzumab dose ({when.isoformat()})",
                {"cycle": course.cycle, "day": day, "date": when.isoformat()},
            )
    return (
        f"the next inotuzumab dose (cycle {course.cycle + 1} day {days[0]})",
        {"cycle": course.cycle + 1, "day": days[0]},
    )
