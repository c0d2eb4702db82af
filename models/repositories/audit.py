"""Who is acting, and the audit events their access leaves."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlmodel import Session

from models.audit import AuditEvent
from models.base import utcnow


@dataclass(frozen=True, slots=True)
class Actor:
    """The person or job behind an access: name, role and the channel they came through."""

    name: str
    role: str
    channel: str  # web | api | cli | flow

    @classmethod
    def system(cls, job: str) -> Actor:
        return cls(name=f"flow:{job}", role="system", channel="flow")


def record(
    session: Session,
    *,
    actor: Actor,
    action: str,
    entity: str,
    patient_id: int | None = None,
    entity_id: str | int | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Append one audit event to the session's transaction."""
    session.add(
        AuditEvent(
            actor=actor.name,
            role=actor.role,
            channel=actor.channel,
            action=action,
            patient_id=patient_id,
            entity=entity,
            entity_id=None if entity_id is None else str(entity_id),
            detail=detail,
        )
    )


def record_many(
    session: Session,
    *,
    actor: Actor,
    action: str,
    entity: str,
    patient_ids: Iterable[int],
    detail: dict[str, Any] | None = None,
) -> int:
    """One audit row per patient, in one statement (flows touch patients in batches).

    The ids travel as one array parameter: a batch of thousands of patients is
    one small statement, not thousands of bound rows.
    """
    rows = list(patient_ids)
    if rows:
        session.execute(
            text(
                "INSERT INTO audit_event (at, actor, role, channel, action, patient_id, entity, detail) "
                "SELECT :at, :actor, :role, :channel, :action, pid, :entity, CAST(:detail AS jsonb) "
                "FROM unnest(CAST(:ids AS int[])) AS pid"
            ),
            {
                "at": utcnow(),
                "actor": actor.name,
                "role": actor.role,
                "channel": actor.channel,
                "action": action,
                "entity": entity,
                "detail": None if detail is None else json.dumps(detail),
                "ids": rows,
            },
        )
    return len(rows)


def list_events(
    session: Session,
    *,
    actor: str | None = None,
    patient_id: int | None = None,
    action: str | None = None,
    channel: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 200,
    offset: int = 0,
) -> Sequence[AuditEvent]:
    query = select(AuditEvent).order_by(AuditEvent.id.desc())  # type: ignore[union-attr]
    if actor:
        query = query.where(AuditEvent.actor == actor)
    if patient_id is not None:
        query = query.where(AuditEvent.patient_id == patient_id)
    if action:
        query = query.where(AuditEvent.action == action)
    if channel:
        query = query.where(AuditEvent.channel == channel)
    if since is not None:
        query = query.where(AuditEvent.at >= since)
    if until is not None:
        query = query.where(AuditEvent.at < until)
    return session.execute(query.limit(limit).offset(offset)).scalars().all()
