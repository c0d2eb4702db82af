"""Phase transitions: the only way a patient's phase (or parallel track) changes.

The instance row is locked, the engine's machine decides on a snapshot of the
patient's facts, and the new phase and its ``PhaseEvent`` are written in the
same transaction. A refused transition raises before anything is written, so
an illegal event changes nothing. A lab value never reaches this function: a
person (actor) with a reason always does (RULES.md §10 rule 2).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel import Session

from models.base import require_id, utcnow
from models.pathway import PathwayInstance, PhaseEvent, ResponseAssessmentRecord
from models.repositories.audit import Actor, record
from models.repositories.patients import PatientNotFound, open_instance
from models.repositories.responses import check_signature, signature_detail
from models.repositories.users import Signature
from models.snapshots import load_snapshots
from pathways.consistency import Contradiction, signature_contradictions
from pathways.definition import Definition
from pathways.errors import ContradictoryFacts, PathwayError, TransitionNotAllowed, UnknownEvent
from pathways.facts import CentreFacts, SignedResponse
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
) -> TransitionResult:
    """Fire ``event`` for the patient; raise ``TransitionNotAllowed`` and write nothing if it does not apply.

    ``signed_response`` is the category the acting clinician signs with this
    transition (RESP-04); it is recorded as a signed assessment and the guards
    see it, so "remission_to_hct" cannot pass without a signature; it needs
    the ``signature`` of the acting clinician's re-authentication
    (``responses.check_signature``). ``at`` is when the clinician decided
    (default: now).
    """
    if not reason or not reason.strip():
        raise ReasonRequired()
    signed = None if signed_response is None else check_signature(session, actor, signature)
    track = machine_for_event(definition, event)
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
    if signed_response is not None:
        # A signature cannot make the latest assessment's blasts a remission (DEF-03 a).
        refused = signature_contradictions(facts.response_assessment, signed_response)
        if refused:
            raise ContradictoryFacts(
                [Contradiction(("signed_response", *c.fields[1:]), c.message) for c in refused]
            )
        facts = _with_signature(facts, signed_response, as_of)
    column = TRACK_COLUMNS[track]
    current = str(getattr(instance, column))
    outcome = definition.machines[track].fire(current, event, facts, patient=patient_id)

    now = at or utcnow()
    if signed_response is not None:
        session.add(
            ResponseAssessmentRecord(
                patient_id=patient_id,
                assessed_on=as_of,
                signed_category=signed_response,
                signed_by=actor.name,
                signed_at=now,
                sign_reason=reason,
                recorded_by=actor.name,
            )
        )
    setattr(instance, column, outcome.target)
    if track == "main":
        instance.phase_since = now
        if outcome.target in definition.machines["main"].finals:
            instance.ended_at = now
    session.add(instance)
    session.add(
        PhaseEvent(
            instance_id=require_id(instance),
            patient_id=patient_id,
            track=track,
            from_state=current,
            to_state=outcome.target,
            event=event,
            actor=actor.name,
            reason=reason.strip(),
            rule_ids=list(outcome.transition.rule_ids),
            at=now,
        )
    )
    record(
        session,
        actor=actor,
        action="transition",
        entity="pathway_instance",
        patient_id=patient_id,
        entity_id=instance.id,
        detail={
            "event": event,
            "track": track,
            "from": current,
            "to": outcome.target,
            **(
                {}
                if signed is None
                else {"signed": str(signed_response), **signature_detail(signed)}
            ),
        },
    )
    session.flush()
    return TransitionResult(
        patient_id=patient_id,
        track=track,
        event=event,
        from_state=current,
        to_state=outcome.target,
        rule_ids=outcome.transition.rule_ids,
    )


def _with_signature(facts, category: ResponseCategory, as_of: date):  # type: ignore[no-untyped-def]
    from dataclasses import replace

    return replace(facts, signed_response=SignedResponse(category=category, signed_on=as_of))


def phase_of(session: Session, *, patient_id: int) -> PathwayInstance:
    instance = open_instance(session, patient_id=patient_id)
    if instance is None:
        raise PatientNotFound(patient_id)
    return instance
