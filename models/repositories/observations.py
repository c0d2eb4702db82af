"""Lab results and other observations."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlmodel import Session, col

from models.observation import Observation, ObservationCreate
from models.repositories.audit import Actor, record


def add_observations(
    session: Session,
    *,
    patient_id: int,
    observations: Sequence[ObservationCreate],
    actor: Actor,
) -> list[Observation]:
    rows = [
        Observation.model_validate(o, update={"patient_id": patient_id, "recorded_by": actor.name})
        for o in observations
    ]
    session.add_all(rows)
    session.flush()
    if rows:
        record(
            session,
            actor=actor,
            action="create",
            entity="observation",
            patient_id=patient_id,
            detail={"count": len(rows), "codes": sorted({r.code for r in rows})},
        )
    return rows


def list_observations(
    session: Session,
    *,
    patient_id: int,
    actor: Actor,
    codes: Sequence[str] | None = None,
    limit: int = 500,
) -> list[Observation]:
    query = select(Observation).where(col(Observation.patient_id) == patient_id)
    if codes:
        query = query.where(col(Observation.code).in_(codes))
    query = query.order_by(col(Observation.observed_at).desc()).limit(limit)
    rows = list(session.execute(query).scalars())
    record(session, actor=actor, action="read", entity="observation", patient_id=patient_id)
    return rows
