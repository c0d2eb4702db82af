"""The audit trail page (quality and admin): who did what to whose data, and when."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import Response

from carepath.web.deps import DB, actor_of, allow, settings
from carepath.web.templating import render
from models.repositories.audit import list_events, record
from models.repositories.users import Principal
from pathways.clock import start_of_day
from pathways.vocab import Role

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 100
CHANNELS = ("web", "api", "cli", "flow")


@router.get("/audit")
def audit_page(
    request: Request, session: DB, principal: Annotated[Principal, allow(Role.QUALITY, Role.ADMIN)]
) -> Response:
    params = request.query_params
    problems: dict[str, str] = {}
    tz = settings(request).timezone
    patient_id = None
    if params.get("patient"):
        try:
            patient_id = int(params["patient"])
        except ValueError:
            problems["patient"] = "must be a patient id (a number)"
    bounds: dict[str, datetime | None] = {"since": None, "until": None}
    for name in bounds:
        if params.get(name):
            try:
                day = date.fromisoformat(params[name])
                if name == "until":
                    day += timedelta(days=1)
                bounds[name] = start_of_day(day, tz)
            except ValueError:
                problems[name] = "must be a date, YYYY-MM-DD"
    channel = params.get("channel") or None
    if channel and channel not in CHANNELS:
        problems["channel"] = f"one of {', '.join(CHANNELS)}"
        channel = None
    try:
        page = max(1, int(params.get("page", "1")))
    except ValueError:
        page = 1
    events = list_events(
        session,
        actor=(params.get("actor") or "").strip() or None,
        patient_id=patient_id,
        action=(params.get("action") or "").strip() or None,
        channel=channel,
        since=bounds["since"],
        until=bounds["until"],
        limit=PAGE_SIZE + 1,
        offset=(page - 1) * PAGE_SIZE,
    )
    record(
        session,
        actor=actor_of(principal, request),
        action="read",
        entity="audit_event",
        patient_id=patient_id,
    )
    return render(
        request,
        "audit.html",
        {
            "events": events[:PAGE_SIZE],
            "more": len(events) > PAGE_SIZE,
            "page": page,
            "problems": problems,
            "params": {k: v for k, v in params.items() if k != "page"},
            "channels": CHANNELS,
        },
    )
