"""Users, API tokens and web sessions.

Passwords and tokens are stored only as hashes (argon2 for passwords, SHA-256
for random high-entropy tokens). Sessions are server-side rows so that idle
logout and revocation are facts in the database, not cookie promises.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from models.base import enum_field, fk, ts_field
from pathways.vocab import Role


class AppUser(SQLModel, table=True):
    __tablename__ = "app_user"
    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=60, unique=True)
    display_name: str = Field(max_length=120)
    email: str | None = Field(default=None, max_length=200)
    role: Role = enum_field(Role, "user_role")
    password_hash: str = Field(max_length=200)
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
