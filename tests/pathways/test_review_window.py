"""A review task's whole window comes from the definition (issue 13, points 2 and 4).

The review of an alert and the signature of a suggested response are due after
their [DEFAULT] hours and expire ``review_expires_after_days`` after that due
(7 days as shipped, the value the storage side used to write by hand); a
policy file changes it like the hours.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from pathways.core.window import TaskWindow, WindowState
from pathways.decisions import Alert
from pathways.definition import load_definition, shipped_definition
from pathways.engine import Policy, review_task_for, signature_task_for
from pathways.vocab import Role, Severity

NOW = datetime(2026, 3, 6, 9, 30, tzinfo=ZoneInfo("America/New_York"))  # DST starts on the 8th


def _alert() -> Alert:
    return Alert(
        id="inotuzumab_liver_hold",
        severity=Severity.WARNING,
        rule_id="INO-05",
        message="Hold the inotuzumab dose: bilirubin 2.1 x ULN",
        role=Role.CLINICIAN,
    )


def test_a_review_task_expires_the_definitions_days_after_its_due() -> None:
    # rule: MON-05, INO-05, RESP-04 — the review window is the definition's, visible as [DEFAULT]
    definition = shipped_definition()
    setting = definition.defaults["review_expires_after_days"]
    assert (setting.value, setting.unit, setting.tag) == (7, "days", "DEFAULT")
    policy = Policy(definition)
    review = review_task_for(_alert(), NOW, policy)
    sign = signature_task_for(date(2026, 3, 5), NOW, policy)
    assert review.expires == review.due + timedelta(days=7)
    assert sign.expires == sign.due + timedelta(days=7)
    assert policy.used >= {"review_expires_after_days"}
    window = TaskWindow(NOW, review.due, review.expires)
    assert window.state_at(review.expires - timedelta(microseconds=1)) is WindowState.OVERDUE
    assert window.state_at(review.expires) is WindowState.MISSED


def test_the_policy_file_changes_the_review_expiry() -> None:
    # rule: RESP-04 — local policy may shorten or lengthen the window
    local = Policy(load_definition(overrides={"review_expires_after_days": 3}))
    sign = signature_task_for(date(2026, 3, 5), NOW, local)
    assert sign.expires == sign.due + timedelta(days=3)
