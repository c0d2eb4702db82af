"""Alerts raised at the door that changed the facts, from the installation's settings.

A command or a form that records facts the monitoring rules read without a
new lab result (a course and its pre-phase, a weight) runs the rules for that
patient at once (``flows.alerts_now.raise_alerts_now``), in its own
transaction: the BLIN-01 alert on the day a C1_D1 before P8 is planned, the
revumenib dose basis restated the day the weight crosses the band.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlmodel import Session

from carepath.channels.routing import routes_from_settings
from carepath.pathway import definition_for
from carepath.settings import Settings
from flows.alerts_now import raise_alerts_now
from models.repositories.audit import Actor


def alerts_after_change(
    session: Session,
    settings: Settings,
    *,
    patient_ids: Sequence[int],
    now: datetime,
    actor: Actor,
) -> int:
    """The new alerts of these patients' facts as they are now in ``session``."""
    return raise_alerts_now(
        session,
        patient_ids=patient_ids,
        now=now,
        timezone=settings.timezone,
        definition=lambda version: definition_for(settings, version),
        routes=routes_from_settings(settings),
        actor=actor,
    )
