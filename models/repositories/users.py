"""Users and their web sessions; the failed attempts that lock an account.

Only digests of secrets are stored and looked up here; hashing and token
generation live in ``carepath.security``. A username is normalised in one
place (``normalise_username``) and every lookup, count and audit event uses
that form, so ``RedAdmin`` and ``redadmin`` are one account with one count.
A web session is a row, so idle and absolute logout and sign-out are facts in
the database: a session idle longer than allowed, or older than its absolute
lifetime, is ended on its next use and opens nothing.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from models.audit import AuditEvent
from models.base import require_id
from models.repositories.audit import Actor, record
from models.user import AccountKind, AppUser, WebSession
from pathways.vocab import Role

USERNAME_PATTERN = r"^[a-z][a-z0-9._-]{1,59}$"
# A session's last_seen_at is written at most this often (one write per minute, not per request).
TOUCH_EVERY = timedelta(seconds=60)
# The roles a service account may have: an integration reads or records data; it never
# makes a clinician's decision, signs, or administers.
SERVICE_ROLES = (Role.COORDINATOR, Role.QUALITY)
# Failed attempts that count toward a lockout, and the successes that clear them.
FAILURES = ("sign_in_failed", "signature_failed", "password_change_failed", "token_failed")
SUCCESSES = ("sign_in", "step_up")


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


def normalise_username(name: str) -> str:
    """The one form of a username: Unicode NFKC, no surrounding spaces, lower case."""
    return unicodedata.normalize("NFKC", name).strip().lower()


@dataclass(frozen=True, slots=True)
class Principal:
    """The signed-in person (or service account) behind a request, and the credential used."""

    user_id: int
    username: str
    display_name: str
    role: Role
    via: str  # session | token | cli
    credential: str  # "session 12", "token 7 (lab bridge)", "cli"
    kind: AccountKind = AccountKind.PERSON
    session_id: int | None = None
    token_id: int | None = None
    csrf_token: str | None = None
    must_change_password: bool = False

    def actor(self, channel: str) -> Actor:
        return Actor(
            name=self.username, role=self.role.value, channel=channel, credential=self.credential
        )


@dataclass(frozen=True, slots=True)
class Signature:
    """Proof that the signer re-authenticated for this signature (``carepath.reauth.step_up``).

    ``method`` is ``password`` (the signer's own password, just checked) or
    ``demo`` (the demo's invented history, signed by a name that is no account).
    The repositories that write ``signed_by`` take one and refuse a signature
    that is not the acting clinician's own.
    """

    signer: str
    role: str
    credential: str
    method: str  # password | demo


def principal_of(
    user: AppUser,
    *,
    via: str,
    credential: str,
    session_id: int | None = None,
    token_id: int | None = None,
    csrf_token: str | None = None,
) -> Principal:
    return Principal(
        user_id=require_id(user),
        username=user.username,
        display_name=user.display_name,
        role=Role(user.role),
        via=via,
        credential=credential,
        kind=AccountKind(user.kind),
        must_change_password=user.must_change_password,
        session_id=session_id,
        token_id=token_id,
        csrf_token=csrf_token,
    )


def _role(role: Role | str) -> Role:
    try:
        return Role(role)
    except ValueError:
        raise UserError("role", f"one of {', '.join(r.value for r in Role)}") from None


def _check_service_role(kind: AccountKind, role: Role) -> None:
    if kind is AccountKind.SERVICE and role not in SERVICE_ROLES:
        raise UserError(
            "role",
            "a service account is a "
            + " or ".join(r.value for r in SERVICE_ROLES)
            + " (an integration never decides, signs or administers)",
        )


def create_user(
    session: Session,
    *,
    username: str,
    display_name: str,
    role: Role | str,
    password_hash: str | None,
    actor: Actor,
    email: str | None = None,
    kind: AccountKind | str = AccountKind.PERSON,
) -> AppUser:
    """A person (with a password) or a service account (without one: no web sign-in)."""
    username = normalise_username(username)
    if not re.fullmatch(USERNAME_PATTERN, username):
        raise UserError(
            "username", "2-60 lower-case letters, digits, '.', '_' or '-', starting with a letter"
        )
    if not display_name.strip():
        raise UserError("display_name", "must not be blank")
    role = _role(role)
    kind = AccountKind(kind)
    _check_service_role(kind, role)
    if (kind is AccountKind.PERSON) != (password_hash is not None):
        raise UserError("password", "a person needs a password; a service account has none")
    user = AppUser(
        username=username,
        display_name=display_name.strip(),
        role=role,
        kind=kind,
        password_hash=password_hash,
        email=email,
    )
    try:
        with session.begin_nested():
            session.add(user)
            session.flush()
    except IntegrityError:
        raise DuplicateUsername() from None
    record(
        session,
        actor=actor,
        action="create",
        entity="app_user",
        entity_id=user.id,
        detail={"role": role.value, "kind": kind.value},
    )
    return user


def user_by_name(session: Session, *, username: str) -> AppUser | None:
    return session.execute(
        select(AppUser).where(col(AppUser.username) == normalise_username(username))
    ).scalar_one_or_none()


def _existing(session: Session, username: str) -> AppUser:
    user = user_by_name(session, username=username)
    if user is None:
        raise UserNotFound(username)
    return user


def list_users(session: Session) -> list[AppUser]:
    return list(session.execute(select(AppUser).order_by(col(AppUser.username))).scalars())


def display_names(session: Session, usernames: Iterable[str | None]) -> dict[str, str]:
    """The display names of these user names ("Dana Reyes", not "coordinator1"), in one
    read; a name that is no user's (a flow's, a feed's) is shown as it is."""
    wanted = {u for u in usernames if u}
    if not wanted:
        return {}
    rows = session.execute(
        select(col(AppUser.username), col(AppUser.display_name)).where(
            col(AppUser.username).in_(wanted)
        )
    ).all()
    found = {username: name for username, name in rows if name}
    return {u: found.get(u, u) for u in wanted}


def users_with_role(session: Session, *, role: Role) -> list[AppUser]:
    """Active people of a role (who a task can be given to)."""
    return list(
        session.execute(
            select(AppUser)
            .where(
                col(AppUser.role) == role,
                col(AppUser.active).is_(True),
                col(AppUser.kind) == AccountKind.PERSON,
            )
            .order_by(col(AppUser.username))
        ).scalars()
    )


def _not_yourself(actor: Actor, user: AppUser, what: str) -> None:
    if actor.name == user.username:
        raise UserError("username", f"you cannot {what} your own account; ask another admin")


def _end_sessions(session: Session, user_id: int, now: datetime, keep: int | None = None) -> None:
    query = update(WebSession).where(
        col(WebSession.user_id) == user_id,
        col(WebSession.ended_at).is_(None),
    )
    if keep is not None:
        query = query.where(col(WebSession.id) != keep)
    session.execute(query.values(ended_at=now))


def set_active(
    session: Session, *, username: str, active: bool, actor: Actor, now: datetime
) -> AppUser:
    """Deactivate (open sessions end; tokens stop working, since they are checked against
    ``active`` on every use) or reactivate an account."""
    user = _existing(session, username)
    if not active:
        _not_yourself(actor, user, "deactivate")
    user.active = active
    session.add(user)
    if not active:
        _end_sessions(session, require_id(user), now)
    record(
        session,
        actor=actor,
        action="activate" if active else "deactivate",
        entity="app_user",
        entity_id=user.id,
        at=now,
    )
    return user


def set_role(
    session: Session, *, username: str, role: Role | str, actor: Actor, now: datetime
) -> AppUser:
    user = _existing(session, username)
    chosen = _role(role)
    _not_yourself(actor, user, "change the role of")
    _check_service_role(AccountKind(user.kind), chosen)
    before = Role(user.role)
    user.role = chosen
    session.add(user)
    record(
        session,
        actor=actor,
        action="change_role",
        entity="app_user",
        entity_id=user.id,
        detail={"from": before.value, "to": chosen.value},
        at=now,
    )
    return user


def reset_password(
    session: Session, *, username: str, password_hash: str, actor: Actor, now: datetime
) -> AppUser:
    """An admin sets a temporary password: the person's sessions end, and their next
    sign-in asks for a new password before anything else."""
    user = _existing(session, username)
    if user.kind == AccountKind.SERVICE:
        raise UserError("username", "a service account has no password")
    _not_yourself(actor, user, "reset the password of")
    user.password_hash = password_hash
    user.must_change_password = True
    session.add(user)
    _end_sessions(session, require_id(user), now)
    record(
        session, actor=actor, action="reset_password", entity="app_user", entity_id=user.id, at=now
    )
    return user


def change_password(
    session: Session,
    *,
    user_id: int,
    password_hash: str,
    actor: Actor,
    now: datetime,
    keep_session: int | None,
) -> None:
    """A person's own new password; their other sessions end."""
    user = session.get(AppUser, user_id)
    if user is None:
        raise UserNotFound(str(user_id))
    user.password_hash = password_hash
    user.must_change_password = False
    session.add(user)
    _end_sessions(session, user_id, now, keep=keep_session)
    record(
        session,
        actor=actor,
        action="change_password",
        entity="app_user",
        entity_id=user_id,
        at=now,
    )


def lock_attempts(session: Session, *, key: str) -> None:
    """Serialise the attempts on one account (or unknown name) until this transaction ends,
    so parallel guesses cannot all pass the count before any is recorded."""
    session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": "auth:" + key})


def failed_attempts(session: Session, *, user: AppUser | None, name: str, since: datetime) -> int:
    """Failed sign-ins and signature passwords since ``since`` and since the last success.

    Per account when the account exists (its id is on every event), else per
    normalised name; counted from the audit trail, so every process sees the
    same count.
    """
    actor = user.username if user is not None else normalise_username(name)[:120]
    account = None if user is None else str(require_id(user))
    # The newest success by id, not time: events of one instant (a test's fixed clock, or
    # two attempts in the same microsecond) still come in the order they were written.
    last_success = (
        select(func.max(col(AuditEvent.id)))
        .where(col(AuditEvent.actor) == actor, col(AuditEvent.action).in_(SUCCESSES))
        .scalar_subquery()
    )
    same_account = (
        col(AuditEvent.entity_id).is_(None)
        if account is None
        else col(AuditEvent.entity_id) == account
    )
    return session.scalars(
        select(func.count())
        .select_from(AuditEvent)
        .where(
            col(AuditEvent.actor) == actor,
            col(AuditEvent.entity) == "app_user",
            same_account,
            col(AuditEvent.action).in_(FAILURES),
            col(AuditEvent.at) >= since,
            col(AuditEvent.id) > func.coalesce(last_success, 0),
        )
    ).one()


def record_attempt(
    session: Session,
    *,
    name: str,
    user: AppUser | None,
    action: str,
    channel: str,
    credential: str | None,
    now: datetime,
) -> None:
    """A refused (or, for ``step_up``, passed) attempt, in the audit trail (never in a log).

    ``*_locked`` attempts were refused during a lockout without checking the
    password and do not count, so the lockout ends when the window has passed
    over the real failures, however often someone keeps trying meanwhile.
    """
    record(
        session,
        actor=Actor(
            user.username if user is not None else normalise_username(name)[:120],
            Role(user.role).value if user is not None else "none",
            channel,
            credential,
        ),
        action=action,
        entity="app_user",
        entity_id=None if user is None else user.id,
        at=now,
    )


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
        actor=Actor(user.username, user.role.value, "web", f"session {row.id}"),
        action="sign_in",
        entity="web_session",
        entity_id=row.id,
        at=now,
    )
    return row


def session_principal(
    session: Session,
    *,
    token_digest: str,
    now: datetime,
    idle: timedelta,
    lifetime: timedelta,
    touch: bool = True,
) -> Principal | None:
    """The principal of a live web session; an idle, expired or ended session gives None (and is ended).

    ``touch`` False (the page's background polling): the session is not kept alive by it.
    """
    row = session.execute(
        select(WebSession, AppUser)
        .join(AppUser, col(AppUser.id) == col(WebSession.user_id))
        .where(col(WebSession.token_hash) == token_digest)
    ).first()
    if row is None:
        return None
    web_session, user = row
    if web_session.ended_at is not None or not user.active or user.kind != AccountKind.PERSON:
        return None
    ended = (
        "idle_logout"
        if now - web_session.last_seen_at > idle
        else "session_expired"
        if now - web_session.created_at >= lifetime
        else None
    )
    if ended is not None:
        session.execute(
            update(WebSession).where(col(WebSession.id) == web_session.id).values(ended_at=now)
        )
        record(
            session,
            actor=Actor(user.username, user.role.value, "web", f"session {web_session.id}"),
            action=ended,
            entity="web_session",
            entity_id=web_session.id,
        )
        return None
    if touch and now - web_session.last_seen_at > TOUCH_EVERY:
        session.execute(
            update(WebSession).where(col(WebSession.id) == web_session.id).values(last_seen_at=now)
        )
    return principal_of(
        user,
        via="session",
        credential=f"session {web_session.id}",
        session_id=web_session.id,
        csrf_token=web_session.csrf_token,
    )


def end_session(session: Session, *, session_id: int, now: datetime, actor: Actor) -> None:
    session.execute(
        update(WebSession)
        .where(col(WebSession.id) == session_id, col(WebSession.ended_at).is_(None))
        .values(ended_at=now)
    )
    record(session, actor=actor, action="sign_out", entity="web_session", entity_id=session_id)
