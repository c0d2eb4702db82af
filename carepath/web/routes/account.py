"""A person's own account: a new password, and the API tokens they issue for themselves.

A new token is shown once, after a redirect (post, redirect, get): the POST
hands the secret to the browser in a cookie scoped to the one page that shows
it, and that page deletes the cookie as it shows the token. Refreshing the
page, or going back, shows it no more and issues nothing.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from carepath.reauth import Locked, check_password
from carepath.security import WeakPassword, digest, hash_password, new_token
from carepath.web.deps import (
    ALL_STAFF,
    DB,
    READERS,
    FormFields,
    actor_of,
    allow,
    lockout,
    now,
    settings,
)
from carepath.web.templating import render
from models.repositories.audit import Actor
from models.repositories.tokens import (
    TokenNotFound,
    issue_api_token,
    list_tokens,
    revoke_token,
    token_by_id,
)
from models.repositories.users import Principal, UserError, change_password
from models.user import AppUser

router = APIRouter(include_in_schema=False)

Person = Annotated[Principal, allow(*ALL_STAFF)]
# Clinicians, coordinators (and quality) issue their own tokens; an admin's own account has none.
TokenHolder = Annotated[Principal, allow(*READERS)]
REVEAL_COOKIE = "carepath_reveal"


def _password_page(
    request: Request, problems: dict[str, str] | None = None, status: int = 200
) -> Response:
    return render(
        request, "account_password.html", {"problems": problems or {}}, status_code=status
    )


@router.get("/account/password")
def password_form(request: Request, principal: Person) -> Response:
    return _password_page(request)


@router.post("/account/password")
def set_password(request: Request, session: DB, principal: Person, form: FormFields) -> Response:
    """Your own new password, with the current one; your other sessions end."""
    problems: dict[str, str] = {}
    new, again = form.get("new_password", ""), form.get("new_password_again", "")
    try:
        new_hash = hash_password(new, "new_password")
    except WeakPassword as exc:
        problems[exc.field] = exc.problem
        new_hash = ""
    if new != again:
        problems["new_password_again"] = "does not match the new password"  # noqa: S105
    try:
        user = check_password(
            session,
            username=principal.username,
            password=form.get("current_password", ""),
            now=now(request),
            lockout=lockout(request),
            purpose="password_change",
            channel="web",
            credential=principal.credential,
        )
    except Locked as exc:
        problems = {"current_password": str(exc), **problems}
        user = None
    else:
        if user is None:
            problems = {"current_password": "that is not your current password", **problems}
    if user is not None and new and new == form.get("current_password"):
        problems["new_password"] = "must differ from the current password"  # noqa: S105
    if problems or user is None:
        return _password_page(request, problems, status=422)
    change_password(
        session,
        user_id=principal.user_id,
        password_hash=new_hash,
        actor=actor_of(principal, request),
        now=now(request),
        keep_session=principal.session_id,
    )
    return RedirectResponse("/account/tokens?done=password", status_code=303)


def issue_and_reveal(
    request: Request,
    session: Session,
    *,
    user: AppUser,
    name: str,
    days: int,
    actor: Actor,
    page: str,
) -> Response:
    """Issue a token, and redirect to the page that shows it once (``page``/issued/<id>)."""
    raw = new_token()
    row = issue_api_token(
        session,
        user=user,
        name=name,
        token_digest=digest(raw),
        actor=actor,
        expires_at=now(request) + timedelta(days=days),
    )
    target = f"{page}/issued/{row.id}"
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        REVEAL_COOKIE,
        raw,
        httponly=True,
        samesite="strict",
        secure=settings(request).environment != "development",
        path=target,
    )
    return response


def reveal_page(
    request: Request, session: Session, *, token_id: int, user_id: int | None, back: str
) -> Response:
    """The new token, once: only with the cookie its POST set, which this answer deletes."""
    token = token_by_id(session, token_id=token_id, user_id=user_id)
    raw = request.cookies.get(REVEAL_COOKIE)
    shown = raw if raw is not None and digest(raw) == token.token_hash else None
    response = render(request, "token_issued.html", {"token": token, "secret": shown, "back": back})
    response.delete_cookie(REVEAL_COOKIE, path=request.url.path)
    return response


def token_days(form: dict[str, str], request: Request) -> int:
    most = settings(request).api_token_days
    text = form.get("days", "").strip()
    if not text:
        return most
    try:
        days = int(text)
    except ValueError:
        raise UserError("days", "must be a whole number of days") from None
    if not 1 <= days <= most:
        raise UserError("days", f"between 1 and {most}")
    return days


def _tokens_page(
    request: Request,
    session: Session,
    principal: Principal,
    problems: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    return render(
        request,
        "account_tokens.html",
        {
            "tokens": list_tokens(session, user_id=principal.user_id),
            "problems": problems or {},
            "now": now(request),
            "max_days": settings(request).api_token_days,
        },
        status_code=status,
    )


@router.get("/account/tokens")
def tokens_page(request: Request, session: DB, principal: Person) -> Response:
    return _tokens_page(request, session, principal)


@router.post("/account/tokens")
def add_token(request: Request, session: DB, principal: TokenHolder, form: FormFields) -> Response:
    user = session.get(AppUser, principal.user_id)
    if user is None:  # signed in a moment ago: the account cannot have gone
        raise TokenNotFound(0)
    try:
        return issue_and_reveal(
            request,
            session,
            user=user,
            name=form.get("name", ""),
            days=token_days(form, request),
            actor=actor_of(principal, request),
            page="/account/tokens",
        )
    except UserError as exc:
        session.rollback()
        return _tokens_page(request, session, principal, {exc.field: exc.problem}, status=422)


@router.get("/account/tokens/issued/{token_id}")
def issued(request: Request, session: DB, principal: TokenHolder, token_id: int) -> Response:
    return reveal_page(
        request, session, token_id=token_id, user_id=principal.user_id, back="/account/tokens"
    )


@router.post("/account/tokens/{token_id}/revoke")
def revoke(request: Request, session: DB, principal: Person, token_id: int) -> Response:
    try:
        revoke_token(
            session,
            token_id=token_id,
            actor=actor_of(principal, request),
            now=now(request),
            user_id=principal.user_id,
        )
    except TokenNotFound as exc:
        return _tokens_page(request, session, principal, {"token": str(exc)}, status=404)
    return RedirectResponse("/account/tokens?done=revoked", status_code=303)
