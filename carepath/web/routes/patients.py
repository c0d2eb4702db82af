"""Patients: the list, the patient page, intake, editing, and entering lab results."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlmodel import Session

from carepath.alerting import alerts_after_change
from carepath.pathway import definition_for
from carepath.web.contradictions import form_problems
from carepath.web.deps import (
    CARE_TEAM,
    DB,
    READERS,
    FormFields,
    actor_of,
    allow,
    clinic_date,
    now,
    settings,
)
from carepath.web.forms import (
    EDIT_FIELDS,
    INTAKE_FIELDS,
    edit_defaults,
    edit_from_form,
    groups,
    intake_from_form,
)
from carepath.web.patient_labs import RANGES
from carepath.web.patient_view import load_page
from carepath.web.planning import plan_new_patient
from carepath.web.templating import render
from models.base import require_id
from models.observation import ObservationCreate
from models.repositories.consistency import require_consistent_patient
from models.repositories.observations import add_observations
from models.repositories.patient_edits import update_patient
from models.repositories.patients import DuplicateMrn, create_patient, get_record, list_patients
from models.repositories.task_results import lab_form_specs, parse_result
from models.repositories.users import Principal
from pathways.clock import zone
from pathways.core.field_errors import field_errors
from pathways.core.labs import SKEW_SETTING, LabCatalogue
from pathways.errors import ContradictoryFacts
from pathways.vocab import Phase, ResponseCategory

router = APIRouter(include_in_schema=False)

Reader = Annotated[Principal, allow(*READERS)]
Worker = Annotated[Principal, allow(*CARE_TEAM)]
PAGE_SIZE = 50


@router.get("/patients")
def patient_list(request: Request, session: DB, principal: Reader) -> Response:
    params = request.query_params
    phase = params.get("phase") or None
    if phase not in {p.value for p in Phase}:
        phase = None
    try:
        page = max(1, int(params.get("page", "1")))
    except ValueError:
        page = 1
    search = (params.get("q") or "").strip()[:60] or None
    rows, total = list_patients(
        session,
        actor=actor_of(principal, request),
        phase=phase,
        search=search,
        limit=PAGE_SIZE,
        offset=(page - 1) * PAGE_SIZE,
    )
    return render(
        request,
        "patients.html",
        {
            "rows": rows,
            "total": total,
            "page": page,
            "pages": max(1, (total + PAGE_SIZE - 1) // PAGE_SIZE),
            "phase": phase,
            "q": search or "",
            "phases": list(Phase),
            "today": clinic_date(request),
        },
    )


def patient_page(
    request: Request,
    session: Session,
    principal: Principal,
    patient_id: int,
    *,
    problems: dict[str, dict[str, str]] | None = None,
    values: dict[str, dict[str, str]] | None = None,
    status_code: int = 200,
) -> Response:
    cfg = settings(request)
    page = load_page(
        session,
        patient_id=patient_id,
        actor=actor_of(principal, request),
        definition=definition_for(cfg),
        today=clinic_date(request),
        now=now(request),
        tz=cfg.timezone,
        labs_range=request.query_params.get("range"),
    )
    return render(
        request,
        "patient.html",
        {
            "p": page,
            "rec": page.record,
            "today": clinic_date(request),
            "now": now(request),
            "categories": list(ResponseCategory),
            "labs": definition_for(cfg).labs,
            "ranges": RANGES,
            "problems": problems or {},
            "values": values or {},
        },
        status_code=status_code,
    )


@router.get("/patients/new")
def intake_page(request: Request, principal: Worker) -> Response:
    return render(
        request,
        "patient_form.html",
        {"mode": "new", "groups": groups(INTAKE_FIELDS), "values": {}, "problems": {}},
    )


@router.post("/patients")
def intake(request: Request, session: DB, principal: Worker, form: FormFields) -> Response:
    cfg = settings(request)
    definition = definition_for(cfg)
    intake_, problems, raw = intake_from_form(
        form,
        as_of=clinic_date(request),
        now=now(request),
        timezone=cfg.timezone,
        definition=definition,
    )
    if intake_ is not None:
        try:
            patient = create_patient(
                session,
                intake=intake_,
                actor=actor_of(principal, request),
                definition=definition,
                at=now(request),
            )
        except DuplicateMrn as exc:
            problems = dict(exc.problems)
        else:
            plan_new_patient(request, session, require_id(patient))
            return RedirectResponse(f"/patients/{patient.id}?done=created", status_code=303)
    return render(
        request,
        "patient_form.html",
        {"mode": "new", "groups": groups(INTAKE_FIELDS), "values": raw, "problems": problems},
        status_code=422,
    )


@router.get("/patients/{patient_id}")
def show_patient(request: Request, session: DB, principal: Reader, patient_id: int) -> Response:
    return patient_page(request, session, principal, patient_id)


@router.get("/patients/{patient_id}/edit")
def edit_page(request: Request, session: DB, principal: Worker, patient_id: int) -> Response:
    record = get_record(session, patient_id=patient_id, actor=actor_of(principal, request))
    return render(
        request,
        "patient_form.html",
        {
            "mode": "edit",
            "rec": record,
            "groups": groups(EDIT_FIELDS),
            "values": edit_defaults(record),
            "problems": {},
        },
    )


@router.post("/patients/{patient_id}/edit")
def edit(
    request: Request, session: DB, principal: Worker, patient_id: int, form: FormFields
) -> Response:
    actor = actor_of(principal, request)
    change, problems, raw = edit_from_form(form, definition=definition_for(settings(request)))
    if change is not None:
        try:
            update_patient(
                session, patient_id=patient_id, edit=change, actor=actor, now=now(request)
            )
            # The edited facts must fit together; otherwise nothing of the edit is kept.
            require_consistent_patient(
                session,
                patient_id=patient_id,
                as_of=clinic_date(request),
                timezone=settings(request).timezone,
            )
            # A weight across the revumenib band restates the dose basis today (REV-03).
            alerts_after_change(
                session, settings(request), patient_ids=[patient_id], now=now(request), actor=actor
            )
        except ContradictoryFacts as exc:
            session.rollback()
            problems = form_problems(exc, (f.name for f in EDIT_FIELDS))
        except ValidationError as exc:  # the disease facts as a whole (DiseaseFactsBase)
            session.rollback()
            problems = field_errors(exc)
        else:
            return RedirectResponse(f"/patients/{patient_id}?done=saved", status_code=303)
    record = get_record(session, patient_id=patient_id, actor=actor)
    return render(
        request,
        "patient_form.html",
        {
            "mode": "edit",
            "rec": record,
            "groups": groups(EDIT_FIELDS),
            "values": raw,
            "problems": problems,
        },
        status_code=422,
    )


def _lab_form(
    form: Any, labs: LabCatalogue, *, tz: str, now: datetime, skew: timedelta
) -> tuple[list[ObservationCreate], dict[str, str]]:
    """Lab results typed from a report: each value in the unit picked, all checked at once."""
    parsed = parse_result(lab_form_specs(labs), form, labs)
    problems = dict(parsed.problems)
    problems.pop("note", None)
    observed: datetime | None = None
    try:
        day = date.fromisoformat(form.get("observed_on") or "")
        clock = time.fromisoformat(form.get("observed_time") or "08:00")
        observed = datetime.combine(day, clock, tzinfo=zone(tz))
    except ValueError:
        problems["observed_on"] = "must be a date (YYYY-MM-DD) and a time (HH:MM)"
    else:
        late = labs.result_time_problem(observed, now=now, skew=skew)
        if late:
            problems["observed_on"] = late
    if not parsed.labs and not problems:
        problems["lab"] = "enter at least one result"
    if problems or observed is None:
        return [], problems
    return [ObservationCreate.measured(m, at=observed, source="web") for m in parsed.labs], {}


@router.post("/patients/{patient_id}/observations")
def add_lab(
    request: Request, session: DB, principal: Worker, patient_id: int, form: FormFields
) -> Response:
    definition = definition_for(settings(request))
    observations, problems = _lab_form(
        form,
        definition.labs,
        tz=settings(request).timezone,
        now=now(request),
        skew=timedelta(minutes=float(definition.default(SKEW_SETTING))),
    )
    if problems:
        return patient_page(
            request,
            session,
            principal,
            patient_id,
            problems={"lab": problems},
            values={"lab": form},
            status_code=422,
        )
    get_record(session, patient_id=patient_id, actor=actor_of(principal, request))
    add_observations(
        session,
        patient_id=patient_id,
        observations=observations,
        actor=actor_of(principal, request),
    )
    return RedirectResponse(f"/patients/{patient_id}?done=recorded#labs", status_code=303)
