"""The queue page and the task actions: claim, take over, complete, skip, cancel, hand back,
reassign.

Handlers parse the request, call ``models.repositories.tasks`` and redirect
(post/redirect/get); a refused action shows the task again with the reason,
and the transaction is rolled back so nothing is half-written.
"""

from __future__ import annotations

import contextlib
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from carepath.pathway import definition_for
from carepath.web.deps import (
    CARE_TEAM,
    DB,
    FormFields,
    actor_of,
    allow,
    clinic_date,
    lab_catalogue,
    now,
    settings,
)
from carepath.web.task_alerts import alert_lines
from carepath.web.templating import render
from models.repositories.alerts import open_alerts
from models.repositories.handovers import (
    HandoverNotFound,
    dismiss_handover,
    task_handovers,
    unseen_handovers,
)
from models.repositories.tasks import (
    UPCOMING_DAYS,
    Bucket,
    QueueFilters,
    QueueWindow,
    TaskInputError,
    claim_next,
    claim_task,
    close_task,
    complete_task,
    get_task,
    list_queue,
    queue_counts,
    reassign_task,
    release_task,
    take_over_task,
)
from models.repositories.users import Principal, users_with_role
from pathways.vocab import OptionId, Role, TaskKind

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
Worker = Annotated[Principal, allow(*CARE_TEAM)]


def queue_window(request: Request) -> QueueWindow:
    return QueueWindow.at(now(request), settings(request).timezone)


def parse_filters(params: Any) -> tuple[QueueFilters, dict[str, str]]:
    """Queue filters from query parameters; unknown values are reported, not guessed."""
    problems: dict[str, str] = {}
    kind = None
    if params.get("kind"):
        try:
            kind = TaskKind(params["kind"])
        except ValueError:
            problems["kind"] = "unknown task kind"
    patient_id = None
    if params.get("patient"):
        try:
            patient_id = int(params["patient"])
        except ValueError:
            problems["patient"] = "must be a patient id (a number)"
    regimen = params.get("regimen") or None
    if regimen and regimen not in {o.value for o in OptionId}:
        problems["regimen"] = "unknown regimen"
        regimen = None
    mine = params.get("bucket") == "mine"
    return QueueFilters(kind=kind, patient_id=patient_id, regimen=regimen, mine_only=mine), problems


@router.get("/queue")
def queue_page(request: Request, session: DB, principal: Worker) -> Response:
    filters, problems = parse_filters(request.query_params)
    bucket_name = request.query_params.get("bucket") or "overdue"
    if bucket_name not in ("overdue", "today", "upcoming", "mine"):
        bucket_name = "overdue"
    try:
        page = max(1, int(request.query_params.get("page", "1")))
    except ValueError:
        page = 1
    window = queue_window(request)
    actor = actor_of(principal, request)
    counts = queue_counts(
        session,
        role=principal.role,
        username=principal.username,
        filters=QueueFilters(
            kind=filters.kind, patient_id=filters.patient_id, regimen=filters.regimen
        ),
        window=window,
    )
    rows = list_queue(
        session,
        role=principal.role,
        username=principal.username,
        bucket=None if bucket_name == "mine" else Bucket(bucket_name),
        filters=filters,
        window=window,
        actor=actor,
        limit=PAGE_SIZE + 1,
        offset=(page - 1) * PAGE_SIZE,
    )
    alerts: list[Any] = []
    alert_total = 0
    if principal.role is Role.CLINICIAN:
        alerts, alert_total = open_alerts(session, actor=actor)
    keep = {
        k: v for k, v in request.query_params.items() if k in ("kind", "patient", "regimen") and v
    }
    return render(
        request,
        "queue.html",
        {
            "counts": counts,
            "rows": rows[:PAGE_SIZE],
            "more": len(rows) > PAGE_SIZE,
            "page": page,
            "bucket": bucket_name,
            "filters": filters,
            "filter_problems": problems,
            "keep": keep,
            "kinds": list(TaskKind),
            "regimens": [o.value for o in OptionId],
            "qwin": window,
            "alerts": alerts,
            "alert_total": alert_total,
            "upcoming_days": UPCOMING_DAYS,
            "handovers": unseen_handovers(session, username=principal.username),
        },
    )


@router.post("/queue/claim-next")
def claim_next_task(request: Request, session: DB, principal: Worker) -> Response:
    task = claim_next(
        session, role=principal.role, actor=actor_of(principal, request), now=now(request)
    )
    if task is None:
        return RedirectResponse("/queue?done=none", status_code=303)
    return RedirectResponse(f"/tasks/{task.id}?done=claimed", status_code=303)


def _task_page(
    request: Request,
    session: Any,
    principal: Principal,
    task_id: int,
    *,
    problems: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    view = get_task(
        session,
        task_id=task_id,
        actor=actor_of(principal, request),
        labs=lab_catalogue(request),
    )
    colleagues = [
        u
        for u in users_with_role(session, role=view.task.role_queue)
        if u.username != view.task.owner
    ]
    return render(
        request,
        "task.html",
        {
            "view": view,
            "t": view.task,
            "problems": problems or {},
            "values": values or {},
            "colleagues": colleagues,
            "handovers": task_handovers(session, task_id=task_id),
            # The alerts the task decides on, explained (work-a: carepath/web/task_alerts.py).
            "alert_lines": alert_lines(session, view.task, definition_for(settings(request))),
            "now": now(request),
            "today": clinic_date(request),
        },
        status_code=status_code,
    )


@router.get("/tasks/{task_id}")
def task_page(request: Request, session: DB, principal: Worker, task_id: int) -> Response:
    return _task_page(request, session, principal, task_id)


@router.post("/tasks/{task_id}/claim")
def claim(request: Request, session: DB, principal: Worker, task_id: int) -> Response:
    claim_task(session, task_id=task_id, actor=actor_of(principal, request), now=now(request))
    return RedirectResponse(f"/tasks/{task_id}?done=claimed", status_code=303)


@router.post("/tasks/{task_id}/take-over")
def take_over(
    request: Request, session: DB, principal: Worker, task_id: int, form: FormFields
) -> Response:
    """Take a task a colleague holds: a reason is required, and they are told."""
    try:
        take_over_task(
            session,
            task_id=task_id,
            actor=actor_of(principal, request),
            now=now(request),
            reason=form.get("reason"),
        )
    except TaskInputError as exc:
        session.rollback()
        return _task_page(
            request,
            session,
            principal,
            task_id,
            problems={"take_over_reason": exc.problems.get("reason", str(exc))},
            status_code=422,
        )
    return RedirectResponse(f"/tasks/{task_id}?done=taken_over", status_code=303)


@router.post("/handovers/{handover_id}/seen")
def handover_seen(request: Request, session: DB, principal: Worker, handover_id: int) -> Response:
    with contextlib.suppress(HandoverNotFound):  # someone else's, or gone: nothing to dismiss
        dismiss_handover(
            session, handover_id=handover_id, username=principal.username, now=now(request)
        )
    return RedirectResponse("/queue", status_code=303)


@router.post("/tasks/{task_id}/complete")
def complete(
    request: Request, session: DB, principal: Worker, task_id: int, values: FormFields
) -> Response:
    try:
        complete_task(
            session,
            task_id=task_id,
            values=values,
            actor=actor_of(principal, request),
            now=now(request),
            clinic_date=clinic_date(request),
            labs=lab_catalogue(request),
        )
    except TaskInputError as exc:
        session.rollback()
        return _task_page(
            request,
            session,
            principal,
            task_id,
            problems=exc.problems,
            values=values,
            status_code=422,
        )
    return RedirectResponse("/queue?done=completed", status_code=303)


def _close(
    request: Request,
    session: Any,
    principal: Principal,
    task_id: int,
    outcome: str,
    form: dict[str, str],
) -> Response:
    reason = form.get("reason")
    try:
        close_task(
            session,
            task_id=task_id,
            outcome=outcome,
            reason=reason,
            actor=actor_of(principal, request),
            now=now(request),
        )
    except TaskInputError as exc:
        session.rollback()
        return _task_page(
            request,
            session,
            principal,
            task_id,
            problems={f"{outcome}_reason": exc.problems.get("reason", str(exc))},
            status_code=422,
        )
    return RedirectResponse(f"/queue?done={outcome}", status_code=303)


@router.post("/tasks/{task_id}/skip")
def skip(
    request: Request, session: DB, principal: Worker, task_id: int, form: FormFields
) -> Response:
    return _close(request, session, principal, task_id, "skipped", form)


@router.post("/tasks/{task_id}/cancel")
def cancel(
    request: Request, session: DB, principal: Worker, task_id: int, form: FormFields
) -> Response:
    return _close(request, session, principal, task_id, "cancelled", form)


@router.post("/tasks/{task_id}/release")
def release(request: Request, session: DB, principal: Worker, task_id: int) -> Response:
    release_task(session, task_id=task_id, actor=actor_of(principal, request), now=now(request))
    return RedirectResponse("/queue?done=released", status_code=303)


@router.post("/tasks/{task_id}/reassign")
def reassign(
    request: Request, session: DB, principal: Worker, task_id: int, form: FormFields
) -> Response:
    target = form.get("to", "")
    try:
        reassign_task(
            session,
            task_id=task_id,
            to_username=target,
            actor=actor_of(principal, request),
            now=now(request),
        )
    except TaskInputError as exc:
        session.rollback()
        return _task_page(
            request, session, principal, task_id, problems=exc.problems, status_code=422
        )
    return RedirectResponse("/queue?done=reassigned", status_code=303)
