"""Users and API tokens (admin): add a person or a service account, deactivate and
reactivate, reset a password, change a role; issue, list and revoke tokens.

An admin issues tokens only for service accounts (people issue their own, on
their account page), so no admin can act as a clinician. Every change is an
audit event naming the admin and their session.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from carepath.security import WeakPassword, hash_password
from carepath.web.deps import DB, FormFields, actor_of, allow, now
from carepath.web.routes.account import issue_and_reveal, reveal_page, token_days
from carepath.web.templating import render
from models.repositories.audit import Actor
from models.repositories.tokens import TokenNotFound, list_tokens, revoke_token
from models.repositories.users import (
    SERVICE_ROLES,
    Principal,
    UserError,
    UserNotFound,
    create_user,
    list_users,
    reset_password,
    set_active,
    set_role,
    user_by_name,
)
from models.user import AccountKind
from pathways.vocab import Role

router = APIRouter(include_in_schema=False)

Admin = Annotated[Principal, allow(Role.ADMIN)]


def _page(
    request: Request, session: Session, *, status_code: int = 200, **context: object
) -> Response:
    users = list_users(session)
    base: dict[str, object] = {
        "users": users,
        "services": [u for u in users if u.kind == AccountKind.SERVICE and u.active],
        "tokens": list_tokens(session),
        "roles": list(Role),
        "service_roles": list(SERVICE_ROLES),
        "problems": {},
        "values": {},
        "now": now(request),
    }
    return render(request, "admin_users.html", base | context, status_code=status_code)


def _refused(
    request: Request,
    session: Session,
    problems: dict[str, str],
    values: dict[str, str] | None = None,
    status: int = 422,
) -> Response:
    session.rollback()
    kept = {k: v for k, v in (values or {}).items() if "password" not in k}  # never echoed back
    return _page(request, session, problems=problems, values=kept, status_code=status)


@router.get("/admin/users")
def users_page(request: Request, session: DB, principal: Admin) -> Response:
    return _page(request, session)


@router.post("/admin/users")
def add_user(request: Request, session: DB, principal: Admin, form: FormFields) -> Response:
    kind = form.get("kind", AccountKind.PERSON.value)
    try:
        if kind not in (AccountKind.PERSON.value, AccountKind.SERVICE.value):
            raise UserError("kind", "a person or a service account")
        person = kind == AccountKind.PERSON.value
        if not person and form.get("password"):
            raise UserError("password", "a service account has no password (it never signs in)")
        create_user(
            session,
            username=form.get("username", ""),
            display_name=form.get("display_name", ""),
            role=form.get("role", ""),
            kind=kind,
            password_hash=hash_password(form.get("password", "")) if person else None,
            actor=actor_of(principal, request),
        )
    except (UserError, WeakPassword) as exc:
        return _refused(request, session, {exc.field: exc.problem}, form)
    return RedirectResponse("/admin/users?done=user", status_code=303)


def _change(
    request: Request,
    session: Session,
    principal: Principal,
    username: str,
    done: str,
    change: Callable[..., object],
    **arguments: object,
) -> Response:
    """Run one change of an account by this admin (``change(session, username=, actor=, now=,
    **arguments)``); a refusal shows the page with its reason under the user."""
    try:
        change(
            session,
            username=username,
            actor=actor_of(principal, request),
            now=now(request),
            **arguments,
        )
    except (UserError, WeakPassword) as exc:
        return _refused(request, session, {f"{username}.{exc.field}": exc.problem})
    except UserNotFound as exc:
        return _refused(request, session, {"username": str(exc)}, status=404)
    return RedirectResponse(f"/admin/users?done={done}#user-{username}", status_code=303)


def _reset_password(
    session: Session, *, username: str, password: str, actor: Actor, now: datetime
) -> object:
    """A temporary password, hashed first: a weak one is refused like any other change."""
    return reset_password(
        session, username=username, password_hash=hash_password(password), actor=actor, now=now
    )


@router.post("/admin/users/{username}/deactivate")
def deactivate(request: Request, session: DB, principal: Admin, username: str) -> Response:
    """Their sessions end now and their tokens stop working."""
    return _change(request, session, principal, username, "deactivated", set_active, active=False)


@router.post("/admin/users/{username}/reactivate")
def reactivate(request: Request, session: DB, principal: Admin, username: str) -> Response:
    return _change(request, session, principal, username, "reactivated", set_active, active=True)


@router.post("/admin/users/{username}/role")
def change_role(
    request: Request, session: DB, principal: Admin, username: str, form: FormFields
) -> Response:
    role = form.get("role", "")
    return _change(request, session, principal, username, "role", set_role, role=role)


@router.post("/admin/users/{username}/password")
def reset(
    request: Request, session: DB, principal: Admin, username: str, form: FormFields
) -> Response:
    """A temporary password the admin hands over; the person must replace it at sign-in."""
    password = form.get("password", "")
    return _change(
        request, session, principal, username, "reset", _reset_password, password=password
    )


@router.post("/admin/tokens")
def add_token(request: Request, session: DB, principal: Admin, form: FormFields) -> Response:
    name = form.get("username", "")
    user = user_by_name(session, username=name) if name else None
    if user is None or user.kind != AccountKind.SERVICE:
        return _refused(
            request,
            session,
            {"token_user": "choose a service account (people issue their own tokens)"},
            form,
        )
    try:
        return issue_and_reveal(
            request,
            session,
            user=user,
            name=form.get("name", ""),
            days=token_days(form, request),
            actor=actor_of(principal, request),
            page="/admin/tokens",
        )
    except UserError as exc:
        return _refused(request, session, {f"token_{exc.field}": exc.problem}, form)


@router.get("/admin/tokens/issued/{token_id}")
def issued(request: Request, session: DB, principal: Admin, token_id: int) -> Response:
    return reveal_page(request, session, token_id=token_id, user_id=None, back="/admin/users")


@router.post("/admin/tokens/{token_id}/revoke")
def revoke(request: Request, session: DB, principal: Admin, token_id: int) -> Response:
    try:
        revoke_token(
            session, token_id=token_id, actor=actor_of(principal, request), now=now(request)
        )
    except TokenNotFound as exc:
        return _refused(request, session, {"token": str(exc)}, status=404)
    return RedirectResponse("/admin/users?done=revoked#tokens", status_code=303)
