"""What every monitoring rule reads: the facts' results per test, the latest, exact comparisons.

Also the names of the catalogue's tests and panels the rules read; the loader
refuses a definition whose lab catalogue lacks one (``pathways.copies``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

from pathways.clock import local_date
from pathways.decisions import Alert
from pathways.facts import CaseFacts, LabResult
from pathways.vocab import (
    Role,
    Severity,
)

# The tests and panels of the lab catalogue these rules read by name: the loader
# refuses a definition whose catalogue (labs.yaml) lacks one.
BILIRUBIN = "total_bilirubin"
QTCF = "qtcf_ms"
ANC = "anc"
PLATELETS = "platelets"
POTASSIUM = "potassium"
MAGNESIUM = "magnesium"
LFT = "lft"
TRANSAMINASES = "transaminases"
TESTS_READ = (BILIRUBIN, QTCF, ANC, PLATELETS, POTASSIUM, MAGNESIUM)
PANELS_READ = (LFT, TRANSAMINASES)


# --------------------------------------------------------------------------- reading results


def results_by_test(facts: CaseFacts) -> dict[str, list[LabResult]]:
    """Results up to the end of ``as_of`` in the clinic's zone, oldest first, per test."""
    by_test: dict[str, list[LabResult]] = {}
    for result in facts.labs:
        if local_date(result.at, facts.timezone) <= facts.as_of:
            by_test.setdefault(result.test, []).append(result)
    for results in by_test.values():
        results.sort(key=lambda r: r.at)
    return by_test


def latest_result(
    labs: dict[str, list[LabResult]], test: str, *, low_is_bad: bool = False
) -> LabResult | None:
    """The most recent result of ``test``; of results stamped at the same instant,
    the worse one (highest, or lowest when ``low_is_bad``), so a tie never hides it."""
    results = labs.get(test)
    if not results:
        return None
    last = [r for r in results if r.at == results[-1].at]
    return min(last, key=lambda r: r.value) if low_is_bad else max(last, key=lambda r: r.value)


def exact(value: float) -> Decimal:
    """The decimal a result was written as, for comparisons a float would round."""
    return Decimal(str(value))


def above(value: float, factor: float, limit: float) -> bool:
    """value > factor x limit, exactly (1.5 x 1.2 must be 1.8, not 1.7999...)."""
    return exact(value) > exact(factor) * exact(limit)


def latest_time(results: Iterable[LabResult]) -> datetime | None:
    times = [r.at for r in results]
    return max(times) if times else None


def course_active(facts: CaseFacts, regimen: str) -> bool:
    course = facts.treatment
    if course is None or course.regimen != regimen:
        return False
    return course.last_dose_date is None or course.last_dose_date >= facts.as_of


def course_inputs(facts: CaseFacts) -> dict[str, Any]:
    """The course and cycle in progress, for alerts a rule asks again at each cycle."""
    course = facts.treatment
    return {} if course is None else {"course": course.key, "cycle": course.cycle}


def make_alert(
    alert_id: str,
    severity: Severity,
    rule_ids: tuple[str, ...],
    message: str,
    inputs: dict[str, Any],
    at: datetime | None = None,
    role: Role = Role.CLINICIAN,
) -> Alert:
    return Alert(
        id=alert_id,
        severity=severity,
        rule_id=rule_ids[0],
        message=message,
        role=role,
        inputs=inputs,
        rule_ids=rule_ids,
        at=at,
    )
