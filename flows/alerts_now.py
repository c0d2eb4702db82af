"""Alerts of patients whose facts a door just changed, evaluated at once (no Prefect run).

``evaluate_results`` evaluates a patient when a new lab result or assessment
arrives. Facts the monitoring rules read can change without one: a course and
its pre-phase (BLIN-01: a C1_D1 before P8 is critical the day it is planned),
a weight across the revumenib band (REV-03). The door that changed them calls
``raise_alerts_now`` in its own transaction. It imports no Prefect: the web
app and the commands use it in-process.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from sqlmodel import Session

from models.repositories.audit import Actor
from models.repositories.planning import Route
from models.repositories.results import RaisedAlert, record_alerts
from models.snapshots import load_snapshots
from pathways.clock import local_date
from pathways.definition import Definition
from pathways.engine import Policy, monitor, repeat_after_days, review_task_for

ACTOR = Actor.system("alerts_now")


def raise_alerts_now(
    session: Session,
    *,
    patient_ids: Sequence[int],
    now: datetime,
    timezone: str,
    definition: Callable[[str | None], Definition],
    routes: Sequence[Route],
    actor: Actor = ACTOR,
) -> int:
    """Run the monitoring rules for patients whose facts a door just changed; store what is new.

    A course recorded with C1_D1 before P8 (BLIN-01) or a weight across the
    revumenib band (REV-03) must not wait for the next lab result to be
    evaluated: the door calls this in its own transaction. Alerts are raised
    once per inputs (``record_alerts``), so calling it again changes nothing.
    """
    as_of = local_date(now, timezone)
    snapshots, _ = load_snapshots(
        session, patient_ids=list(patient_ids), as_of=as_of, timezone=timezone
    )
    raised: list[RaisedAlert] = []
    for snap in snapshots:
        pinned = definition(snap.pathway_version)
        policy = Policy(pinned)
        for alert in monitor(snap.facts, pinned, policy):
            raised.append(
                RaisedAlert(
                    snap.patient_id,
                    alert,
                    review_task_for(alert, now, policy),
                    None,
                    repeat_after_days(alert, policy),
                )
            )
    new, _ = record_alerts(
        session,
        alerts=raised,
        now=now,
        timezone=timezone,
        routes=routes,
        actor=actor,
    )
    return new
