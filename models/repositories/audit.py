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
    """The person or job behind an access: name, role, the channel they came through, and the
    credential they proved it with (``session 12``, ``token 7 (lab bridge)``, ``cli``, ``flow``)."""

    name: str
    role: str
    channel: str  # web | api | cli | flow
    credential: str | None = None

    @classmethod
    def system(cls, job: str) -> Actor:
        return cls(name=f"flow:{job}", role="system", channel="flow", credential="flow")


def record(
    session: Session,
    *,
    actor: Actor,
    action: str,
    entity: str,
    patient_id: int | None = None,
    entity_id: str | int | None = None,
    detail: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> None:
    """Append one audit event to the session's transaction (``at``: the caller's clock, else now)."""
    session.add(
        AuditEvent(
            at=at or utcnow(),
            actor=actor.name,
            role=actor.role,
            channel=actor.channel,
            action=action,
            credential=actor.credential or actor.channel,
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
    """One audit row for an access to a batch of patients, naming them all.

    A single patient is named in ``patient_id`` as ``record`` does; a batch is
    one row whose ``patient_ids`` lists every patient, in one small statement.
    Returns the number of patients recorded.
    """
    ids = sorted(set(patient_ids))
    if not ids:
        return 0
    session.execute(
        text(
            "INSERT INTO audit_event (at, actor, role, channel, action, credential, patient_id, "
            "patient_ids, entity, detail) VALUES (:at, :actor, :role, :channel, :action, :cred, :pid, "
            "CAST(:ids AS int[]), :entity, CAST(:detail AS jsonb))"
        ),
        {
            "at": utcnow(),
            "actor": actor.name,
            "role": actor.role,
            "channel": actor.channel,
            "action": action,
            "cred": actor.credential or actor.channel,
            "pid": ids[0] if len(ids) == 1 else None,
            "ids": None if len(ids) == 1 else ids,
            "entity": entity,
            "detail": None if detail is None else json.dumps(detail),
        },
    )
    return len(ids)


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
        query = query.where(
            (AuditEvent.patient_id == patient_id) | AuditEvent.patient_ids.contains([patient_id])  # type: ignore[union-attr]
        )
    if action:
        query = query.where(AuditEvent.action == action)
    if channel:
        query = query.where(AuditEvent.channel == channel)
    if since is not None:
        query = query.where(AuditEvent.at >= since)
    if until is not None:
        query = query.where(AuditEvent.at < until)
    return session.execute(query.limit(limit).offset(offset)).scalars().all()
