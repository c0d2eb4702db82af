"""Phase transitions: the only way a patient's phase (or parallel track) changes.

The instance row is locked, the engine's machine decides on a snapshot of the
patient's facts, and the new phase and its ``PhaseEvent`` are written in the
same transaction. A refused transition raises before anything is written, so
an illegal event changes nothing. A lab value never reaches this function: a
person (actor) with a reason always does (RULES.md §10 rule 2).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from sqlmodel import Session

from models.base import require_id, utcnow
from models.pathway import PathwayInstance, PhaseEvent, ResponseAssessmentRecord
from models.repositories.audit import Actor, record
from models.repositories.courses import end_finished_courses
from models.repositories.patients import PatientNotFound, open_instance
from models.repositories.responses import (
    amend_response,
    check_signature,
    latest_assessment,
    sign_response,
    signature_detail,
)
from models.repositories.users import Signature
from models.snapshots import load_snapshots
from pathways.definition import Definition
from pathways.engine import Contradiction, signature_contradictions
from pathways.errors import ContradictoryFacts, PathwayError, TransitionNotAllowed, UnknownEvent
from pathways.facts import CaseFacts, CentreFacts, SignedResponse
from pathways.vocab import Jurisdiction, ResponseCategory

TRACK_COLUMNS = {"main": "phase", "cns": "cns_track", "testis": "testis_track"}


class ReasonRequired(PathwayError):
    def __init__(self) -> None:
        super().__init__("reason: a transition needs a reason")
        self.field = "reason"


@dataclass(frozen=True)
class TransitionResult:
    patient_id: int
    track: str
    event: str
    from_state: str
    to_state: str
    rule_ids: tuple[str, ...]


def machine_for_event(definition: Definition, event: str) -> str:
    for name, machine in definition.machines.items():
        if event in machine.events:
            return name
    known = [e for m in definition.machines.values() for e in m.events]
    raise UnknownEvent(event, known)


def apply_transition(
    session: Session,
    *,
    patient_id: int,
    event: str,
    actor: Actor,
    reason: str,
    definition: Definition,
    as_of: date,
    timezone: str,
    jurisdiction: Jurisdiction | None = None,
    signed_response: ResponseCategory | None = None,
    signature: Signature | None = None,
    at: datetime | None = None,
    suggestion: dict[str, Any] | None = None,
) -> TransitionResult:
    """Fire ``event`` for the patient; raise ``TransitionNotAllowed`` and write nothing if it does not apply.

    ``signed_response`` is the category the acting clinician signs with this
    transition (RESP-04); it is recorded as a signed assessment and the guards
    see it, so "remission_to_hct" cannot pass without a signature; it needs
    the ``signature`` of the acting clinician's re-authentication
    (``responses.check_signature``). The signature attaches to the latest
    assessment, the one that holds the findings (``suggestion``: what the
    engine suggested for it, kept beside the signature). A transition to a
    phase a course does not run in ends it. ``at`` is when the clinician
    decided (default: now).
    """
    if not reason or not reason.strip():
        raise ReasonRequired()
    signed = None if signed_response is None else check_signature(session, actor, signature)
    track = machine_for_event(definition, event)
    instance = _pinned_instance(session, patient_id=patient_id, event=event, definition=definition)
    facts = _facts_for_transition(
        session,
        instance,
        event=event,
        as_of=as_of,
        timezone=timezone,
        jurisdiction=jurisdiction,
        signed_response=signed_response,
    )
    column = TRACK_COLUMNS[track]
    current = str(getattr(instance, column))
    outcome = definition.machines[track].fire(current, event, facts, patient=patient_id)

    now = at or utcnow()
    if signed_response is not None:
        _sign_latest(
            session,
            patient_id=patient_id,
            category=signed_response,
            reason=reason,
            actor=actor,
            signature=signature,
            now=now,
            as_of=as_of,
            suggestion=suggestion,
        )
    result = TransitionResult(
        patient_id=patient_id,
        track=track,
        event=event,
        from_state=current,
        to_state=outcome.target,
        rule_ids=outcome.transition.rule_ids,
    )
    _move(session, instance, result, definition=definition, actor=actor, now=now)
    signed_detail = (
        {} if signed is None else {"signed": str(signed_response), **signature_detail(signed)}
    )
    _write_event(
        session, instance, result, actor=actor, reason=reason, now=now, signed=signed_detail
    )
    session.flush()
    return result


def _pinned_instance(
    session: Session, *, patient_id: int, event: str, definition: Definition
) -> PathwayInstance:
    """The patient's open instance, locked; it must be pinned to this definition's version."""
    instance = open_instance(session, patient_id=patient_id, lock=True)
    if instance is None:
        raise PatientNotFound(patient_id)
    if instance.pathway_version != definition.version:
        raise TransitionNotAllowed(
            patient_id,
            event,
            str(instance.phase),
            f"patient is pinned to pathway version {instance.pathway_version}, "
            f"not {definition.version}",
        )
    return instance


def _facts_for_transition(
    session: Session,
    instance: PathwayInstance,
    *,
    event: str,
    as_of: date,
    timezone: str,
    jurisdiction: Jurisdiction | None,
    signed_response: ResponseCategory | None,
) -> CaseFacts:
    """The facts the guards see: the stored ones, with the category being signed, if any."""
    patient_id = instance.patient_id
    snapshots, problems = load_snapshots(
        session,
        patient_ids=[patient_id],
        as_of=as_of,
        timezone=timezone,
        jurisdiction=jurisdiction,
        centre=CentreFacts(),
    )
    if problems:
        raise TransitionNotAllowed(patient_id, event, str(instance.phase), problems[0].problem)
    facts = snapshots[0].facts
    if signed_response is None:
        return facts
    # A signature cannot make the latest assessment's blasts a remission (DEF-03 a).
    refused = signature_contradictions(facts.response_assessment, signed_response)
    if refused:
        raise ContradictoryFacts(
            [Contradiction(("signed_response", *c.fields[1:]), c.message) for c in refused]
        )
    return replace(facts, signed_response=SignedResponse(category=signed_response, signed_on=as_of))


def _move(
    session: Session,
    instance: PathwayInstance,
    result: TransitionResult,
    *,
    definition: Definition,
    actor: Actor,
    now: datetime,
) -> None:
    """Put the track in its new state; a new main phase may end the pathway and finished courses."""
    to = result.to_state
    setattr(instance, TRACK_COLUMNS[result.track], to)
    if result.track == "main":
        instance.phase_since = now
        if to in definition.machines["main"].finals:
            instance.ended_at = now
        end_finished_courses(
            session,
            patient_id=instance.patient_id,
            phase=to,
            definition=definition,
            actor=actor,
            at=now,
        )
    session.add(instance)


def _write_event(
    session: Session,
    instance: PathwayInstance,
    result: TransitionResult,
    *,
    actor: Actor,
    reason: str,
    now: datetime,
    signed: dict[str, str],
) -> None:
    """The immutable phase event and its audit line (``signed``: the signature given with it)."""
    session.add(
        PhaseEvent(
            instance_id=require_id(instance),
            patient_id=result.patient_id,
            track=result.track,
            from_state=result.from_state,
            to_state=result.to_state,
            event=result.event,
            actor=actor.name,
            reason=reason.strip(),
            rule_ids=list(result.rule_ids),
            at=now,
        )
    )
    record(
        session,
        actor=actor,
        action="transition",
        entity="pathway_instance",
        patient_id=result.patient_id,
        entity_id=instance.id,
        detail={
            "event": result.event,
            "track": result.track,
            "from": result.from_state,
            "to": result.to_state,
            **signed,
        },
    )


def _sign_latest(
    session: Session,
    *,
    patient_id: int,
    category: ResponseCategory,
    reason: str,
    actor: Actor,
    signature: Signature | None,
    now: datetime,
    as_of: date,
    suggestion: dict[str, Any] | None,
) -> None:
    """Sign the category on the assessment that holds the findings (RESP-04).

    The latest assessment is the one the guards and the suggestion read: it is
    signed if unsigned, amended if signed with another category, and left as it
    is if already signed with this one. Only a patient with no assessment at all
    gets a row of its own (a category signed from an outside report).
    """
    latest = latest_assessment(session, patient_id=patient_id)
    if latest is None:
        session.add(
            ResponseAssessmentRecord(
                patient_id=patient_id,
                assessed_on=as_of,
                signed_category=category,
                signed_by=actor.name,
                signed_at=now,
                sign_reason=reason,
                recorded_by=actor.name,
            )
        )
    elif latest.signed_at is None:
        sign_response(
            session,
            assessment_id=require_id(latest),
            actor=actor,
            signature=signature,
            now=now,
            suggestion=suggestion,
            patient_id=patient_id,
            category=category.value,
            reason=reason,
        )
    elif latest.signed_category != category:
        amend_response(
            session,
            assessment_id=require_id(latest),
            actor=actor,
            signature=signature,
            now=now,
            patient_id=patient_id,
            category=category.value,
            reason=reason,
        )


def phase_of(session: Session, *, patient_id: int) -> PathwayInstance:
    instance = open_instance(session, patient_id=patient_id)
    if instance is None:
        raise PatientNotFound(patient_id)
    return instance
