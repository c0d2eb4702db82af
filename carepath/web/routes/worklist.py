"""Working the worklist: bulk claim, release and reassign; comments; the week; alert groups;
the live count; a rule's text.

A bulk action is one transaction: when any task of it is refused (a colleague
holds it: taking it over is its own action, with a reason), nothing is changed
and the page says, per task, why. ``/queue/live.json`` is polled by the pages
(``static/live.js``) with ``If-None-Match``: it answers 304 while nothing
changed, carries no patient data, and does not keep an idle session alive
(``deps.BACKGROUND_PATHS``).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlmodel import Session

from carepath.web.deps import (
    ALL_STAFF,
    CARE_TEAM,
    DB,
    FormFields,
    actor_of,
    allow,
    clinic_date,
    now,
    settings,
)
from carepath.web.routes.queue import _queue_page, _task_page, parse_search, worklist_day
from carepath.web.templating import render
from carepath.web.wording import rule_source, rules_catalogue
from models.repositories.alerts import AlertError, AlertNotFound
from models.repositories.comments import CommentError, add_comment
from models.repositories.tasks import TaskError, claim_task, reassign_task, release_task
from models.repositories.users import Principal
from models.repositories.worklist import acknowledge_group, live_state, week_of, week_tasks
from pathways.vocab import Role

router = APIRouter(include_in_schema=False)

Worker = Annotated[Principal, allow(*CARE_TEAM)]
Clinician = Annotated[Principal, allow(Role.CLINICIAN)]
BULK_ACTIONS = ("claim", "release", "reassign")
BULK_MAX = 100


async def _task_ids(request: Request) -> list[int]:
    form = await request.form()
    ids: list[int] = []
    for value in form.getlist("task"):
        if isinstance(value, str) and value.isdigit():
            ids.append(int(value))
    return list(dict.fromkeys(ids))


@router.post("/queue/bulk")
async def bulk(request: Request, session: DB, principal: Worker, form: FormFields) -> Response:
    ids = await _task_ids(request)
    action = form.get("action", "")
    problems: dict[str, str] = {}
    if action not in BULK_ACTIONS:
        problems["action"] = "choose claim, release or reassign"
    if not ids:
        problems["task"] = "tick at least one task"
    elif len(ids) > BULK_MAX:
        problems["task"] = f"at most {BULK_MAX} tasks at once"
    if action == "reassign" and not form.get("to"):
        problems["to"] = "choose the colleague to give the tasks to"
    if not problems:
        problems = _apply(session, principal, request, action, ids, form.get("to", ""))
    if problems:
        session.rollback()
        return _queue_page(request, session, principal, problems=problems, status_code=409)
    return RedirectResponse(f"/queue?done=bulk_{action}", status_code=303)


def _apply(
    session: Session, principal: Principal, request: Request, action: str, ids: list[int], to: str
) -> dict[str, str]:
    """Do ``action`` on every task; the refusals, per task (``task 12``: why)."""
    actor, instant = actor_of(principal, request), now(request)
    refused: dict[str, str] = {}
    for task_id in ids:
        try:
            if action == "claim":
                claim_task(session, task_id=task_id, actor=actor, now=instant)
            elif action == "release":
                release_task(session, task_id=task_id, actor=actor, now=instant)
            else:
                reassign_task(session, task_id=task_id, to_username=to, actor=actor, now=instant)
        except TaskError as exc:
            refused[f"task {task_id}"] = str(exc)
    return refused


@router.post("/tasks/{task_id}/comments")
def comment(
    request: Request, session: DB, principal: Worker, task_id: int, form: FormFields
) -> Response:
    try:
        add_comment(
            session,
            task_id=task_id,
            body=form.get("body"),
            actor=actor_of(principal, request),
            now=now(request),
        )
    except CommentError as exc:
        session.rollback()
        if exc.status != 422:
            raise HTTPException(exc.status, exc.problem) from exc
        return _task_page(
            request,
            session,
            principal,
            task_id,
            problems={"comment": exc.problem},
            values={"comment": form.get("body", "")},
            status_code=422,
        )
    return RedirectResponse(f"/tasks/{task_id}?done=commented#comments", status_code=303)


@router.get("/queue/week")
def week(request: Request, session: DB, principal: Worker) -> Response:
    search, problems = parse_search(request.query_params)
    today = clinic_date(request)
    try:
        start = date.fromisoformat(request.query_params.get("from", ""))
    except ValueError:
        start = today
    monday = week_of(start)
    days = week_tasks(
        session,
        role=principal.role,
        username=principal.username,
        monday=monday,
        search=search,
        actor=actor_of(principal, request),
    )
    return render(
        request,
        "queue_week.html",
        {
            "days": days,
            "today": today,
            "monday": monday,
            "previous": monday - timedelta(days=7),
            "next": monday + timedelta(days=7),
            "search": search,
            "filter_problems": problems,
            "day": worklist_day(request),
        },
    )


@router.post("/queue/alerts/acknowledge")
def acknowledge(request: Request, session: DB, principal: Clinician, form: FormFields) -> Response:
    """Acknowledge a group of alerts (one patient, one rule) from the queue, with a reason."""
    key = f"{form.get('patient_id', '')}-{form.get('rule_id', '')}"
    try:
        patient_id = int(form.get("patient_id", ""))
        done = acknowledge_group(
            session,
            patient_id=patient_id,
            rule_id=form.get("rule_id", ""),
            reason=form.get("reason"),
            actor=actor_of(principal, request),
            now=now(request),
        )
    except ValueError as exc:
        session.rollback()
        problem = exc.problem if isinstance(exc, AlertError) else "no such alert group"
        return _queue_page(request, session, principal, problems={key: problem}, status_code=422)
    except AlertNotFound:
        session.rollback()
        return _queue_page(
            request, session, principal, problems={key: "no such alert"}, status_code=422
        )
    if not done:
        return _queue_page(
            request,
            session,
            principal,
            problems={key: "nothing left to acknowledge: a colleague already did"},
            status_code=409,
        )
    return RedirectResponse("/queue?done=acknowledged_group", status_code=303)


@router.get("/queue/live.json")
def live(request: Request, session: DB, principal: Worker) -> Response:
    state = live_state(
        session, role=principal.role, username=principal.username, day=worklist_day(request)
    )
    etag = f'"{state["version"]}"'
    headers = {"ETag": etag, "Cache-Control": "no-cache, private"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    body: dict[str, Any] = state | {"poll_seconds": settings(request).live_poll_seconds}
    return JSONResponse(body, headers=headers)


@router.get("/rules/{rule_id}")
def rule_page(
    request: Request, principal: Annotated[Principal, allow(*ALL_STAFF)], rule_id: str
) -> Response:
    info = rules_catalogue().get(rule_id)
    if info is None:
        raise HTTPException(404, f"no rule {rule_id} in RULES.md")
    return render(request, "rule.html", {"rule": info, "source": rule_source(rule_id)})
