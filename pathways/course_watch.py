"""Alerts about how a course is planned, raised as soon as the course is recorded.

BLIN-01 / IND-11 [SRC + DER]: with a high leukemic burden a glucocorticoid and
lower-intensity chemotherapy are given for one week (P1-P7) before
blinatumomab, to lower the risk of CRS; the earliest C1_D1 is P8. A cycle 1
day 1 recorded before P8 is a clinician's decision to make before the
infusion, so it is a critical alert from the day it is planned — not a
routine check dated after the infusion. The day-1 infusion, bed and
premedication tasks say they wait on it (``waits_on`` in the regimen file).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from pathways.decisions import Alert
from pathways.facts import CaseFacts
from pathways.schedules.context import PREPHASE_DAYS
from pathways.vocab import OptionId, Role, Severity

__all__ = ["course_alerts", "course_runs_in"]


def course_alerts(facts: CaseFacts) -> list[Alert]:
    return _blinatumomab_before_p8(facts)


def _blinatumomab_before_p8(facts: CaseFacts) -> list[Alert]:
    course = facts.treatment
    if (
        course is None
        or course.regimen != OptionId.BLINATUMOMAB
        or course.cycle != 1
        or course.prephase_start is None
        or (course.last_dose_date is not None and course.last_dose_date < facts.as_of)
    ):
        return []
    p8 = course.prephase_start + timedelta(days=PREPHASE_DAYS)
    if course.cycle_start >= p8:
        return []
    short = (course.cycle_start - course.prephase_start).days
    return [
        Alert(
            id="blinatumomab_c1d1_before_prephase_complete",
            severity=Severity.CRITICAL,
            rule_id="BLIN-01",
            message=(
                f"Blinatumomab cycle 1 day 1 is planned for {course.cycle_start.isoformat()}, "
                f"after {short} of the 7 pre-phase days (P1 {course.prephase_start.isoformat()}; "
                f"earliest C1_D1 = P8 = {p8.isoformat()}). The one-week pre-phase lowers the "
                "risk of CRS with a high leukemic burden (IND-11): the clinician decides before "
                "the infusion whether to start then or move day 1; the infusion, the bed and "
                "the premedication wait on that decision."
            ),
            role=Role.CLINICIAN,
            inputs={
                "prephase_start": course.prephase_start.isoformat(),
                "cycle_start": course.cycle_start.isoformat(),
                "earliest_cycle_start": p8.isoformat(),
            },
            rule_ids=("BLIN-01", "IND-11", "QM-12"),
        )
    ]


def course_runs_in(course_phase: str, main_phase: str, runs_in: Mapping[str, Any]) -> bool:
    """Whether a course of ``course_phase`` is still in progress in ``main_phase``.

    ``runs_in`` is the [DEFAULT] ``course_runs_in_phases`` (SM-04..SM-08): a
    transition to a phase outside it ends the course.
    """
    return main_phase in runs_in.get(course_phase, ())
