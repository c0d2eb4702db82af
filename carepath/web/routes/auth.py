"""Sign in and out.

The session cookie holds a random token (its digest is the row's key): HttpOnly,
SameSite=Lax, and Secure outside development. The sign-in form, which has no
session yet, is protected by a double-submit token: a cookie and a form field
that must match. Sign-in attempts are limited per client address
(``login_rate_per_minute``) and failures lock the account
(``carepath.reauth``).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from carepath.reauth import Locked, check_password
from carepath.security import new_token, same, session_digest
from carepath.web.deps import (
    ALL_STAFF,
    DB,
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    OptionalPrincipal,
    actor_of,
    allow,
    count_client,
    lockout,
    now,
    public,
    settings,
)
from carepath.web.templating import render
from models.repositories.users import Principal, end_session, normalise_username, start_session
from pathways.vocab import Role

router = APIRouter(include_in_schema=False)

HOME = {
    Role.COORDINATOR: "/queue",
    Role.CLINICIAN: "/queue",
    Role.QUALITY: "/adherence",
    Role.ADMIN: "/audit",
}


def _secure(request: Request) -> bool:
    return settings(request).environment != "development"


def _safe_next(target: str | None) -> str | None:
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return None


def _login_page(request: Request, *, error: str | None, next_: str | None, status: int) -> Response:
    token = new_token()
    response = render(
        request,
        "login.html",
        {"error": error, "login_csrf": token, "next": _safe_next(next_) or ""},
        status_code=status,
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=_secure(request),
        path="/login",
    )
    return response


@router.get("/login", dependencies=[public()])
def login_form(request: Request, principal: OptionalPrincipal, next: str | None = None) -> Response:
    if principal is not None and principal.via == "session":
        return RedirectResponse(_safe_next(next) or HOME[principal.role], status_code=303)
    return _login_page(request, error=None, next_=next, status=200)


@router.post("/login", dependencies=[public()])
def login(
    request: Request,
    session: DB,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "",
) -> Response:
    config = settings(request)
    wait = count_client(request, session, what="login", limit=config.login_rate_per_minute)
    if wait is not None:
        response = _login_page(
            request,
            error=f"Too many sign-in attempts from this computer; try again in {wait} seconds.",
            next_=next,
            status=429,
        )
        response.headers["Retry-After"] = str(wait)
        return response
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not cookie or not csrf_token or not same(cookie, csrf_token):
        return _login_page(
            request, error="The sign-in form expired; please try again.", next_=next, status=400
        )
    name = normalise_username(username)[:120]
    if not name:
        return _login_page(request, error="Wrong username or password.", next_=next, status=401)
    try:
        user = check_password(
            session,
            username=name,
            password=password,
            now=now(request),
            lockout=lockout(request),
            purpose="sign_in",
            channel="web",
        )
    except Locked:
        # Guessing stops here: the password is not even checked until the window has passed.
        minutes = lockout(request).minutes
        return _login_page(
            request,
            error=(
                "Too many failed sign-ins or signature passwords for this account; "
                f"try again within {minutes} minutes."
            ),
            next_=next,
            status=429,
        )
    if user is None:
        return _login_page(request, error="Wrong username or password.", next_=next, status=401)
    token = new_token()
    start_session(
        session,
        user=user,
        token_digest=session_digest(token, config.secret_key),
        csrf_token=new_token(),
        now=now(request),
    )
    target = "/account/password" if user.must_change_password else None
    response = RedirectResponse(
        target or _safe_next(next) or HOME[Role(user.role)], status_code=303
    )
    response.set_cookie(
        SESSION_COOKIE, token, httponly=True, samesite="lax", secure=_secure(request), path="/"
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout")
def logout(
    request: Request, session: DB, principal: Annotated[Principal, allow(*ALL_STAFF)]
) -> Response:
    if principal.session_id is not None:
        end_session(
            session,
            session_id=principal.session_id,
            now=now(request),
            actor=actor_of(principal, request),
        )
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/")
def home(principal: Annotated[Principal, allow(*ALL_STAFF)]) -> Response:
    return RedirectResponse(HOME[principal.role], status_code=303)
