"""Who is acting, and the audit events their access leaves."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlmodel import Session, col

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


# Actions that only look at data: inside one view they fold into the view's one event.
READ_ACTIONS = frozenset({"read", "list"})
_VIEW = "carepath.audit.view"


@dataclass(slots=True)
class _Event:
    actor: Actor
    action: str
    entity: str
    at: datetime
    patient_ids: tuple[int, ...]
    entity_id: str | None
    detail: dict[str, Any] | None

    def summary(self) -> dict[str, Any]:
        """What was read, for the view's detail: names and counts, never values."""
        said: dict[str, Any] = {"entity": self.entity}
        if self.action != "read":
            said["action"] = self.action
        if self.entity_id is not None:
            said["id"] = self.entity_id
        if len(self.patient_ids) > 1:
            said["patients"] = len(self.patient_ids)
        if self.detail:
            said |= self.detail
        return said


@dataclass(slots=True)
class _View:
    reads: list[_Event] = field(default_factory=list)


@contextmanager
def one_view(session: Session) -> Iterator[None]:
    """Every read inside the block (one page or API request) becomes one audit event.

    A page reads the patient, their tasks, alerts, results and assessments
    through as many repository calls, each auditing its own access; five rows
    for one look at one record buries the trail. Inside the block those reads
    are collected, and at its end written as one event (``action`` read,
    ``entity`` view, ``entity_id`` the page's name) naming every patient touched and,
    in ``detail.records``, every kind of record read. A lone read is written as
    it came. Writes keep their own events. Call ``end_view`` before the commit.
    """
    session.info[_VIEW] = _View()
    try:
        yield
    finally:
        session.info.pop(_VIEW, None)


def end_view(session: Session, name: str) -> None:
    """Write the view's collected reads as one event of the view ``name`` (see ``one_view``)."""
    view: _View | None = session.info.get(_VIEW)
    if view is None or not view.reads:
        return
    reads, view.reads = view.reads, []
    by_actor: dict[Actor, list[_Event]] = {}
    for read in reads:
        by_actor.setdefault(read.actor, []).append(read)
    for actor, theirs in by_actor.items():
        if len(theirs) == 1:
            _write(session, theirs[0])
            continue
        patients = sorted({p for r in theirs for p in r.patient_ids})
        _write(
            session,
            _Event(
                actor=actor,
                action="read",
                entity="view",
                at=theirs[0].at,
                patient_ids=tuple(patients),
                entity_id=name[:80],
                detail={"records": [r.summary() for r in theirs]},
            ),
        )


def _collect(session: Session, read: _Event) -> bool:
    """Keep ``read`` for the view's one event; False when no view is open."""
    view: _View | None = session.info.get(_VIEW)
    if view is None or read.action not in READ_ACTIONS:
        return False
    view.reads.append(read)
    return True


def _write(session: Session, read: _Event) -> None:
    if len(read.patient_ids) > 1:
        _insert_batch(session, read)
        return
    session.add(
        AuditEvent(
            at=read.at,
            actor=read.actor.name,
            role=read.actor.role,
            channel=read.actor.channel,
            action=read.action,
            credential=read.actor.credential or read.actor.channel,
            patient_id=read.patient_ids[0] if read.patient_ids else None,
            entity=read.entity,
            entity_id=read.entity_id,
            detail=read.detail,
        )
    )


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
    event = _Event(
        actor=actor,
        action=action,
        entity=entity,
        at=at or utcnow(),
        patient_ids=() if patient_id is None else (patient_id,),
        entity_id=None if entity_id is None else str(entity_id),
        detail=detail,
    )
    if not _collect(session, event):
        _write(session, event)


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
    event = _Event(
        actor=actor,
        action=action,
        entity=entity,
        at=utcnow(),
        patient_ids=tuple(ids),
        entity_id=None,
        detail=detail,
    )
    if not _collect(session, event):
        _write(session, event)
    return len(ids)


def _insert_batch(session: Session, read: _Event) -> None:
    """One row naming many patients, in one small statement (no ORM object per patient)."""
    session.execute(
        text(
            "INSERT INTO audit_event (at, actor, role, channel, action, credential, patient_id, "
            "patient_ids, entity, entity_id, detail) VALUES (:at, :actor, :role, :channel, "
            ":action, :cred, NULL, CAST(:ids AS int[]), :entity, :entity_id, CAST(:detail AS jsonb))"
        ),
        {
            "at": read.at,
            "actor": read.actor.name,
            "role": read.actor.role,
            "channel": read.actor.channel,
            "action": read.action,
            "cred": read.actor.credential or read.actor.channel,
            "ids": list(read.patient_ids),
            "entity": read.entity,
            "entity_id": read.entity_id,
            "detail": None if read.detail is None else json.dumps(read.detail),
        },
    )


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
    query = select(AuditEvent).order_by(col(AuditEvent.id).desc())
    if actor:
        query = query.where(col(AuditEvent.actor) == actor)
    if patient_id is not None:
        query = query.where(
            (col(AuditEvent.patient_id) == patient_id)
            | col(AuditEvent.patient_ids).contains([patient_id])
        )
    if action:
        query = query.where(col(AuditEvent.action) == action)
    if channel:
        query = query.where(col(AuditEvent.channel) == channel)
    if since is not None:
        query = query.where(col(AuditEvent.at) >= since)
    if until is not None:
        query = query.where(col(AuditEvent.at) < until)
    return session.execute(query.limit(limit).offset(offset)).scalars().all()
