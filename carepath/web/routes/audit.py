"""The audit trail page (quality and admin): who did what to whose data, and when.

Patients are shown by name and MRN to a role that may read patient records
(quality); an admin, who may not, sees their ids only. Showing the names is
itself a read of those patients, audited with the page view (one event).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlmodel import Session

from carepath.web.deps import DB, READERS, actor_of, allow, settings
from carepath.web.templating import render
from models.audit import AuditEvent
from models.repositories.audit import Actor, list_events, record
from models.repositories.patients import identities, patient_id_of_mrn
from models.repositories.users import Principal
from pathways.clock import start_of_day
from pathways.vocab import Role

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 100
CHANNELS = ("web", "api", "cli", "flow")
NAMED_IN_A_ROW = 5  # a batch of more patients shows as a count


def _patients_shown(events: Sequence[AuditEvent]) -> set[int]:
    shown: set[int] = set()
    for e in events:
        if e.patient_id:
            shown.add(e.patient_id)
        elif e.patient_ids and len(e.patient_ids) <= NAMED_IN_A_ROW:
            shown.update(e.patient_ids)
    return shown


def _patient_filter(session: Session, value: str, problems: dict[str, str]) -> int | None:
    """The patient filter: an MRN, or the internal id (a number)."""
    value = value.strip()
    if not value:
        return None
    found = patient_id_of_mrn(session, value)
    if found is not None:
        return found
    if value.isdigit():
        return int(value)
    problems["patient"] = "no patient has this MRN (or internal id)"
    return None


def _names(
    session: Session, principal: Principal, actor: Actor, events: Sequence[AuditEvent]
) -> dict[int, tuple[str, str]]:
    if principal.role not in READERS:
        return {}
    return identities(session, patient_ids=_patients_shown(events), actor=actor)


@router.get("/audit")
def audit_page(
    request: Request, session: DB, principal: Annotated[Principal, allow(Role.QUALITY, Role.ADMIN)]
) -> Response:
    params = request.query_params
    problems: dict[str, str] = {}
    tz = settings(request).timezone
    patient_id = _patient_filter(session, params.get("patient", ""), problems)
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
    actor = actor_of(principal, request)
    record(session, actor=actor, action="read", entity="audit_event", patient_id=patient_id)
    shown = events[:PAGE_SIZE]
    return render(
        request,
        "audit.html",
        {
            "events": shown,
            "names": _names(session, principal, actor, shown),
            "named_in_a_row": NAMED_IN_A_ROW,
            "more": len(events) > PAGE_SIZE,
            "page": page,
            "problems": problems,
            "params": {k: v for k, v in params.items() if k != "page"},
            "channels": CHANNELS,
        },
    )
