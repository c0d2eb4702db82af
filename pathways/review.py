"""Which alert or assessment becomes a clinician-review task, and when it falls due.

The decision the storage side used to make on its own: a monitoring alert is
reviewed within ``alert_review_hours`` of its severity, a critical one (the
INO-05 / MON-05 dose hold) at once and as a safety task; a suggested response
category is signed within ``response_signature_hours`` (RESP-04, DEF-15). Either
task's window expires ``review_expires_after_days`` after its due. The hours and
days are [DEFAULT]s of the definition (``defaults.yaml``), so the policy file
can change them and every use is recorded on the ``Policy``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta

from pathways.decisions import Alert, ReviewTask
from pathways.policy import Policy
from pathways.vocab import Role, Severity

ALERT_REVIEW_HOURS = "alert_review_hours"
SIGNATURE_HOURS = "response_signature_hours"
ESCALATION_GRACE_HOURS = "escalation_grace_hours"
REVIEW_EXPIRY_DAYS = "review_expires_after_days"
SIGN_RESPONSE_RULE = "RESP-04"
# A title holds the alert's first clause; the task shows the whole message.
SUMMARY_CHARS = 150


def alert_review(alert: Alert, now: datetime, policy: Policy) -> ReviewTask:
    """The review task of a new monitoring alert (the clinician's decision acknowledges it)."""
    severity = Severity(alert.severity)
    hours = policy(ALERT_REVIEW_HOURS)[severity.value]
    due = now + timedelta(hours=float(hours))
    return ReviewTask(
        rule_id=alert.rule_id,
        role=Role(alert.role),
        title=f"Review a {severity.value} alert ({alert.rule_id}): {summary(alert.message)}",
        section="monitoring alert",
        due=due,
        expires=_expiry(due, policy),
        safety=severity is Severity.CRITICAL,
        result_fields=("decision",),
    )


def signature_review(assessed_on: date, now: datetime, policy: Policy) -> ReviewTask:
    """The "sign the response assessment" task of a suggested category (DEF-15, RESP-04)."""
    due = now + timedelta(hours=float(policy(SIGNATURE_HOURS)))
    return ReviewTask(
        rule_id=SIGN_RESPONSE_RULE,
        role=Role.CLINICIAN,
        title=f"Sign the response assessment of {assessed_on.isoformat()}",
        section="Response assessment",
        due=due,
        expires=_expiry(due, policy),
        safety=False,
    )


def _expiry(due: datetime, policy: Policy) -> datetime:
    """A review task's window ends ``review_expires_after_days`` after its due."""
    return due + timedelta(days=float(policy(REVIEW_EXPIRY_DAYS)))


def escalation_grace_hours(policy: Policy) -> dict[str, float]:
    """Hours past due before an open task escalates, by the keys ``grace_for`` reads."""
    grace: Mapping[str, float] = policy(ESCALATION_GRACE_HOURS)
    return {key: float(hours) for key, hours in grace.items()}


def summary(message: str) -> str:
    """The alert's first clause, for the review task's title."""
    head = message.split(": ", 1)[0].split(". ", 1)[0]
    return head if len(head) <= SUMMARY_CHARS else head[: SUMMARY_CHARS - 1] + "…"
