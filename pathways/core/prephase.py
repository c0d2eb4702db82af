"""The pre-phase of a first induction course: how long it lasts and which courses have one.

BLIN-01 [DER]: a one-week pre-phase P1..P7, so the earliest C1_D1 is P8. A
first course of induction is recorded either in its pre-phase or in
induction proper. The planner (``pathways.schedules.context``) and the
adherence SQL (``models/repositories/adherence_sql.py``) both count from
here, so the SQL restates no arithmetic of its own.
"""

from __future__ import annotations

__all__ = ["INDUCTION_COURSE_PHASES", "PREPHASE_DAYS"]

# BLIN-01 [DER]: a one-week pre-phase P1..P7, earliest C1_D1 = P8.
PREPHASE_DAYS = 7
# The course phases (pathways.vocab.CoursePhase values) of a first course of
# induction; schedules.context builds its CoursePhase set from these, so a
# typo fails at import.
INDUCTION_COURSE_PHASES: frozenset[str] = frozenset({"prephase", "induction"})
