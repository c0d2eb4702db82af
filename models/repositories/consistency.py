"""Stored facts that would contradict each other: checked before a door's write is kept.

A door that edits a patient's facts (the web forms, the REST API) writes in
its transaction, then asks here whether the facts the engine would now see
fit together (``pathways.consistency``, the one place the checks live). On a
contradiction it raises ``ContradictoryFacts`` and the request's transaction
is rolled back, so nothing is written.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from sqlmodel import Session

from models.snapshots import load_snapshots
from pathways.engine import Contradiction, contradictions
from pathways.errors import ContradictoryFacts
from pathways.facts import CaseFacts, ResponseAssessment


def current_facts(
    session: Session, *, patient_id: int, as_of: date, timezone: str
) -> CaseFacts | None:
    """The facts the engine sees for the patient now (in this transaction), checked or not."""
    snapshots, _ = load_snapshots(
        session,
        patient_ids=[patient_id],
        as_of=as_of,
        timezone=timezone,
        refuse_contradictions=False,
    )
    return snapshots[0].facts if snapshots else None


def patient_contradictions(
    session: Session,
    *,
    patient_id: int,
    as_of: date,
    timezone: str,
    assessment: ResponseAssessment | None = None,
) -> list[Contradiction]:
    """Contradictions in the patient's facts, with ``assessment`` as the latest one if given."""
    facts = current_facts(session, patient_id=patient_id, as_of=as_of, timezone=timezone)
    if facts is None:
        return []
    if assessment is not None:
        facts = replace(facts, response_assessment=assessment)
    return contradictions(facts)


def require_consistent_patient(
    session: Session,
    *,
    patient_id: int,
    as_of: date,
    timezone: str,
    assessment: ResponseAssessment | None = None,
) -> None:
    found = patient_contradictions(
        session, patient_id=patient_id, as_of=as_of, timezone=timezone, assessment=assessment
    )
    if found:
        raise ContradictoryFacts(found)
