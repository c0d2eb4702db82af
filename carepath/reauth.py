"""Proving who you are: sign-in and the step-up every signature needs, one lockout for both.

``check_password`` is the one place a password is checked against an account:
the sign-in form, the signature forms, the API's signature step-up and the
CLI all come here. Attempts on one account are serialised (an advisory lock
for the transaction), counted per account (per normalised name when no
account has it), and past ``login_max_failures`` within the lockout window
refused without checking the password. A refused attempt is recorded in a
transaction of its own, so it counts even when the request that made it is
rolled back.

``step_up`` turns a clinician's password and attestation into a
``Signature``, the proof the repositories that write ``signed_by`` require:
an open session or a token alone signs nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine
from sqlmodel import Session

from carepath.security import verify_password
from carepath.settings import Settings
from models.repositories.users import (
    Principal,
    Signature,
    failed_attempts,
    lock_attempts,
    normalise_username,
    record_attempt,
    user_by_name,
)
from models.user import AccountKind, AppUser
from pathways.vocab import Role


@dataclass(frozen=True, slots=True)
class Lockout:
    max_failures: int
    window: timedelta

    @classmethod
    def of(cls, settings: Settings) -> Lockout:
        return cls(settings.login_max_failures, timedelta(minutes=settings.login_lockout_minutes))

    @property
    def minutes(self) -> int:
        return int(self.window.total_seconds() // 60)


class Locked(Exception):
    def __init__(self, lockout: Lockout) -> None:
        super().__init__(
            f"too many failed attempts for this account; try again within {lockout.minutes} minutes"
        )


class SignatureRefused(Exception):
    """A signature without its step-up; ``problems`` names each field at fault."""

    def __init__(self, problems: dict[str, str]) -> None:
        self.problems = problems
        self.field = next(iter(problems))
        super().__init__("; ".join(f"{f}: {p}" for f, p in problems.items()))


def _on_its_own(session: Session, write: Callable[[Session], None]) -> None:
    """Run ``write`` in a transaction of its own (committed now) when the session has an engine."""
    bind = session.get_bind()
    if not isinstance(bind, Engine):
        write(session)
        return
    with Session(bind) as own:
        write(own)
        own.commit()


def check_password(
    session: Session,
    *,
    username: str,
    password: str,
    now: datetime,
    lockout: Lockout,
    purpose: str,  # sign_in | signature
    channel: str,
    credential: str | None = None,
) -> AppUser | None:
    """The account when ``password`` is its own and it may sign in; None otherwise; ``Locked``
    (without checking the password) during a lockout. Failures are recorded and counted."""
    name = normalise_username(username)
    user = user_by_name(session, username=name)
    lock_attempts(session, key=str(user.id) if user is not None else name)

    def note(action: str) -> None:
        _on_its_own(
            session,
            lambda s: record_attempt(
                s,
                name=name,
                user=user,
                action=action,
                channel=channel,
                credential=credential,
                now=now,
            ),
        )

    if failed_attempts(session, user=user, name=name, since=now - lockout.window) >= (
        lockout.max_failures
    ):
        note(f"{purpose}_locked")
        raise Locked(lockout)
    ok = verify_password(user.password_hash if user else None, password)
    if user is None or not ok or not user.active or user.kind != AccountKind.PERSON:
        note(f"{purpose}_failed")
        return None
    return user


def step_up(
    session: Session,
    *,
    principal: Principal,
    password: str | None,
    attested: bool,
    now: datetime,
    lockout: Lockout,
    channel: str,
) -> Signature:
    """The signer's own re-authentication for one signature, or ``SignatureRefused``."""
    if principal.kind != AccountKind.PERSON:
        raise SignatureRefused(
            {
                "signature": "a service account never signs; the clinician signs with their own "
                "password, through the web or their own token"
            }
        )
    if principal.role is not Role.CLINICIAN:
        raise SignatureRefused({"signature": "only a clinician signs a response category"})
    problems: dict[str, str] = {}
    if not attested:
        problems["attest"] = "tick the box to sign as yourself"
    if not password:
        problems["password"] = "enter your own password to sign"  # noqa: S105 - a message
    if problems:
        raise SignatureRefused(problems)
    try:
        user = check_password(
            session,
            username=principal.username,
            password=password or "",
            now=now,
            lockout=lockout,
            purpose="signature",
            channel=channel,
            credential=principal.credential,
        )
    except Locked as exc:
        raise SignatureRefused({"password": str(exc)}) from None
    if user is None:
        raise SignatureRefused({"password": "enter your own password to sign; that was not it"})
    record_attempt(
        session,
        name=user.username,
        user=user,
        action="step_up",
        channel=channel,
        credential=principal.credential,
        now=now,
    )
    return Signature(
        signer=user.username,
        role=Role.CLINICIAN.value,
        credential=principal.credential,
        method="password",
    )
