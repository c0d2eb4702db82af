"""Users, their web sessions and API tokens.

Only digests of secrets are stored and looked up here; hashing and token
generation live in ``carepath.security``. A web session is a row, so idle
logout and sign-out are facts in the database: a session idle longer than the
allowed minutes is ended on its next use and opens nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from models.audit import AuditEvent
from models.base import require_id
from models.repositories.audit import Actor, record
from models.user import ApiToken, AppUser, WebSession
from pathways.vocab import Role

USERNAME_PATTERN = r"^[a-z][a-z0-9._-]{1,59}$"
# A session's last_seen_at is written at most this often (one write per minute, not per request).
TOUCH_EVERY = timedelta(seconds=60)


class UserError(ValueError):
    """Refused user input; ``field`` names the input."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


class DuplicateUsername(UserError):
    def __init__(self) -> None:
        super().__init__("username", "a user with this name already exists")


class UserNotFound(LookupError):
    def __init__(self, username: str) -> None:
        super().__init__(f"user {username!r} not found")
        self.field = "username"


@dataclass(frozen=True, slots=True)
class Principal:
    """The signed-in person behind a request."""

    user_id: int
    username: str
    display_name: str
    role: Role
    via: str  # session | token
    session_id: int | None = None
    csrf_token: str | None = None

    def actor(self, channel: str) -> Actor:
        return Actor(name=self.username, role=self.role.value, channel=channel)


def create_user(
    session: Session,
    *,
    username: str,
    display_name: str,
    role: Role | str,
    password_hash: str,
    actor: Actor,
    email: str | None = None,
) -> AppUser:
    username = username.strip().lower()
    if not re.fullmatch(USERNAME_PATTERN, username):
        raise UserError(
            "username", "2-60 lower-case letters, digits, '.', '_' or '-', starting with a letter"
        )
    if not display_name.strip():
        raise UserError("display_name", "must not be blank")
    try:
        role = Role(role)
    except ValueError:
        raise UserError("role", f"one of {', '.join(r.value for r in Role)}") from None
    user = AppUser(
        username=username,
        display_name=display_name.strip(),
        role=role,
        password_hash=password_hash,
        email=email,
    )
    try:
        with session.begin_nested():
            session.add(user)
            session.flush()
    except IntegrityError:
        raise DuplicateUsername() from None
    record(session, actor=actor, action="create", entity="app_user", entity_id=user.id)
    return user


def user_by_name(session: Session, *, username: str) -> AppUser | None:
    return session.execute(
        select(AppUser).where(AppUser.username == username.strip().lower())
    ).scalar_one_or_none()


def list_users(session: Session) -> list[AppUser]:
    return list(session.execute(select(AppUser).order_by(AppUser.username)).scalars())  # type: ignore[arg-type]


def users_with_role(session: Session, *, role: Role) -> list[AppUser]:
    return list(
        session.execute(
            select(AppUser)
            .where(AppUser.role == role, AppUser.active.is_(True))  # type: ignore[attr-defined]
            .order_by(AppUser.username)  # type: ignore[arg-type]
        ).scalars()
    )


def set_active(
    session: Session, *, username: str, active: bool, actor: Actor, now: datetime
) -> AppUser:
    user = user_by_name(session, username=username)
    if user is None:
        raise UserNotFound(username)
    user.active = active
    session.add(user)
    if not active:
        session.execute(
            update(WebSession)
            .where(WebSession.user_id == user.id, WebSession.ended_at.is_(None))  # type: ignore[arg-type, union-attr]
            .values(ended_at=now)
        )
    record(
        session,
        actor=actor,
        action="activate" if active else "deactivate",
        entity="app_user",
        entity_id=user.id,
    )
    return user


def start_session(
    session: Session, *, user: AppUser, token_digest: str, csrf_token: str, now: datetime
) -> WebSession:
    row = WebSession(
        token_hash=token_digest,
        user_id=require_id(user),
        csrf_token=csrf_token,
        created_at=now,
        last_seen_at=now,
    )
    user.last_login_at = now
    session.add(row)
    session.add(user)
    session.flush()
    record(
        session,
        actor=Actor(user.username, user.role.value, "web"),
        action="sign_in",
        entity="web_session",
        entity_id=row.id,
        at=now,
    )
    return row


def failed_sign_ins(session: Session, *, username: str, since: datetime) -> int:
    """Failed sign-ins under this name since ``since`` and since its last successful one.

    Counted from the audit trail, so every app process on the database sees the
    same count; a name that is no user is counted like one that is.
    """
    last_success = (
        select(AuditEvent.at)
        .where(AuditEvent.actor == username, AuditEvent.action == "sign_in")
        .order_by(AuditEvent.at.desc())  # type: ignore[attr-defined]
        .limit(1)
        .scalar_subquery()
    )
    return session.execute(
        select(func.count())
        .select_from(AuditEvent)
        .where(
            AuditEvent.actor == username,
            AuditEvent.action == "sign_in_failed",
            AuditEvent.at >= since,
            AuditEvent.at > func.coalesce(last_success, since),
        )
    ).scalar_one()


def record_failed_sign_in(
    session: Session, *, username: str, user: AppUser | None, now: datetime, locked: bool
) -> None:
    """The refused attempt, in the audit trail (never in a log).

    ``locked``: refused during a lockout without checking the password; such
    attempts do not count as failures, so the lockout ends when the window has
    passed over the real ones, however often someone keeps trying meanwhile.
    """
    record(
        session,
        actor=Actor(username, user.role.value if user else "none", "web"),
        action="sign_in_locked" if locked else "sign_in_failed",
        entity="web_session",
        at=now,
    )


def session_principal(
    session: Session, *, token_digest: str, now: datetime, idle: timedelta
) -> Principal | None:
    """The principal of a live web session; an idle or ended session gives None (and is ended)."""
    row = session.execute(
        select(WebSession, AppUser)
        .join(AppUser, AppUser.id == WebSession.user_id)  # type: ignore[arg-type]
        .where(WebSession.token_hash == token_digest)
    ).first()
    if row is None:
        return None
    web_session, user = row
    if web_session.ended_at is not None or not user.active:
        return None
    if now - web_session.last_seen_at > idle:
        session.execute(
            update(WebSession).where(WebSession.id == web_session.id).values(ended_at=now)  # type: ignore[arg-type]
        )
        record(
            session,
            actor=Actor(user.username, user.role.value, "web"),
            action="idle_logout",
            entity="web_session",
            entity_id=web_session.id,
        )
        return None
    if now - web_session.last_seen_at > TOUCH_EVERY:
        session.execute(
            update(WebSession).where(WebSession.id == web_session.id).values(last_seen_at=now)  # type: ignore[arg-type]
        )
    return Principal(
        user_id=require_id(user),
        username=user.username,
        display_name=user.display_name,
        role=Role(user.role),
        via="session",
        session_id=web_session.id,
        csrf_token=web_session.csrf_token,
    )


def end_session(session: Session, *, session_id: int, now: datetime, actor: Actor) -> None:
    session.execute(
        update(WebSession)
        .where(WebSession.id == session_id, WebSession.ended_at.is_(None))  # type: ignore[arg-type, union-attr]
        .values(ended_at=now)
    )
    record(session, actor=actor, action="sign_out", entity="web_session", entity_id=session_id)


def issue_api_token(
    session: Session,
    *,
    user: AppUser,
    name: str,
    token_digest: str,
    actor: Actor,
    expires_at: datetime | None = None,
) -> ApiToken:
    if not name.strip():
        raise UserError("name", "a token needs a name (what integration uses it)")
    row = ApiToken(
        user_id=require_id(user), name=name.strip(), token_hash=token_digest, expires_at=expires_at
    )
    session.add(row)
    session.flush()
    record(session, actor=actor, action="create", entity="api_token", entity_id=row.id)
    return row


def token_principal(session: Session, *, token_digest: str, now: datetime) -> Principal | None:
    row = session.execute(
        select(ApiToken, AppUser)
        .join(AppUser, AppUser.id == ApiToken.user_id)  # type: ignore[arg-type]
        .where(ApiToken.token_hash == token_digest)
    ).first()
    if row is None:
        return None
    token, user = row
    if token.revoked_at is not None or not user.active:
        return None
    if token.expires_at is not None and token.expires_at <= now:
        return None
    if token.last_used_at is None or now - token.last_used_at > TOUCH_EVERY:
        session.execute(
            update(ApiToken).where(ApiToken.id == token.id).values(last_used_at=now)  # type: ignore[arg-type]
        )
    return Principal(
        user_id=require_id(user),
        username=user.username,
        display_name=user.display_name,
        role=Role(user.role),
        via="token",
    )
