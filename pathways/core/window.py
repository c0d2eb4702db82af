"""The task window, the open statuses, the plan horizon and "due today": one definition each.

Every task carries three instants (ARCHITECTURE.md, Time): ``not_before``
(inclusive: the window opens), ``due`` and ``expires`` (exclusive: the grace
ends), with ``not_before <= due <= expires``. At an instant a window is

- ``upcoming``: before ``not_before`` (not yet open);
- ``open``: from ``not_before`` until ``due`` (the "due" reminder goes out);
- ``overdue``: from ``due`` until ``expires`` (the "overdue" reminder and escalation);
- ``missed``: from ``expires`` on (the adherence report's missed).

A window whose ``due`` equals its ``expires`` (a one-day window) is never
overdue: at ``due`` it is missed. A completion is early before
``not_before``, on time before ``expires``, late from ``expires`` on.

``models/task_sql.py`` renders exactly these definitions in SQL; a property
test holds the two equal on random windows and instants, DST days included.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

# The FHIR Task statuses (pathways.vocab.TaskStatus values) of a task still to do, in
# TaskStatus order (the partial indexes of care_task name them in this order).
# vocab's OPEN_TASK_STATUSES is built from this set, so a typo fails at import.
OPEN_STATUSES: tuple[str, ...] = ("requested", "accepted", "in-progress", "on-hold")


class WindowState(StrEnum):
    UPCOMING = "upcoming"
    OPEN = "open"
    OVERDUE = "overdue"
    MISSED = "missed"


class Timeliness(StrEnum):
    """A completion against its window (the adherence classes of a completed task)."""

    EARLY = "early"
    ON_TIME = "on_time"
    LATE = "late"


class Closure(StrEnum):
    """Why a cancelled task was closed (``care_task.closed_as``, migration 0014_task_lifecycle).

    A person skips an occurrence on purpose or cancels it (it no longer applies);
    the planner cancels an open task it no longer plans (and reopens it if it
    plans it again) and resolves a data problem once the patient can be planned.
    """

    SKIPPED = "skipped"
    CANCELLED = "cancelled"
    UNPLANNED = "unplanned"
    RESOLVED = "resolved"


@dataclass(frozen=True, slots=True)
class TaskWindow:
    not_before: datetime
    due: datetime
    expires: datetime

    def __post_init__(self) -> None:
        for edge in (self.not_before, self.due, self.expires):
            if edge.tzinfo is None:
                raise ValueError("a window edge must be an aware instant")
        if not (_utc(self.not_before) <= _utc(self.due) <= _utc(self.expires)):
            raise ValueError("a window must be ordered: not_before <= due <= expires")

    @classmethod
    def opening(cls, at: datetime, *, due_in: timedelta, lasts: timedelta) -> TaskWindow:
        """A window that opens at ``at``, is due ``due_in`` later and expires ``lasts`` after ``at``."""
        return cls(at, at + due_in, at + lasts)

    def state_at(self, instant: datetime) -> WindowState:
        now = _utc(instant)
        if now < _utc(self.not_before):
            return WindowState.UPCOMING
        if now < _utc(self.due):
            return WindowState.OPEN
        if now < _utc(self.expires):
            return WindowState.OVERDUE
        return WindowState.MISSED

    def completion(self, at: datetime) -> Timeliness:
        done = _utc(at)
        if done < _utc(self.not_before):
            return Timeliness.EARLY
        if done < _utc(self.expires):
            return Timeliness.ON_TIME
        return Timeliness.LATE

    def due_by(self, instant: datetime, end: datetime) -> bool:
        """Not yet past due at ``instant``, and due no later than ``end`` (the queue's buckets)."""
        return _utc(instant) < _utc(self.due) <= _utc(end)

    def due_today(self, instant: datetime, tz: str) -> bool:
        """Due before the end of the clinic's day of ``instant`` and not yet past due."""
        return self.due_by(instant, ClinicDay.of(instant, tz).end)


def _utc(instant: datetime) -> datetime:
    """The instant in UTC. Python compares two datetimes of one zone by their wall clock,
    ignoring ``fold``: 01:30 before and after a fall-back would be equal. PostgreSQL
    compares instants; so does the window, in UTC."""
    if instant.tzinfo is None:
        raise ValueError("naive datetime given where an aware instant is required")
    return instant.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class ClinicDay:
    """A calendar day of the clinic, in its IANA zone: [start, end) as instants."""

    day: date
    start: datetime
    end: datetime

    @classmethod
    def on(cls, day: date, tz: str) -> ClinicDay:
        zone = ZoneInfo(tz)
        start = datetime.combine(day, time.min, tzinfo=zone)
        return cls(day, start, datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone))

    @classmethod
    def of(cls, instant: datetime, tz: str) -> ClinicDay:
        if instant.tzinfo is None:
            raise ValueError("naive datetime given where an aware instant is required")
        return cls.on(instant.astimezone(ZoneInfo(tz)).date(), tz)


@dataclass(frozen=True, slots=True)
class PlanHorizon:
    """The days the engine plans around ``as_of``: [as_of - lookback, as_of + lookahead]."""

    lookback_days: int
    lookahead_days: int

    def dates(self, as_of: date) -> tuple[date, date]:
        return (
            as_of - timedelta(days=self.lookback_days),
            as_of + timedelta(days=self.lookahead_days),
        )

    def instants(self, as_of: date, tz: str) -> tuple[datetime, datetime]:
        """[start of the first day, end of the last day) in the clinic's zone."""
        first, last = self.dates(as_of)
        return ClinicDay.on(first, tz).start, ClinicDay.on(last, tz).end


# CASE-FORMAT.md ("as_of minus 14 days to as_of plus 90 days").
PLAN_HORIZON = PlanHorizon(lookback_days=14, lookahead_days=90)
