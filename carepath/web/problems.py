"""Refusals as responses: RFC 9457 problem documents for the API, pages for people.

The exception tree of the repositories and the engine maps to a status here,
in one table; every problem names the field at fault when there is one
(``field``, and ``errors`` listing each bad field). Messages carry ids and
field names, never patient data.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from carepath.intake import IntakeError
from carepath.security import WeakPassword
from carepath.web.deps import (
    SESSION_COOKIE,
    AccessDenied,
    NotAuthenticated,
    PasswordChangeRequired,
    is_api,
)
from carepath.web.templating import render
from models.repositories.alerts import AlertError, AlertNotFound
from models.repositories.patients import DuplicateMrn, PatientNotFound
from models.repositories.responses import ResponseError, ResponseNotFound
from models.repositories.tasks import TaskError, TaskInputError
from models.repositories.tokens import TokenNotFound
from models.repositories.users import UserError, UserNotFound
from pathways.core.field_errors import field_errors
from pathways.errors import (
    CaseFormatError,
    ContradictoryFacts,
    PathwayError,
    TransitionNotAllowed,
    UnknownEvent,
)

PROBLEM_JSON = "application/problem+json"


class InvalidInput(Exception):
    """Bad input found by a handler; ``problems`` maps each field to what is wrong."""

    def __init__(self, problems: dict[str, str]) -> None:
        self.problems = problems
        self.field = next(iter(problems))
        super().__init__(f"{self.field}: {problems[self.field]}")


def problem(
    status: int,
    title: str,
    detail: str | None = None,
    *,
    slug: str,
    instance: str | None = None,
    errors: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"/api/v1/problems/{slug}",
        "title": title,
        "status": status,
    }
    if detail:
        body["detail"] = detail
    if instance:
        body["instance"] = instance
    if errors:
        body["field"] = next(iter(errors))
        body["errors"] = [{"field": f, "message": m} for f, m in errors.items()]
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def listing(errors: dict[str, str]) -> str:
    return "; ".join(f"{field}: {message}" for field, message in errors.items())


def refusal_response(
    request: Request,
    status: int,
    title: str,
    detail: str | None = None,
    *,
    slug: str,
    errors: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """A problem document for the API, a page for a person; ``errors`` lists every bad field."""
    detail = detail or (listing(errors) if errors else None)
    if is_api(request):
        return problem(
            status,
            title,
            detail,
            slug=slug,
            instance=request.url.path,
            errors=errors,
            headers=headers,
        )
    return _page(request, status, title, detail or "", errors)


REFUSALS = {
    403: ("forbidden", "Forbidden"),
    404: ("not-found", "Not found"),
    409: ("conflict", "Conflict"),
}


def classify(exc: Exception) -> tuple[int, str, str, dict[str, str] | None]:
    """status, slug, title and the field problems of a refusal."""
    if isinstance(exc, InvalidInput | TaskInputError):
        return 422, "invalid-input", "The input is not valid", exc.problems
    if isinstance(
        exc, PatientNotFound | AlertNotFound | ResponseNotFound | UserNotFound | TokenNotFound
    ):
        return 404, "not-found", "Not found", None
    if isinstance(exc, TaskError):
        slug, title = REFUSALS.get(exc.status, ("refused", "Refused"))
        return exc.status, slug, title, None
    if isinstance(exc, DuplicateMrn):
        return 409, "duplicate", "Duplicate", dict(exc.problems)
    if isinstance(exc, AlertError | ResponseError):
        if exc.status == 422:
            return 422, "invalid-input", "The input is not valid", {exc.field: exc.problem}
        slug, title = REFUSALS.get(exc.status, ("refused", "Refused"))
        return exc.status, slug, title, None
    if isinstance(exc, CaseFormatError):  # an IntakeError too
        return 422, "invalid-input", "The input is not valid", dict(exc.problems)
    if isinstance(exc, UserError | WeakPassword):
        field = getattr(exc, "field", "input")
        text = str(exc).split(": ", 1)[-1]
        return 422, "invalid-input", "The input is not valid", {field: text}
    if isinstance(exc, ContradictoryFacts):
        # Every contradiction at once: each field involved, with what does not fit.
        return 422, "contradictory-facts", "The facts contradict each other", exc.problems
    if isinstance(exc, TransitionNotAllowed):
        return 409, "transition-not-allowed", "Transition not allowed", None
    if isinstance(exc, UnknownEvent):
        return 422, "invalid-input", "Unknown event", {"event": str(exc)}
    if isinstance(exc, PathwayError):
        field = getattr(exc, "field", None)
        if field:
            return (
                422,
                "invalid-input",
                "The input is not valid",
                {field: str(exc).split(": ", 1)[-1]},
            )
        return 409, "refused", "Refused", None
    raise exc


HANDLED: tuple[type[Exception], ...] = (
    InvalidInput,
    PatientNotFound,
    AlertNotFound,
    ResponseNotFound,
    UserNotFound,
    TokenNotFound,
    TaskError,
    DuplicateMrn,
    AlertError,
    ResponseError,
    UserError,
    WeakPassword,
    IntakeError,
    PathwayError,
)


def _page(
    request: Request, status: int, title: str, detail: str, errors: dict[str, str] | None = None
) -> Response:
    return render(
        request,
        "error.html",
        {"title": title, "detail": "" if errors else detail, "errors": errors or {}},
        status_code=status,
    )


def install(app: FastAPI) -> None:
    async def refused(request: Request, exc: Exception) -> Response:
        status, slug, title, errors = classify(exc)
        return refusal_response(request, status, title, str(exc), slug=slug, errors=errors)

    for kind in HANDLED:
        app.add_exception_handler(kind, refused)

    async def not_authenticated(request: Request, exc: Exception) -> Response:
        if is_api(request):
            return problem(
                401,
                "Authentication required",
                "send 'Authorization: Bearer <token>' or sign in",
                slug="unauthenticated",
                instance=request.url.path,
                headers={"WWW-Authenticate": "Bearer"},
            )
        target = request.url.path if request.method == "GET" else "/"
        # A cookie that opens nothing is a session that ended (idle, or signed out elsewhere).
        ended = "&idle=1" if request.cookies.get(SESSION_COOKIE) else ""
        return RedirectResponse(f"/login?next={quote(target, safe='/')}{ended}", status_code=303)

    async def denied(request: Request, exc: Exception) -> Response:
        if is_api(request):
            return problem(403, "Forbidden", str(exc), slug="forbidden", instance=request.url.path)
        return _page(request, 403, "Not allowed", str(exc))

    async def invalid_request(request: Request, exc: Exception) -> Response:
        if not isinstance(exc, RequestValidationError):
            raise exc
        errors = field_errors(exc.errors(), whole="body")
        return refusal_response(
            request, 422, "The input is not valid", slug="invalid-input", errors=errors
        )

    async def http_error(request: Request, exc: Exception) -> Response:
        if not isinstance(exc, StarletteHTTPException):
            raise exc
        if is_api(request):
            return problem(
                exc.status_code,
                str(exc.detail),
                slug="http-" + str(exc.status_code),
                instance=request.url.path,
                headers=getattr(exc, "headers", None),
            )
        return _page(request, exc.status_code, str(exc.detail), "")

    async def password_change(request: Request, exc: Exception) -> Response:
        if is_api(request):
            return problem(
                403,
                "Forbidden",
                "set a new password first",
                slug="forbidden",
                instance=request.url.path,
            )
        return RedirectResponse("/account/password", status_code=303)

    app.add_exception_handler(PasswordChangeRequired, password_change)
    app.add_exception_handler(NotAuthenticated, not_authenticated)
    app.add_exception_handler(AccessDenied, denied)
    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_exception_handler(StarletteHTTPException, http_error)
