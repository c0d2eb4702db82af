"""REST API v1: patients, evaluations and transitions (facts: api_facts; lab results: api_labs; tasks: api_tasks).

Authenticate with ``Authorization: Bearer <token>``. Input is validated
completely before anything is written; a refusal is an RFC 9457 problem
document naming the field. The OpenAPI document is ``/api/v1/openapi.json``.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.encoders import jsonable_encoder
from pydantic import BaseModel, Field

from carepath.intake import observations_from_facts, parse_intake
from carepath.pathway import definition_for
from carepath.reauth import SignatureRefused, step_up
from carepath.security import MAX_PASSWORD_LENGTH
from carepath.web.api_body import Strict
from carepath.web.deps import (
    CARE_TEAM,
    DB,
    READERS,
    actor_of,
    allow,
    clinic_date,
    lockout,
    now,
    settings,
)
from carepath.web.engine import (
    induction_advice,
    monitoring_alerts,
    pending_steps,
    response_suggestion,
)
from carepath.web.params import Offset, RecordId
from carepath.web.planning import plan_new_patient
from carepath.web.problems import InvalidInput, problem
from models.base import require_id
from models.repositories.alerts import list_alerts
from models.repositories.observations import add_observations
from models.repositories.patients import create_patient, get_record, list_patients
from models.repositories.tasks import list_patient_tasks
from models.repositories.transitions import apply_transition
from models.repositories.users import Principal
from models.snapshots import load_snapshots
from models.task import CareTaskPublic
from pathways.engine import next_step_document
from pathways.facts import CentreFacts
from pathways.vocab import OPEN_TASK_STATUSES, Phase, ResponseCategory, Role

router = APIRouter(prefix="/api/v1", tags=["patients"])

Reader = Annotated[Principal, allow(*READERS)]
Worker = Annotated[Principal, allow(*CARE_TEAM)]
Clinician = Annotated[Principal, allow(Role.CLINICIAN)]


class PatientSummary(BaseModel):
    id: int
    mrn: str
    display_name: str
    birth_date: date
    lineage: str | None
    phase: str | None
    pathway_version: str | None


class PatientList(BaseModel):
    items: list[PatientSummary]
    total: int


class PhaseEventOut(BaseModel):
    at: datetime
    track: str
    event: str
    from_state: str | None
    to_state: str
    actor: str
    reason: str
    rule_ids: list[str]


class PatientDetail(BaseModel):
    id: int
    mrn: str
    display_name: str
    birth_date: date
    phase: str | None
    cns_track: str | None
    testis_track: str | None
    pathway_version: str | None
    events: list[PhaseEventOut]


class PatientIn(Strict):
    mrn: str = Field(description="Medical record number, unique whatever its letter case")
    display_name: str = Field(description="The patient's name, without markup")
    case: dict[str, Any] = Field(
        description=(
            "A carepath.case/1 document (CASE-FORMAT.md). A patient under the pathway's adult "
            "age is enrolled only with case.patient.adolescent_confirmed = true"
        )
    )


class SignatureIn(Strict):
    """The signing clinician's step-up: their own password, entered for this signature."""

    password: str = Field(min_length=1, max_length=MAX_PASSWORD_LENGTH)
    attest: Literal[True] = Field(
        description="The clinician classifies this response and signs it as themselves"
    )


class TransitionIn(Strict):
    event: str = Field(min_length=1, max_length=60)
    reason: str = Field(min_length=1, max_length=2000)
    signed_response: ResponseCategory | None = Field(
        default=None, description="The category the clinician signs with this transition (RESP-04)"
    )
    signature: SignatureIn | None = Field(
        default=None,
        description="Required with signed_response: the password of the clinician the token "
        "belongs to (a service account never signs)",
    )


SIGNING = (
    'To sign a response category through the API, send "signature": {"password": "<your own '
    'password>", "attest": true} with a token issued to you, the signing clinician. A token '
    "alone never signs, and a service account's or another person's token cannot."
)
SIGNATURE_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"description": "signed_response without the signer's step-up (signature-required)"},
    403: {
        "description": "the step-up was refused: wrong password, lockout, not a person's "
        "clinician token (signature-refused)"
    },
}


class TransitionOut(BaseModel):
    patient_id: int
    track: str
    event: str
    from_state: str
    to_state: str
    rule_ids: list[str]


class AllowedEvent(BaseModel):
    track: str
    event: str
    to_state: str
    rule_ids: list[str]
    blocked_by: list[str]


class Evaluation(BaseModel):
    patient_id: int
    as_of: date
    phase: str | None
    response_suggestion: dict[str, Any] | None = Field(
        description="DEF-15 suggestion for the latest unsigned assessment; a clinician signs"
    )
    induction_advice: dict[str, Any] | None = Field(
        description="Induction options, listed and never ranked (IND-06a); null outside selection"
    )
    monitoring_alerts: list[dict[str, Any]] = Field(
        description="Alerts today's facts support (MON rules); the flows record them"
    )
    next_steps: list[dict[str, Any]] = Field(
        default_factory=list,
        description="Steps waiting on a decision, e.g. the HCT referral after the signed response (POST-01)",
    )
    allowed_events: list[AllowedEvent]
    open_tasks: list[CareTaskPublic]
    open_alerts: list[dict[str, Any]]
    problems: list[str]


def _patient_detail(record: Any) -> PatientDetail:
    i = record.instance
    return PatientDetail(
        id=record.patient.id,
        mrn=record.patient.mrn,
        display_name=record.patient.display_name,
        birth_date=record.patient.birth_date,
        phase=None if i is None else str(i.phase),
        cns_track=None if i is None else str(i.cns_track),
        testis_track=None if i is None else str(i.testis_track),
        pathway_version=None if i is None else i.pathway_version,
        events=[PhaseEventOut.model_validate(e, from_attributes=True) for e in record.events],
    )


@router.get("/patients", response_model=PatientList)
def api_list_patients(
    request: Request,
    session: DB,
    principal: Reader,
    phase: Phase | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Offset = 0,
) -> PatientList:
    rows, total = list_patients(
        session,
        actor=actor_of(principal, request),
        phase=None if phase is None else phase.value,
        limit=limit,
        offset=offset,
    )
    return PatientList(
        items=[PatientSummary.model_validate(r, from_attributes=True) for r in rows], total=total
    )


@router.post("/patients", response_model=PatientDetail, status_code=201)
def api_create_patient(
    request: Request, session: DB, principal: Worker, body: PatientIn
) -> PatientDetail:
    definition = definition_for(settings(request))
    facts, intake = parse_intake(
        body.case,
        mrn=body.mrn,
        display_name=body.display_name,
        definition=definition,
        now=now(request),
        case_prefix="case.",
    )
    actor = actor_of(principal, request)
    patient = create_patient(
        session, intake=intake, actor=actor, definition=definition, at=now(request)
    )
    pid = require_id(patient)
    if facts.labs:
        add_observations(
            session,
            patient_id=pid,
            observations=observations_from_facts(facts, source="api"),
            actor=actor,
        )
    plan_new_patient(request, session, pid)
    return _patient_detail(get_record(session, patient_id=pid, actor=actor))


@router.get("/patients/{patient_id}", response_model=PatientDetail)
def api_get_patient(
    request: Request, session: DB, principal: Reader, patient_id: RecordId
) -> PatientDetail:
    return _patient_detail(
        get_record(session, patient_id=patient_id, actor=actor_of(principal, request))
    )


def _snapshot(request: Request, session: DB, patient_id: int, principal: Principal) -> Any:
    get_record(session, patient_id=patient_id, actor=actor_of(principal, request))
    snapshots, problems = load_snapshots(
        session,
        patient_ids=[patient_id],
        as_of=clinic_date(request),
        timezone=settings(request).timezone,
        centre=CentreFacts(),
    )
    return (snapshots[0] if snapshots else None), [p.problem for p in problems]


@router.get("/patients/{patient_id}/facts")
def api_facts(
    request: Request, session: DB, principal: Reader, patient_id: RecordId
) -> dict[str, Any]:
    """The facts the engine sees for this patient today (rows become engine values)."""
    snapshot, problems = _snapshot(request, session, patient_id, principal)
    return {
        "patient_id": patient_id,
        "facts": None if snapshot is None else jsonable_encoder(asdict(snapshot.facts)),
        "problems": problems,
    }


@router.get("/patients/{patient_id}/evaluation", response_model=Evaluation)
def api_evaluation(
    request: Request, session: DB, principal: Reader, patient_id: RecordId
) -> Evaluation:
    """What the engine suggests today: nothing here is applied until a clinician signs it."""
    actor = actor_of(principal, request)
    record = get_record(session, patient_id=patient_id, actor=actor)
    snapshot, problems = _snapshot(request, session, patient_id, principal)
    definition = definition_for(settings(request))
    suggestion = None
    advice = None
    alerts_now: list[dict[str, Any]] = []
    steps: list[dict[str, Any]] = []
    allowed: list[AllowedEvent] = []
    if snapshot is not None and record.instance is not None:
        facts = snapshot.facts
        if facts.response_assessment is not None:
            suggestion = response_suggestion(facts, definition)
        advice = induction_advice(facts, definition)
        alerts_now = monitoring_alerts(facts, definition)
        steps = [next_step_document(step) for step in pending_steps(facts, definition)]
        columns = {"main": "phase", "cns": "cns_track", "testis": "testis_track"}
        for track, machine in definition.machines.items():
            state = str(getattr(record.instance, columns[track]))
            for t in machine.allowed(state):
                allowed.append(
                    AllowedEvent(
                        track=track,
                        event=t.event,
                        to_state=t.target,
                        rule_ids=list(t.rule_ids),
                        blocked_by=[
                            f"requires {g.requires} ({', '.join(g.rule_ids)})"
                            for g in t.guards
                            if not g.test(facts)
                        ],
                    )
                )
    tasks = list_patient_tasks(session, patient_id=patient_id, actor=actor)
    alerts = list_alerts(session, patient_id=patient_id, actor=actor)
    return Evaluation(
        patient_id=patient_id,
        as_of=clinic_date(request),
        phase=None if record.instance is None else str(record.instance.phase),
        response_suggestion=suggestion,
        induction_advice=advice,
        monitoring_alerts=alerts_now,
        next_steps=steps,
        allowed_events=allowed,
        open_tasks=[
            CareTaskPublic.model_validate(t, from_attributes=True)
            for t in tasks
            if t.status in OPEN_TASK_STATUSES
        ],
        open_alerts=[
            {
                "id": a.id,
                "code": a.code,
                "rule_id": a.rule_id,
                "severity": a.severity.value,
                "message": a.message,
                "raised_at": a.raised_at,
            }
            for a in alerts
            if a.acknowledged_at is None
        ],
        problems=problems,
    )


@router.get("/patients/{patient_id}/transitions", response_model=list[PhaseEventOut])
def api_transitions(
    request: Request, session: DB, principal: Reader, patient_id: RecordId
) -> list[PhaseEventOut]:
    record = get_record(session, patient_id=patient_id, actor=actor_of(principal, request))
    return [PhaseEventOut.model_validate(e, from_attributes=True) for e in record.events]


@router.post(
    "/patients/{patient_id}/transitions",
    response_model=TransitionOut,
    status_code=201,
    responses=SIGNATURE_RESPONSES,
)
def api_transition(
    request: Request, session: DB, principal: Clinician, patient_id: RecordId, body: TransitionIn
) -> Any:
    """A clinician confirms a phase change; a refused event changes nothing (409).

    A response category signed with it (``signed_response``) needs the signer's
    step-up in ``signature``; without it the answer is 401 and says how to sign.
    """
    signature = None
    if body.signed_response is None and body.signature is not None:
        raise InvalidInput({"signature": "only with signed_response (nothing else is signed)"})
    if body.signed_response is not None:
        if body.signature is None:
            return problem(
                401,
                "A signature needs the signer's step-up",
                SIGNING,
                slug="signature-required",
                instance=request.url.path,
                headers={"WWW-Authenticate": 'Bearer error="insufficient_user_authentication"'},
            )
        try:
            signature = step_up(
                session,
                principal=principal,
                password=body.signature.password,
                attested=body.signature.attest,
                now=now(request),
                lockout=lockout(request),
                channel="api",
            )
        except SignatureRefused as exc:
            return problem(
                403,
                "Signature refused",
                f"{exc}. {SIGNING}",
                slug="signature-refused",
                instance=request.url.path,
                errors={f"signature.{f}": p for f, p in exc.problems.items()},
            )
    cfg = settings(request)
    result = apply_transition(
        session,
        patient_id=patient_id,
        event=body.event,
        actor=actor_of(principal, request),
        reason=body.reason,
        definition=definition_for(cfg),
        as_of=clinic_date(request),
        timezone=cfg.timezone,
        signed_response=body.signed_response,
        signature=signature,
        at=now(request),
    )
    return TransitionOut(
        patient_id=result.patient_id,
        track=result.track,
        event=result.event,
        from_state=result.from_state,
        to_state=result.to_state,
        rule_ids=list(result.rule_ids),
    )
