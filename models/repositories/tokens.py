"""API tokens (issue, list, revoke, authenticate) and the per-client request counters.

No one acts as someone else: a person issues tokens only for themselves, and
an admin only for a service account. Every token expires; a revoked or
expired token, or one of a deactivated account, opens nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, text, update
from sqlmodel import Session, col

from models.base import require_id
from models.repositories.audit import Actor, record
from models.repositories.users import TOUCH_EVERY, Principal, UserError, principal_of
from models.user import AccountKind, ApiToken, AppUser
from pathways.vocab import Role

# Idle rate windows are deleted after this many minutes.
KEEP_WINDOWS_MINUTES = 10


class TokenNotFound(LookupError):
    def __init__(self, token_id: int) -> None:
        super().__init__(f"API token {token_id} not found")
        self.field = "token"


@dataclass(frozen=True, slots=True)
class TokenRow:
    token: ApiToken
    username: str
    kind: AccountKind

    def status(self, now: datetime) -> str:
        if self.token.revoked_at is not None:
            return "revoked"
        if self.token.expires_at is not None and self.token.expires_at <= now:
            return "expired"
        return "active"


def check_issuer(user: AppUser, actor: Actor) -> None:
    """Refuse a token that would let ``actor`` act as someone else."""
    if not user.active:
        raise UserError("username", "this account is deactivated")
    if user.kind == AccountKind.SERVICE:
        if actor.role != Role.ADMIN.value:
            raise UserError("username", "only an admin issues tokens for a service account")
        return
    if actor.name != user.username:
        raise UserError(
            "username",
            "a person's token is issued by that person (Account → API tokens); "
            "an admin issues tokens only for service accounts",
        )
    if user.role == Role.ADMIN:
        raise UserError("username", "an admin's own account has no API tokens")


def issue_api_token(
    session: Session,
    *,
    user: AppUser,
    name: str,
    token_digest: str,
    actor: Actor,
    expires_at: datetime,
) -> ApiToken:
    check_issuer(user, actor)
    if not name.strip():
        raise UserError("name", "a token needs a name (what integration uses it)")
    if len(name.strip()) > 80:
        raise UserError("name", "at most 80 characters")
    row = ApiToken(
        user_id=require_id(user), name=name.strip(), token_hash=token_digest, expires_at=expires_at
    )
    session.add(row)
    session.flush()
    record(
        session,
        actor=actor,
        action="create",
        entity="api_token",
        entity_id=row.id,
        detail={"for": user.username, "expires": expires_at.isoformat()},
    )
    return row


def list_tokens(session: Session, *, user_id: int | None = None) -> list[TokenRow]:
    """Tokens newest first (one account's when ``user_id`` is given); never their secrets."""
    query = (
        select(ApiToken, col(AppUser.username), col(AppUser.kind))
        .join(AppUser, col(AppUser.id) == col(ApiToken.user_id))
        .order_by(col(ApiToken.id).desc())
    )
    if user_id is not None:
        query = query.where(col(ApiToken.user_id) == user_id)
    return [TokenRow(t, u, AccountKind(k)) for t, u, k in session.execute(query).all()]


def token_by_id(session: Session, *, token_id: int, user_id: int | None = None) -> ApiToken:
    token = session.get(ApiToken, token_id)
    if token is None or (user_id is not None and token.user_id != user_id):
        raise TokenNotFound(token_id)
    return token


def revoke_token(
    session: Session, *, token_id: int, actor: Actor, now: datetime, user_id: int | None = None
) -> ApiToken:
    """Revoke a token (``user_id``: only if it is that account's); revoking twice changes nothing."""
    token = token_by_id(session, token_id=token_id, user_id=user_id)
    if token.revoked_at is None:
        token.revoked_at = now
        session.add(token)
        record(
            session, actor=actor, action="revoke", entity="api_token", entity_id=token_id, at=now
        )
    return token


def token_principal(session: Session, *, token_digest: str, now: datetime) -> Principal | None:
    row = session.execute(
        select(ApiToken, AppUser)
        .join(AppUser, col(AppUser.id) == col(ApiToken.user_id))
        .where(col(ApiToken.token_hash) == token_digest)
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
            update(ApiToken).where(col(ApiToken.id) == token.id).values(last_used_at=now)
        )
    return principal_of(
        user, via="token", credential=f"token {token.id} ({token.name})"[:120], token_id=token.id
    )


def count_request(session: Session, *, bucket: str) -> tuple[int, int]:
    """Count one request of ``bucket`` in the current minute of the database's clock.

    Returns (requests in this minute so far, seconds until the minute ends).
    Committed at once, with asynchronous commit: a lost count after a crash
    costs nothing, and a refused request is counted all the same.
    """
    session.execute(text("SET LOCAL synchronous_commit TO off"))
    hits, left = session.execute(
        text(
            "INSERT INTO rate_window (bucket, window_start, hits) "
            "VALUES (:b, date_trunc('minute', clock_timestamp()), 1) "
            "ON CONFLICT (bucket, window_start) DO UPDATE SET hits = rate_window.hits + 1 "
            "RETURNING hits, 60 - extract(second FROM clock_timestamp())::int"
        ),
        {"b": bucket[:120]},
    ).one()
    if hits == 1:
        session.execute(
            text(
                "DELETE FROM rate_window "
                "WHERE window_start < clock_timestamp() - make_interval(mins => :m)"
            ),
            {"m": KEEP_WINDOWS_MINUTES},
        )
    session.commit()
    return int(hits), max(1, int(left))
