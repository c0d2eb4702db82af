"""The shell's clock: the only place that asks the system what time it is.

The engine never does (``pathways`` takes ``as_of``); commands, handlers and
flows ask here and pass the answer down, so a test or the demo can move it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo


def now() -> datetime:
    return datetime.now(UTC)


def clinic_today(timezone: str) -> date:
    """Today's date on the clinic's calendar."""
    return datetime.now(ZoneInfo(timezone)).date()
