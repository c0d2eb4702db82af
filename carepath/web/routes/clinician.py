"""Clinician actions: record and sign a response, amend a signature, confirm a transition, acknowledge an alert.

Each is refused for any role but clinician (the access rule, and again in the
repository), needs a reason, and leaves who, when and why: on the row it
changes and in the audit trail. The engine's suggestion is shown and kept
beside the signature; it never becomes a category by itself (RESP-04).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from carepath.pathway import definition_for
from carepath.reauth import SignatureRefused, step_up
from carepath.web.contradictions import form_problems
from carepath.web.deps import (
    CARE_TEAM,
    DB,
    FormFields,
    actor_of,
    allow,
    clinic_date,
    lockout,
    now,
    settings,
)
from carepath.web.engine import response_suggestion
from carepath.web.routes.patients import patient_page
from models.repositories.alerts import AlertError, acknowledge_alert
from models.repositories.consistency import patient_contradictions
from models.repositories.patients import get_record
from models.repositories.responses import (
    AssessmentInput,
    ResponseError,
    amend_response,
    assessment_facts,
    list_assessments,
    record_assessment,
    sign_response,
)
from models.repositories.transitions import apply_transition
from models.repositories.users import Principal, Signature
from models.snapshots import load_snapshots
from pathways.errors import ContradictoryFacts, PathwayError
from pathways.facts import CentreFacts
from pathways.vocab import ResponseCategory, Role

router = APIRouter(include_in_schema=False)

Clinician = Annotated[Principal, allow(Role.CLINICIAN)]
Worker = Annotated[Principal, allow(*CARE_TEAM)]
# The inputs of the "record a response assessment" form (patient.html).
ASSESSMENT_FIELDS = (
    "assessed_on",
    "marrow_blast_pct",
    "trilineage_hematopoiesis",
    "circulating_blasts",
    "peripheral_blasts_per_ul",
    "extramedullary_sites",
    "anc_per_ul",
    "platelets_per_ul",
    "end_of_induction",
    "mrd_method",
    "mrd_value",
)


def _refused(
    request: Request,
    session: Session,
    principal: Principal,
    patient_id: int,
    form_id: str,
    problems: dict[str, str],
    values: dict[str, str],
) -> Response:
    session.rollback()
    kept = {k: v for k, v in values.items() if k != "password"}  # never echoed back
    return patient_page(
        request,
        session,
        principal,
        patient_id,
        problems={form_id: problems},
        values={form_id: kept},
        status_code=422,
    )


def _signature(
    request: Request, session: Session, principal: Principal, values: dict[str, str]
) -> tuple[Signature | None, dict[str, str]]:
    """A signature is the signer's act: the box ticked and their password entered again.

    The session alone is not enough: a workstation left signed in must not sign
    a response in someone else's name. A wrong password counts toward the
    account's lockout (``carepath.reauth``).
    """
    try:
        signature = step_up(
            session,
            principal=principal,
            password=values.get("password"),
            attested=values.get("attest") == "yes",
            now=now(request),
            lockout=lockout(request),
            channel="web",
        )
    except SignatureRefused as exc:
        return None, exc.problems
    return signature, {}


def _assessment(
    values: dict[str, str], today: date
) -> tuple[AssessmentInput | None, dict[str, str]]:
    problems: dict[str, str] = {}

    def number(name: str, top: float | None = None) -> float | None:
        text = values.get(name, "").strip()
        if not text:
            return None
        try:
            value = float(text)
        except ValueError:
            problems[name] = "must be a number"
            return None
        if value < 0 or (top is not None and value > top):
            problems[name] = f"must be between 0 and {top:g}" if top else "must be 0 or more"
        return value

    def yesno(name: str) -> bool | None:
        text = values.get(name, "")
        if text not in ("", "yes", "no"):
            problems[name] = "yes, no, or leave unknown"
        return None if text == "" else text == "yes"

    assessed: date | None = None
    try:
        assessed = date.fromisoformat(values.get("assessed_on", ""))
        if assessed > today:
            problems["assessed_on"] = "is in the future"
    except ValueError:
        problems["assessed_on"] = "must be a date, YYYY-MM-DD"
    blasts = number("marrow_blast_pct", 100)
    if blasts is None and "marrow_blast_pct" not in problems:
        problems["marrow_blast_pct"] = "required"
    method = values.get("mrd_method", "")
    if method not in ("", "flow", "pcr", "ngs"):
        problems["mrd_method"] = "flow, pcr or ngs"
    sites = [s.strip() for s in values.get("extramedullary_sites", "").split(",") if s.strip()]
    result = AssessmentInput(
        assessed_on=assessed or today,
        marrow_blast_pct=blasts,
        trilineage_hematopoiesis=yesno("trilineage_hematopoiesis"),
        circulating_blasts=yesno("circulating_blasts"),
        peripheral_blasts_per_ul=number("peripheral_blasts_per_ul"),
        extramedullary_sites=sites,
        anc_per_ul=number("anc_per_ul"),
        platelets_per_ul=number("platelets_per_ul"),
        end_of_induction=yesno("end_of_induction"),
        mrd_method=method or None,
        mrd_value=number("mrd_value", 1),
    )
    return (None, problems) if problems else (result, {})


@router.post("/patients/{patient_id}/responses")
def record_response(
    request: Request,
    session: DB,
    principal: Worker,
    patient_id: int,
    values: FormFields,
) -> Response:
    assessment, problems = _assessment(values, clinic_date(request))
    if assessment is None:
        return _refused(request, session, principal, patient_id, "assessment", problems, values)
    get_record(session, patient_id=patient_id, actor=actor_of(principal, request))
    found = patient_contradictions(
        session,
        patient_id=patient_id,
        as_of=clinic_date(request),
        timezone=settings(request).timezone,
        assessment=assessment_facts(assessment, now=now(request)),
    )
    if found:
        problems = form_problems(
            ContradictoryFacts(found),
            ASSESSMENT_FIELDS,
            {"response_assessment.date": "assessed_on"},
        )
        return _refused(request, session, principal, patient_id, "assessment", problems, values)
    record_assessment(
        session,
        patient_id=patient_id,
        values=assessment,
        actor=actor_of(principal, request),
        now=now(request),
    )
    return RedirectResponse(f"/patients/{patient_id}?done=recorded#responses", status_code=303)


def _current_suggestion(
    request: Request, session: Session, patient_id: int, assessment_id: int, principal: Principal
) -> dict[str, Any] | None:
    """The suggestion shown beside the latest unsigned assessment (kept with the signature)."""
    rows = list_assessments(session, patient_id=patient_id, actor=actor_of(principal, request))
    if not rows or rows[-1].id != assessment_id:
        return None
    cfg = settings(request)
    snapshots, _ = load_snapshots(
        session,
        patient_ids=[patient_id],
        as_of=clinic_date(request),
        timezone=cfg.timezone,
        centre=CentreFacts(),
    )
    if not snapshots:
        return None
    return response_suggestion(snapshots[0].facts, definition_for(cfg))


@router.post("/patients/{patient_id}/responses/{assessment_id}/sign")
def sign(
    request: Request,
    session: DB,
    principal: Clinician,
    patient_id: int,
    assessment_id: int,
    values: FormFields,
) -> Response:
    """Sign the category and, on the same form, confirm the transition it implies (if chosen).

    The password and attestation are asked once: one step-up signs the
    category and, when the clinician picked an event, fires it in the same
    transaction (``apply_transition`` signs the assessment that holds the
    findings). Every problem of the form is reported at once.
    """
    form_id = f"sign-{assessment_id}"
    event = values.get("event", "").strip()
    problems = _sign_form_problems(values)
    signature, unsigned = _signature(request, session, principal, values)
    problems |= unsigned
    if problems:
        return _refused(request, session, principal, patient_id, form_id, problems, values)
    suggestion = _current_suggestion(request, session, patient_id, assessment_id, principal)
    try:
        if event:
            if not _is_latest(request, session, principal, patient_id, assessment_id):
                raise ResponseError(
                    "event", "only the latest assessment's signature moves the phase"
                )
            _sign_and_transition(
                request, session, principal, patient_id, values, signature, suggestion
            )
        else:
            sign_response(
                session,
                patient_id=patient_id,
                assessment_id=assessment_id,
                category=values.get("category"),
                reason=values.get("reason"),
                actor=actor_of(principal, request),
                signature=signature,
                now=now(request),
                suggestion=suggestion,
            )
    except ResponseError as exc:
        if exc.status != 422:
            raise
        problems = {exc.field: exc.problem}
    except ContradictoryFacts as exc:
        problems = form_problems(exc, ("category", "event"), {"signed_response": "category"})
    except PathwayError as exc:
        problems = {getattr(exc, "field", None) or "event": str(exc)}
    if problems:
        return _refused(request, session, principal, patient_id, form_id, problems, values)
    if event:
        return RedirectResponse(
            f"/patients/{patient_id}?done=signed_moved#summary", status_code=303
        )
    return RedirectResponse(f"/patients/{patient_id}?done=signed#responses", status_code=303)


def _sign_form_problems(values: dict[str, str]) -> dict[str, str]:
    """The sign form's own fields, checked before the signature so all problems show at once."""
    problems: dict[str, str] = {}
    if values.get("category", "") not in {c.value for c in ResponseCategory}:
        problems["category"] = "choose the category you sign"
    if not values.get("reason", "").strip():
        problems["reason"] = "a reason is required"
    return problems


def _is_latest(
    request: Request, session: Session, principal: Principal, patient_id: int, assessment_id: int
) -> bool:
    rows = list_assessments(session, patient_id=patient_id, actor=actor_of(principal, request))
    return bool(rows) and rows[-1].id == assessment_id


def _sign_and_transition(
    request: Request,
    session: Session,
    principal: Principal,
    patient_id: int,
    values: dict[str, str],
    signature: Signature | None,
    suggestion: dict[str, Any] | None,
) -> None:
    """The transition the signature implies, fired with it: one step-up, one transaction."""
    cfg = settings(request)
    apply_transition(
        session,
        patient_id=patient_id,
        event=values["event"].strip(),
        actor=actor_of(principal, request),
        reason=values.get("reason", ""),
        definition=definition_for(cfg),
        as_of=clinic_date(request),
        timezone=cfg.timezone,
        signed_response=ResponseCategory(values["category"]),
        signature=signature,
        at=now(request),
        suggestion=suggestion,
    )


@router.post("/patients/{patient_id}/responses/{assessment_id}/amend")
def amend(
    request: Request,
    session: DB,
    principal: Clinician,
    patient_id: int,
    assessment_id: int,
    values: FormFields,
) -> Response:
    form_id = f"amend-{assessment_id}"
    signature, unsigned = _signature(request, session, principal, values)
    if unsigned:
        return _refused(request, session, principal, patient_id, form_id, unsigned, values)
    try:
        amend_response(
            session,
            patient_id=patient_id,
            assessment_id=assessment_id,
            category=values.get("category"),
            reason=values.get("reason"),
            actor=actor_of(principal, request),
            signature=signature,
            now=now(request),
        )
    except ResponseError as exc:
        if exc.status != 422:
            raise
        return _refused(
            request, session, principal, patient_id, form_id, {exc.field: exc.problem}, values
        )
    return RedirectResponse(f"/patients/{patient_id}?done=amended#responses", status_code=303)


@router.post("/patients/{patient_id}/transitions")
def transition(
    request: Request,
    session: DB,
    principal: Clinician,
    patient_id: int,
    values: FormFields,
) -> Response:
    problems: dict[str, str] = {}
    event = values.get("event", "").strip()
    reason = values.get("reason", "").strip()
    if not event:
        problems["event"] = "choose an event"
    if not reason:
        problems["reason"] = "a reason is required"
    signed: ResponseCategory | None = None
    if values.get("response"):
        try:
            signed = ResponseCategory(values["response"])
        except ValueError:
            problems["response"] = "unknown category"
    signature = None
    if signed is not None and not problems:
        # A category signed with the transition is a signature like any other.
        signature, unsigned = _signature(request, session, principal, values)
        problems |= unsigned
    if problems:
        return _refused(request, session, principal, patient_id, "transition", problems, values)
    cfg = settings(request)
    try:
        apply_transition(
            session,
            patient_id=patient_id,
            event=event,
            actor=actor_of(principal, request),
            reason=reason,
            definition=definition_for(cfg),
            as_of=clinic_date(request),
            timezone=cfg.timezone,
            signed_response=signed,
            signature=signature,
            at=now(request),
        )
    except ContradictoryFacts as exc:
        problems = form_problems(exc, ("response", "event"), {"signed_response": "response"})
        return _refused(request, session, principal, patient_id, "transition", problems, values)
    except PathwayError as exc:
        field = getattr(exc, "field", None) or "event"
        return _refused(
            request, session, principal, patient_id, "transition", {field: str(exc)}, values
        )
    return RedirectResponse(f"/patients/{patient_id}?done=transition#timeline", status_code=303)


@router.post("/patients/{patient_id}/alerts/{alert_id}/acknowledge")
def acknowledge(
    request: Request,
    session: DB,
    principal: Clinician,
    patient_id: int,
    alert_id: int,
    values: FormFields,
) -> Response:
    try:
        acknowledge_alert(
            session,
            patient_id=patient_id,
            alert_id=alert_id,
            reason=values.get("reason"),
            actor=actor_of(principal, request),
            now=now(request),
        )
    except AlertError as exc:
        if exc.status != 422:
            raise
        return _refused(
            request,
            session,
            principal,
            patient_id,
            f"ack-{alert_id}",
            {exc.field: exc.problem},
            values,
        )
    return RedirectResponse(f"/patients/{patient_id}?done=acknowledged#alerts", status_code=303)
