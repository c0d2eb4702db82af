"""REST API v1: the task queue (list, claim, take over, complete, cancel or skip, hand back)."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field

from carepath.web.api_body import Strict
from carepath.web.deps import CARE_TEAM, DB, actor_of, allow, clinic_date, lab_catalogue, now
from carepath.web.params import IdFilter, Offset, RecordId
from carepath.web.routes.queue import queue_window
from models.repositories.task_queue import SEARCH_MAX
from models.repositories.tasks import (
    COUNT_LIMIT,
    Bucket,
    QueueFilters,
    claim_next,
    claim_task,
    close_task,
    complete_task,
    get_task,
    list_queue,
    queue_counts,
    release_task,
    take_over_task,
)
from models.repositories.users import Principal
from models.task import CareTaskPublic
from pathways.vocab import OptionId, TaskKind

router = APIRouter(prefix="/api/v1", tags=["tasks"])

Worker = Annotated[Principal, allow(*CARE_TEAM)]


class QueueTask(CareTaskPublic):
    mrn: str
    patient_name: str


class Counts(BaseModel):
    """Open tasks per bucket; a count stops at ``limit`` (it then means "limit or more")."""

    limit: int = COUNT_LIMIT
    overdue: int
    today: int
    upcoming: int
    mine: int


class TaskList(BaseModel):
    bucket: str
    counts: Counts
    items: list[QueueTask]


class CompleteIn(Strict):
    result: dict[str, Any] = Field(
        default_factory=dict,
        description="The values the task asks for (its result_fields), plus an optional note",
    )


class TakeOverIn(Strict):
    reason: str = Field(min_length=1, max_length=2000, description="Why you take it; they see it")


class CloseIn(Strict):
    reason: str = Field(min_length=1, max_length=2000)
    outcome: Literal["cancelled", "skipped"] = "cancelled"


TASK_FIELDS = tuple(CareTaskPublic.model_fields)


def _public(task: Any) -> CareTaskPublic:
    return CareTaskPublic.model_validate(task, from_attributes=True)


@router.get("/tasks", response_model=TaskList)
def api_tasks(
    request: Request,
    session: DB,
    principal: Worker,
    bucket: Literal["overdue", "today", "upcoming", "mine"] = "overdue",
    kind: TaskKind | None = None,
    patient: IdFilter = None,
    regimen: OptionId | None = None,
    q: Annotated[
        str | None,
        Query(
            max_length=SEARCH_MAX,
            description="Part of the patient's name or MRN (case-insensitive; % and _ as typed)",
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Offset = 0,
) -> Response:
    """My role's open tasks and mine, by bucket, soonest due first, with the counts of every bucket."""
    filters = QueueFilters(
        kind=kind,
        patient_id=patient,
        regimen=None if regimen is None else regimen.value,
        mine_only=bucket == "mine",
        text=q,
    )
    window = queue_window(request)
    counts = queue_counts(
        session,
        role=principal.role,
        username=principal.username,
        filters=replace(filters, mine_only=False),
        window=window,
    )
    rows = list_queue(
        session,
        role=principal.role,
        username=principal.username,
        bucket=None if bucket == "mine" else Bucket(bucket),
        filters=filters,
        window=window,
        actor=actor_of(principal, request),
        limit=limit,
        offset=offset,
    )
    payload = TaskList.model_construct(
        bucket=bucket,
        counts=Counts.model_construct(
            overdue=counts.overdue, today=counts.today, upcoming=counts.upcoming, mine=counts.mine
        ),
        items=[
            QueueTask.model_construct(
                **{name: getattr(r.task, name) for name in TASK_FIELDS},
                mrn=r.mrn,
                patient_name=r.patient_name,
            )
            for r in rows
        ],
    )
    # The rows are typed table rows already: serialise once, without validating them again.
    return Response(payload.model_dump_json(), media_type="application/json")


@router.post("/tasks/claim-next", response_model=CareTaskPublic, responses={204: {}})
def api_claim_next(
    request: Request, session: DB, principal: Worker, kind: TaskKind | None = None
) -> Any:
    task = claim_next(
        session,
        role=principal.role,
        actor=actor_of(principal, request),
        now=now(request),
        kind=kind,
    )
    if task is None:
        return Response(status_code=204)
    return _public(task)


# ``:int`` so that /tasks/claim-next is not also a task id: otherwise a GET there
# answers 422 about task_id and its 405 lists GET among the allowed methods.
@router.get("/tasks/{task_id:int}", response_model=CareTaskPublic)
def api_task(request: Request, session: DB, principal: Worker, task_id: RecordId) -> CareTaskPublic:
    view = get_task(
        session, task_id=task_id, actor=actor_of(principal, request), labs=lab_catalogue(request)
    )
    return _public(view.task)


@router.post("/tasks/{task_id}/claim", response_model=CareTaskPublic)
def api_claim(
    request: Request, session: DB, principal: Worker, task_id: RecordId
) -> CareTaskPublic:
    """Take the task with a lease; 409 when someone else holds it."""
    return _public(
        claim_task(session, task_id=task_id, actor=actor_of(principal, request), now=now(request))
    )


@router.post("/tasks/{task_id}/take-over", response_model=CareTaskPublic)
def api_take_over(
    request: Request, session: DB, principal: Worker, task_id: RecordId, body: TakeOverIn
) -> CareTaskPublic:
    """Take a task a colleague holds, with a reason (audited; their queue shows it).

    A claim on a held task is refused (409); this is the explicit way.
    """
    return _public(
        take_over_task(
            session,
            task_id=task_id,
            actor=actor_of(principal, request),
            now=now(request),
            reason=body.reason,
        )
    )


@router.post("/tasks/{task_id}/complete", response_model=CareTaskPublic)
def api_complete(
    request: Request, session: DB, principal: Worker, task_id: RecordId, body: CompleteIn
) -> CareTaskPublic:
    """Complete a task you hold with the result it asks for; any bad field writes nothing (422)."""
    task = complete_task(
        session,
        task_id=task_id,
        values=body.result,
        actor=actor_of(principal, request),
        now=now(request),
        clinic_date=clinic_date(request),
        labs=lab_catalogue(request),
    )
    return _public(task)


@router.post("/tasks/{task_id}/cancel", response_model=CareTaskPublic)
def api_cancel(
    request: Request, session: DB, principal: Worker, task_id: RecordId, body: CloseIn
) -> CareTaskPublic:
    """Cancel (no longer applies) or skip (not done this time, on purpose), with a reason."""
    task = close_task(
        session,
        task_id=task_id,
        outcome=body.outcome,
        reason=body.reason,
        actor=actor_of(principal, request),
        now=now(request),
    )
    return _public(task)


@router.post("/tasks/{task_id}/release", response_model=CareTaskPublic)
def api_release(
    request: Request, session: DB, principal: Worker, task_id: RecordId
) -> CareTaskPublic:
    """Hand a task you hold back to its queue."""
    return _public(
        release_task(session, task_id=task_id, actor=actor_of(principal, request), now=now(request))
    )
