"""The queue page and the task actions: claim, take over, complete, skip, cancel, hand back,
reassign.

Handlers parse the request, call ``models.repositories.tasks`` and redirect
(post/redirect/get); a refused action shows the task again with the reason,
and the transaction is rolled back so nothing is half-written.
"""

from __future__ import annotations

import contextlib
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from carepath.pathway import definition_for
from carepath.scheduler import crontab
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
from flows.jobs import job
from models.repositories import task_queue
from models.repositories.comments import task_comments
from models.repositories.handovers import (
    HandoverNotFound,
    dismiss_handover,
    task_handovers,
    unseen_handovers,
)
from models.repositories.tasks import (
    UPCOMING_DAYS,
    QueueWindow,
    TaskInputError,
    claim_next,
    claim_task,
    close_task,
    complete_task,
    get_task,
    reassign_task,
    release_task,
    take_over_task,
)
from models.repositories.users import Principal, users_with_role
from models.repositories.worklist import (
    VIEW_LABELS,
    Day,
    Search,
    Sort,
    View,
    alert_groups,
    list_view,
    live_state,
    person_name,
    unsigned_assessments,
    view_counts,
)
from pathways.vocab import OptionId, Role, Severity, TaskKind

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
Worker = Annotated[Principal, allow(*CARE_TEAM)]


def queue_window(request: Request) -> QueueWindow:
    """The API's queue buckets (the task window's clinic day, pathways.core.window)."""
    return QueueWindow.at(now(request), settings(request).timezone)


def worklist_day(request: Request) -> Day:
    """Now, and today on the clinic's calendar (the queue's window, pathways.core.window)."""
    return Day.at(now(request), settings(request).timezone)


# The views of the old bucket links (``?bucket=``) still open the same list.
LEGACY_BUCKETS = {"overdue": View.OVERDUE, "today": View.TODAY, "upcoming": View.UPCOMING}
# Where the queue opens: the first of these with anything in it.
LANDING = (View.OVERDUE, View.TODAY, View.ESCALATED, View.OPEN)


def parse_search(params: Any) -> tuple[Search, dict[str, str]]:
    """Search and sort from query parameters; unknown values are reported, not guessed."""
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
    sort = Sort.DUE
    if params.get("sort"):
        try:
            sort = Sort(params["sort"])
        except ValueError:
            problems["sort"] = "unknown sort order"
    search = Search(
        kind=kind,
        regimen=regimen,
        text=(params.get("q") or "").strip() or None,
        patient_id=patient_id,
        sort=sort,
        descending=params.get("dir") == "desc",
    )
    return search, problems


def _view_of(params: Any, counts: dict[View, int]) -> View:
    name = params.get("view") or params.get("bucket")
    if name in LEGACY_BUCKETS:
        return LEGACY_BUCKETS[name]
    with contextlib.suppress(ValueError):
        return View(name)
    return next((v for v in LANDING if counts[v]), View.OVERDUE)


def next_evaluation(request: Request) -> datetime | None:
    """When the scheduled evaluation of new results next runs (flows/jobs.py)."""
    spec = job("evaluate_results")
    fire = crontab(spec, settings(request).timezone).get_next_fire_time(None, now(request))
    return fire if isinstance(fire, datetime) else None


def _page_number(params: Any) -> int:
    try:
        return max(1, int(params.get("page", "1")))
    except ValueError:
        return 1


@router.get("/queue")
def queue_page(request: Request, session: DB, principal: Worker) -> Response:
    return _queue_page(request, session, principal)


# The search and sort a view's links carry on (page links, sort headers).
KEPT_PARAMS = ("kind", "patient", "regimen", "q", "sort", "dir")


def _clinician_first(
    session: Any, principal: Principal, actor: Any, search: Search
) -> tuple[list[Any], list[Any]]:
    """What a clinician's queue shows before the tasks: alert groups, responses to sign."""
    if principal.role is not Role.CLINICIAN:
        return [], []
    return (
        alert_groups(session, actor=actor, search=search.text),
        unsigned_assessments(session, actor=actor, search=search.text),
    )


def _queue_page(
    request: Request,
    session: Any,
    principal: Principal,
    *,
    problems: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    params = request.query_params
    search, filter_problems = parse_search(params)
    day = worklist_day(request)
    actor = actor_of(principal, request)
    counts = view_counts(
        session, role=principal.role, username=principal.username, search=search, day=day
    )
    view = _view_of(params, counts)
    page = _page_number(params)
    rows = list_view(
        session,
        role=principal.role,
        username=principal.username,
        view=view,
        search=search,
        day=day,
        actor=actor,
        limit=PAGE_SIZE + 1,
        offset=(page - 1) * PAGE_SIZE,
    )
    groups, unsigned = _clinician_first(session, principal, actor, search)
    group_keys = {g.key for g in groups}
    problems = problems or {}
    keep = {k: v for k, v in params.items() if k in KEPT_PARAMS and v}
    return render(
        request,
        "queue.html",
        {
            "counts": counts,
            "view_labels": VIEW_LABELS,
            "rows": rows[:PAGE_SIZE],
            "more": len(rows) > PAGE_SIZE,
            "page": page,
            "view": view,
            "search": search,
            "filter_problems": filter_problems,
            "problems": problems,
            "general_problems": {k: v for k, v in problems.items() if k not in group_keys},
            "keep": keep,
            "kinds": list(TaskKind),
            "regimens": [o.value for o in OptionId],
            "sorts": list(Sort),
            "day": day,
            "critical": [g for g in groups if g.severity is Severity.CRITICAL],
            "other_alerts": [g for g in groups if g.severity is not Severity.CRITICAL],
            "unsigned": unsigned,
            "upcoming_days": UPCOMING_DAYS,
            "handovers": unseen_handovers(session, username=principal.username),
            "colleagues": [
                u
                for u in users_with_role(session, role=principal.role)
                if u.username != principal.username
            ],
            "version": live_state(
                session, role=principal.role, username=principal.username, day=day
            )["version"],
            "evaluation": job("evaluate_results"),
            "next_evaluation": next_evaluation(request),
            "limit": task_queue.COUNT_LIMIT,
        },
        status_code=status_code,
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
            "comments": task_comments(session, task_id=task_id),
            "owner_name": person_name(session, view.task.owner),
            "completed_name": person_name(session, view.task.completed_by),
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
