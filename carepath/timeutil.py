"""The shell's clock: the only place that asks the system what time it is.

The engine never does (``pathways`` takes ``as_of``); commands, handlers and
flows ask here and pass the answer down, so a test or the demo can move it.
``CAREPATH_FIXED_NOW`` (tests and the demo; refused in production) stops it at
one instant for every process of a run: the web app, its workers, the clock,
the flows' worker processes and the commands beside them.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from carepath.settings import get_settings


def now() -> datetime:
    fixed = get_settings().fixed_now
    return datetime.now(UTC) if fixed is None else fixed.astimezone(UTC)


def clinic_today(timezone: str) -> date:
    """Today's date on the clinic's calendar."""
    return now().astimezone(ZoneInfo(timezone)).date()
