"""Response assessments (DEF-15 inputs) and the clinician's signature on their category.

The engine only suggests a category (RESP-04); a clinician signs one, with a
reason, and the suggestion they saw is kept beside the signature. A signed
assessment is never overwritten: an amendment is a new signed row pointing at
the one it replaces (``amends_id``), and only the newest of a chain can be
amended again.

Every function here that writes ``signed_by`` takes the ``Signature`` the
signer's re-authentication produced (``carepath.reauth.step_up``) and refuses
one that is not the acting clinician's own (``check_signature``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from models.pathway import ResponseAssessmentRecord
from models.repositories.audit import Actor, record
from models.repositories.completion import mark_completed
from models.repositories.results import sign_task_key
from models.repositories.users import Signature
from models.snapshots import response_assessment_from_row
from models.task import CareTask
from models.user import AppUser
from pathways.engine import signature_contradictions
from pathways.facts import ResponseAssessment
from pathways.vocab import OPEN_TASK_STATUSES, ResponseCategory, Role


class ResponseNotFound(LookupError):
    def __init__(self, assessment_id: int) -> None:
        super().__init__(f"response assessment {assessment_id} not found for this patient")
        self.assessment_id = assessment_id


class ResponseError(ValueError):
    def __init__(self, field: str, problem: str, status: int = 422) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem
        self.status = status


@dataclass(frozen=True)
class AssessmentInput:
    """What a marrow/blood assessment records (DEF-15 INPUTS)."""

    assessed_on: date
    marrow_blast_pct: float | None = None
    trilineage_hematopoiesis: bool | None = None
    circulating_blasts: bool | None = None
    peripheral_blasts_per_ul: float | None = None
    extramedullary_sites: list[str] = field(default_factory=list)
    anc_per_ul: float | None = None
    platelets_per_ul: float | None = None
    end_of_induction: bool | None = None
    mrd_method: str | None = None
    mrd_value: float | None = None


def assessment_facts(values: AssessmentInput, *, now: datetime) -> ResponseAssessment:
    """The assessment as the engine will see it once stored (to check it before writing)."""
    return response_assessment_from_row(_row(values, patient_id=0, actor_name="", now=now))


def _row(
    values: AssessmentInput,
    *,
    patient_id: int,
    actor_name: str,
    now: datetime,
    course_id: int | None = None,
) -> ResponseAssessmentRecord:
    return ResponseAssessmentRecord(
        patient_id=patient_id,
        course_id=course_id,
        assessed_on=values.assessed_on,
        marrow_blast_pct=values.marrow_blast_pct,
        trilineage_hematopoiesis=values.trilineage_hematopoiesis,
        circulating_blasts=values.circulating_blasts,
        peripheral_blasts_per_ul=values.peripheral_blasts_per_ul,
        extramedullary_sites=list(values.extramedullary_sites),
        anc_per_ul=values.anc_per_ul,
        platelets_per_ul=values.platelets_per_ul,
        end_of_induction=values.end_of_induction,
        mrd_method=values.mrd_method,
        mrd_value=values.mrd_value,
        recorded_by=actor_name,
        recorded_at=now,
    )


def list_assessments(
    session: Session, *, patient_id: int, actor: Actor
) -> list[ResponseAssessmentRecord]:
    rows = list(
        session.execute(
            select(ResponseAssessmentRecord)
            .where(col(ResponseAssessmentRecord.patient_id) == patient_id)
            .order_by(col(ResponseAssessmentRecord.assessed_on), col(ResponseAssessmentRecord.id))
        ).scalars()
    )
    record(session, actor=actor, action="read", entity="response_assessment", patient_id=patient_id)
    return rows


def latest_assessment(session: Session, *, patient_id: int) -> ResponseAssessmentRecord | None:
    """The assessment the engine reads as the latest (``load_snapshots`` orders the same way)."""
    return session.execute(
        select(ResponseAssessmentRecord)
        .where(col(ResponseAssessmentRecord.patient_id) == patient_id)
        .order_by(
            col(ResponseAssessmentRecord.assessed_on).desc(),
            col(ResponseAssessmentRecord.id).desc(),
        )
        .limit(1)
    ).scalar_one_or_none()


def record_assessment(
    session: Session,
    *,
    patient_id: int,
    values: AssessmentInput,
    actor: Actor,
    now: datetime,
    course_id: int | None = None,
) -> ResponseAssessmentRecord:
    row = _row(values, patient_id=patient_id, actor_name=actor.name, now=now, course_id=course_id)
    session.add(row)
    session.flush()
    record(
        session,
        actor=actor,
        action="create",
        entity="response_assessment",
        patient_id=patient_id,
        entity_id=row.id,
    )
    return row


def _get(session: Session, patient_id: int, assessment_id: int) -> ResponseAssessmentRecord:
    row = session.scalars(
        select(ResponseAssessmentRecord)
        .where(
            col(ResponseAssessmentRecord.id) == assessment_id,
            col(ResponseAssessmentRecord.patient_id) == patient_id,
        )
        .with_for_update()
    ).one_or_none()
    if row is None:
        raise ResponseNotFound(assessment_id)
    return row


def check_signature(session: Session, actor: Actor, signature: Signature | None) -> Signature:
    """The signature must be the acting clinician's own, re-authenticated for this act.

    A ``demo`` signature (the demo's invented history) is accepted only for a
    name that is no account, so it can never stand for a real person.
    """
    if actor.role != Role.CLINICIAN.value:
        raise ResponseError("role", "only a clinician signs a response category", status=403)
    if signature is None or signature.signer != actor.name or signature.role != actor.role:
        raise ResponseError(
            "signature", "a signature needs the signer's own password, entered again", status=403
        )
    if signature.method != "password":
        account = session.execute(
            select(col(AppUser.id)).where(col(AppUser.username) == signature.signer)
        ).first()
        if signature.method != "demo" or account is not None:
            raise ResponseError(
                "signature",
                "a signature needs the signer's own password, entered again",
                status=403,
            )
    return signature


def signature_detail(signature: Signature) -> dict[str, str]:
    return {"reauthenticated": signature.method, "credential": signature.credential}


def _checked(
    session: Session,
    actor: Actor,
    signature: Signature | None,
    category: str | None,
    reason: str | None,
) -> tuple[ResponseCategory, str, Signature]:
    signed = check_signature(session, actor, signature)
    try:
        chosen = ResponseCategory(category or "")
    except ValueError:
        raise ResponseError(
            "category", f"one of {', '.join(c.value for c in ResponseCategory)}"
        ) from None
    text = (reason or "").strip()
    if not text:
        raise ResponseError("reason", "a reason is required")
    if len(text) > 2000:
        raise ResponseError("reason", "at most 2000 characters")
    return chosen, text, signed


def _signable(row: ResponseAssessmentRecord, chosen: ResponseCategory) -> None:
    """A remission category the assessment's own findings rule out is refused (DEF-03 a)."""
    found = signature_contradictions(response_assessment_from_row(row), chosen)
    if found:
        raise ResponseError("category", found[0].message)


def sign_response(
    session: Session,
    *,
    patient_id: int,
    assessment_id: int,
    category: str | None,
    reason: str | None,
    actor: Actor,
    signature: Signature | None,
    now: datetime,
    suggestion: dict[str, Any] | None = None,
) -> ResponseAssessmentRecord:
    """Sign the category of an unsigned assessment, keeping the suggestion the clinician saw."""
    chosen, text, signed = _checked(session, actor, signature, category, reason)
    row = _get(session, patient_id, assessment_id)
    if row.signed_at is not None:
        raise ResponseError(
            "assessment", "already signed; amend it to change the category", status=409
        )
    _signable(row, chosen)
    if suggestion is not None and row.suggestion is None:
        row.suggestion = suggestion
        row.suggested_category = ResponseCategory(suggestion["category"])
    row.signed_category = chosen
    row.signed_by = actor.name
    row.signed_at = now
    row.sign_reason = text
    session.add(row)
    record(
        session,
        actor=actor,
        action="sign",
        entity="response_assessment",
        patient_id=patient_id,
        entity_id=assessment_id,
        detail={
            "category": chosen.value,
            "suggested": None if row.suggested_category is None else row.suggested_category.value,
            **signature_detail(signed),
        },
    )
    _close_sign_task(session, row, actor, now)
    session.flush()
    return row


def _close_sign_task(
    session: Session, row: ResponseAssessmentRecord, actor: Actor, now: datetime
) -> None:
    """The signature is the sign task's result: it closes with it, wherever it was signed."""
    task = session.execute(
        select(CareTask)
        .where(
            col(CareTask.dedupe_key) == sign_task_key(row.patient_id, row.id or 0),
            col(CareTask.status).in_(sorted(OPEN_TASK_STATUSES)),
        )
        .with_for_update()
    ).scalar_one_or_none()
    if task is None:
        return
    category = None if row.signed_category is None else row.signed_category.value
    mark_completed(
        session,
        task,
        at=now,
        by=actor,
        result={"signed_category": category, "response_assessment_id": row.id},
        detail={"by": "signature", "category": category},
    )


def amend_response(
    session: Session,
    *,
    patient_id: int,
    assessment_id: int,
    category: str | None,
    reason: str | None,
    actor: Actor,
    signature: Signature | None,
    now: datetime,
) -> ResponseAssessmentRecord:
    """A new signed row replacing a signed one; the original stays as it was."""
    chosen, text, signed = _checked(session, actor, signature, category, reason)
    original = _get(session, patient_id, assessment_id)
    if original.signed_at is None:
        raise ResponseError("assessment", "not signed yet; sign it instead", status=409)
    _signable(original, chosen)
    newer = session.execute(
        select(col(ResponseAssessmentRecord.id)).where(
            col(ResponseAssessmentRecord.amends_id) == assessment_id
        )
    ).first()
    if newer is not None:
        raise ResponseError(
            "assessment", f"already amended by assessment {newer[0]}; amend that one", status=409
        )
    row = ResponseAssessmentRecord(
        patient_id=patient_id,
        course_id=original.course_id,
        assessed_on=original.assessed_on,
        marrow_blast_pct=original.marrow_blast_pct,
        trilineage_hematopoiesis=original.trilineage_hematopoiesis,
        circulating_blasts=original.circulating_blasts,
        peripheral_blasts_per_ul=original.peripheral_blasts_per_ul,
        extramedullary_sites=list(original.extramedullary_sites),
        anc_per_ul=original.anc_per_ul,
        platelets_per_ul=original.platelets_per_ul,
        in_remission_before=original.in_remission_before,
        end_of_induction=original.end_of_induction,
        mrd_method=original.mrd_method,
        mrd_value=original.mrd_value,
        mrd_sensitivity=original.mrd_sensitivity,
        suggested_category=original.suggested_category,
        suggestion=original.suggestion,
        signed_category=chosen,
        signed_by=actor.name,
        signed_at=now,
        sign_reason=text,
        amends_id=assessment_id,
        evaluated_at=original.evaluated_at,
        recorded_by=actor.name,
        recorded_at=now,
    )
    session.add(row)
    session.flush()
    record(
        session,
        actor=actor,
        action="amend",
        entity="response_assessment",
        patient_id=patient_id,
        entity_id=row.id,
        detail={
            "amends": assessment_id,
            "from": None if original.signed_category is None else original.signed_category.value,
            "to": chosen.value,
            **signature_detail(signed),
        },
    )
    return row
