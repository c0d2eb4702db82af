"""Users, API tokens, web sessions and the per-client request counters.

Passwords and tokens are stored only as hashes (argon2 for passwords, an HMAC
or SHA-256 for random high-entropy tokens). Sessions are server-side rows so
that idle and absolute logout and revocation are facts in the database, not
cookie promises. A *service account* is an integration's identity: it has a
role, no password and no web sign-in, and acts only through API tokens an
admin issues for it.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from models.base import enum_field, fk, ts_field
from pathways.vocab import Role


class AccountKind(StrEnum):
    PERSON = "person"
    SERVICE = "service"


class AppUser(SQLModel, table=True):
    __tablename__ = "app_user"
    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=60, unique=True)
    display_name: str = Field(max_length=120)
    email: str | None = Field(default=None, max_length=200)
    role: Role = enum_field(Role, "user_role")
    kind: AccountKind = enum_field(
        AccountKind,
        "account_kind",
        default=AccountKind.PERSON,
        sa_column_kwargs={"server_default": "person"},
    )
    # None for a service account: it never signs in and never signs.
    password_hash: str | None = Field(default=None, max_length=200)
    # Set by an admin's password reset: the next sign-in must choose a new password first.
    must_change_password: bool = Field(
        default=False, sa_column_kwargs={"server_default": sa.false()}
    )
    active: bool = True
    created_at: datetime = ts_field(nullable=False, default_now=True)
    last_login_at: datetime | None = ts_field()


class ApiToken(SQLModel, table=True):
    __tablename__ = "api_token"
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = fk("app_user.id")
    name: str = Field(max_length=80)
    token_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = ts_field(nullable=False, default_now=True)
    expires_at: datetime | None = ts_field()
    revoked_at: datetime | None = ts_field()
    last_used_at: datetime | None = ts_field()


class WebSession(SQLModel, table=True):
    __tablename__ = "web_session"
    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    user_id: int = fk("app_user.id")
    csrf_token: str = Field(max_length=64)
    created_at: datetime = ts_field(nullable=False, default_now=True)
    last_seen_at: datetime = ts_field(nullable=False, default_now=True)
    ended_at: datetime | None = ts_field()


class RateWindow(SQLModel, table=True):
    """Requests of one client (``bucket``: what is limited and who asks) in one minute.

    In the database, so every web process of ``carepath serve --workers N``
    counts into the same window.
    """

    __tablename__ = "rate_window"
    bucket: str = Field(max_length=120, primary_key=True)
    window_start: datetime = Field(sa_type=sa.DateTime(timezone=True), primary_key=True, index=True)
    hits: int = 0
