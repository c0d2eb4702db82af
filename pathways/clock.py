"""Calendar arithmetic in the clinic's zone. The engine has no clock of its own.

Day N of a course is ``anchor + (N - 1)`` calendar days, never ``24 h * N`` in
UTC (ARCHITECTURE.md, Time). Instants are built from local wall-clock times
through ``zoneinfo`` so that a window keeps its local edges across a DST
change. A window's edges are half-open: ``not_before`` is the first local
midnight of the window, ``due`` and ``expires`` are the local midnight *after*
the due day and the last day of the window.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


class UnknownTimezone(ValueError):
    def __init__(self, name: str) -> None:
        super().__init__(f"unknown IANA time zone {name!r}")
        self.name = name


@lru_cache(maxsize=64)
def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise UnknownTimezone(name) from exc


def cycle_day(anchor: date, n: int) -> date:
    """Calendar date of day ``n`` of a course whose day 1 is ``anchor``."""
    return anchor + timedelta(days=n - 1)


def day_offset(anchor: date, n: int) -> date:
    """Calendar date of day ``n`` when the anchor is day 0 (CAR-T infusion, HCT)."""
    return anchor + timedelta(days=n)


def day_number(anchor: date, day: date) -> int:
    """Inverse of :func:`cycle_day`: which cycle day ``day`` is."""
    return (day - anchor).days + 1


def start_of_day(day: date, tz: str) -> datetime:
    """The instant local midnight begins ``day`` in zone ``tz``."""
    return datetime.combine(day, time.min, tzinfo=zone(tz))


def end_of_day(day: date, tz: str) -> datetime:
    """The instant ``day`` ends in ``tz`` (the next local midnight, exclusive)."""
    return start_of_day(day + timedelta(days=1), tz)


def month_of(day: date, back: int = 0) -> tuple[date, date]:
    """(first day, last day) of the calendar month ``back`` months before the month of ``day``."""
    index = day.year * 12 + day.month - 1 - back
    first = date(index // 12, index % 12 + 1, 1)
    following = date((index + 1) // 12, (index + 1) % 12 + 1, 1)
    return first, following - timedelta(days=1)


def months(start: date, end: date) -> list[tuple[date, date]]:
    """The calendar months from the one of ``start`` to the one of ``end``, in order."""
    found = []
    month = month_of(start)
    while month[0] <= end:
        found.append(month)
        month = month_of(month[1] + timedelta(days=1))
    return found


def local_date(instant: datetime, tz: str) -> date:
    """The clinic calendar date of an aware instant."""
    if instant.tzinfo is None:
        raise ValueError("naive datetime given where an aware instant is required")
    return instant.astimezone(zone(tz)).date()
