"""When an alert is new: once per patient, alert and triggering inputs.

The monitoring rules are evaluated again whenever a patient's results are
(every new lab result runs the whole patient), so the same condition comes
back unchanged many times. An alert is *raised* — stored, routed to a review
task, reminded — only when it is new for the patient:

- no alert of that id was raised for the patient before, or
- the inputs that triggered it differ from those of the last one raised
  (a new result, another medication list, the weight band crossed), or
- the alert's own repeat interval has passed since the last one was raised.

The inputs are compared by a fingerprint: a hash of the alert id and its
inputs in the JSON form they are stored in (``pathways.core.json_form``).
The repeat interval is written in the definition for every alert id
(``alert_repeat_after_days``; ``null`` means never while the inputs are
unchanged), so an institution can change it as local policy.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pathways.clock import local_date
from pathways.core.json_form import canonical
from pathways.decisions import Alert
from pathways.policy import Policy

__all__ = [
    "RaisedBefore",
    "alert_fingerprint",
    "is_new",
    "repeat_after_days",
]

REPEAT_SETTING = "alert_repeat_after_days"


@dataclass(frozen=True, slots=True)
class RaisedBefore:
    """The last alert of one id raised for one patient."""

    fingerprint: str | None
    raised_at: datetime


def fingerprint_of(alert_id: str, inputs: Any) -> str:
    """The identity of (alert id, inputs); the same for inputs read back from storage."""
    text = json.dumps(
        {"alert": alert_id, "inputs": canonical(inputs)},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=True,
    )
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def alert_fingerprint(alert: Alert) -> str:
    return fingerprint_of(alert.id, alert.inputs)


def repeat_after_days(alert: Alert, policy: Policy) -> int | None:
    """The alert's repeat interval in days (None: never while its inputs are unchanged)."""
    table = policy(REPEAT_SETTING)
    days = table.get(alert.id, table.get("default"))
    return None if days is None else int(days)


def is_new(
    alert: Alert,
    before: RaisedBefore | None,
    *,
    now: datetime,
    timezone: str,
    repeat_days: int | None,
) -> bool:
    """Raise ``alert`` now? Only if never raised, its inputs changed, or its interval passed.

    The interval counts calendar days in the clinic's zone: an alert repeated
    every day is raised again on the next clinic day, whatever the hour.
    """
    if before is None or before.fingerprint != alert_fingerprint(alert):
        return True
    if repeat_days is None:
        return False
    due = local_date(before.raised_at, timezone) + timedelta(days=repeat_days)
    return local_date(now, timezone) >= due
