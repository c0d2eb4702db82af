"""Jinja2 pages: one environment, autoescaped, with the helpers every page uses."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from carepath.web import format as formats
from carepath.web.deps import now
from carepath.web.wording import rule_source, status_words, task_window
from models.repositories.data_problems import DATA_PROBLEM_RULE
from pathways.clock import zone
from pathways.core.labs import fmt
from pathways.core.window import OPEN_STATUSES, TaskWindow

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))

# Fixed notices shown after a redirect (?done=...): the URL carries a key, never patient data.
NOTICES = {
    "claimed": "Task claimed.",
    "completed": "Task completed.",
    "skipped": "Task skipped; the reason is kept.",
    "cancelled": "Task cancelled; the reason is kept.",
    "released": "Task handed back to the queue.",
    "reassigned": "Task reassigned.",
    "none": "Nothing to claim in your queue right now.",
    "signed": "Response category signed.",
    "signed_moved": "Response category signed and the phase transition confirmed.",
    "amended": "Response category amended; the original stays on record.",
    "transition": "Phase transition confirmed.",
    "acknowledged": "Alert acknowledged.",
    "saved": "Saved.",
    "created": "Patient added.",
    "recorded": "Recorded.",
    "user": "User created.",
    "deactivated": "Account deactivated: its sessions ended and its tokens stopped working.",
    "reactivated": "Account reactivated.",
    "role": "Role changed.",
    "reset": "Password reset: the person must choose a new one when they next sign in.",
    "revoked": "API token revoked.",
    "password": "Password changed; your other sessions ended.",
    "taken_over": "Task taken over; the colleague who held it is told.",
    "bulk_claim": "Tasks claimed.",
    "bulk_release": "Tasks handed back to the queue.",
    "bulk_reassign": "Tasks reassigned.",
    "commented": "Comment added; it is kept with the task.",
    "acknowledged_group": "Alerts acknowledged; the reason is kept with each.",
}


def _local(value: datetime | None, tz: str, fmt: str = "%Y-%m-%d %H:%M") -> str:
    if value is None:
        return "–"
    return value.astimezone(zone(tz)).strftime(fmt)


def _yn(value: object) -> str:
    if value is None:
        return "unknown"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(getattr(value, "value", value))


def _d(value: date | None) -> str:
    return "–" if value is None else value.isoformat()


TEMPLATES.env.filters["yn"] = _yn
TEMPLATES.env.filters["d"] = _d
# Numbers as people write them (3,000,000; never 3e+06).
TEMPLATES.env.filters["num"] = fmt
formats.install(TEMPLATES.env)  # pct, count, mrd, known, number (carepath/web/format.py)
# A data-problem task is the tracker's own, not a clinical rule: pages must not cite RULES.md for it.
TEMPLATES.env.globals["DATA_PROBLEM_RULE"] = DATA_PROBLEM_RULE
TEMPLATES.env.globals["OPEN_STATUSES"] = OPEN_STATUSES


def window_state(task: Any, now: datetime) -> str:
    """A task's window at ``now`` (pathways.core.window): upcoming, open, overdue or missed."""
    return TaskWindow(task.not_before, task.due, task.expires).state_at(now).value


TEMPLATES.env.globals["window_state"] = window_state
# One sentence for a task's window, statuses and rule sources in plain words (wording.py).
TEMPLATES.env.globals["window_words"] = task_window
TEMPLATES.env.globals["rule_source"] = rule_source
TEMPLATES.env.filters["status_words"] = status_words


def render(
    request: Request, name: str, context: dict[str, Any], *, status_code: int = 200
) -> HTMLResponse:
    settings = request.app.state.settings
    principal = getattr(request.state, "principal", None)
    done = request.query_params.get("done")
    base = {
        "principal": principal,
        "csrf": getattr(principal, "csrf_token", None) or "",
        "tz": settings.timezone,
        "local": lambda value, fmt="%Y-%m-%d %H:%M": _local(value, settings.timezone, fmt),
        "notice": NOTICES.get(done or ""),
        "path": request.url.path,
        # The app's clock (the demo's and the tests' too), in the clinic's zone, with its abbreviation.
        "printed_at": _local(now(request), settings.timezone, "%Y-%m-%d %H:%M %Z"),
    }
    return TEMPLATES.TemplateResponse(request, name, base | context, status_code=status_code)
