"""Users and API tokens (admin): create a user, issue a token for an integration."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from carepath.security import WeakPassword, digest, hash_password, new_token
from carepath.web.deps import DB, FormFields, actor_of, allow
from carepath.web.templating import render
from models.repositories.users import (
    Principal,
    UserError,
    create_user,
    issue_api_token,
    list_users,
    user_by_name,
)
from pathways.vocab import Role

router = APIRouter(include_in_schema=False)

Admin = Annotated[Principal, allow(Role.ADMIN)]


def _page(request: Request, session: DB, **context: object) -> Response:
    status = int(context.pop("status_code", 200))  # type: ignore[call-overload]
    base: dict[str, object] = {
        "users": list_users(session),
        "roles": list(Role),
        "problems": {},
        "values": {},
        "token": None,
    }
    return render(request, "admin_users.html", base | context, status_code=status)


@router.get("/admin/users")
def users_page(request: Request, session: DB, principal: Admin) -> Response:
    return _page(request, session)


@router.post("/admin/users")
def add_user(request: Request, session: DB, principal: Admin, form: FormFields) -> Response:
    try:
        create_user(
            session,
            username=form.get("username", ""),
            display_name=form.get("display_name", ""),
            role=form.get("role", ""),
            password_hash=hash_password(form.get("password", "")),
            actor=actor_of(principal, request),
        )
    except (UserError, WeakPassword) as exc:
        session.rollback()
        form.pop("password", None)
        return _page(
            request,
            session,
            problems={exc.field: str(exc).split(": ", 1)[-1]},
            values=form,
            status_code=422,
        )
    return RedirectResponse("/admin/users?done=user", status_code=303)


@router.post("/admin/tokens")
def add_token(request: Request, session: DB, principal: Admin, form: FormFields) -> Response:
    user = user_by_name(session, username=form.get("username", ""))
    if user is None:
        return _page(request, session, problems={"token_user": "no such user"}, status_code=422)
    token = new_token()
    try:
        issue_api_token(
            session,
            user=user,
            name=form.get("name", ""),
            token_digest=digest(token),
            actor=actor_of(principal, request),
        )
    except UserError as exc:
        session.rollback()
        return _page(request, session, problems={"token_name": exc.problem}, status_code=422)
    return _page(request, session, token=token, token_user=user.username)
