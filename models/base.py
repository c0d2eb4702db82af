"""Column helpers shared by every table.

Timestamps are ``timestamptz`` and always aware; enums are stored as text with
a CHECK constraint (``native_enum=False``) so adding a value is a migration of
one constraint, not an ``ALTER TYPE``. The naming convention gives every
constraint a stable name, which keeps Alembic's autogenerate and the drift
test deterministic.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """Wall-clock now for row bookkeeping (created_at/updated_at) — never for clinical logic."""
    return datetime.now(UTC)


def enum_type(enum: type[StrEnum], name: str) -> sa.Enum:
    return sa.Enum(
        enum,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=max(len(member.value) for member in enum) + 8,
        values_callable=lambda members: [member.value for member in members],
        validate_strings=True,
    )


def enum_field(enum: type[StrEnum], name: str, **kwargs: Any) -> Any:
    return Field(sa_type=enum_type(enum, name), **kwargs)


def ts_field(*, nullable: bool = True, index: bool = False, default_now: bool = False) -> Any:
    kwargs: dict[str, Any] = {
        "sa_type": sa.DateTime(timezone=True),
        "nullable": nullable,
        "index": index,
    }
    if default_now:
        kwargs["default_factory"] = utcnow
    elif nullable:
        kwargs["default"] = None
    return Field(**kwargs)


def json_field(*, nullable: bool = True, default_factory: Any = None) -> Any:
    if default_factory is not None:
        return Field(sa_type=JSONB, nullable=nullable, default_factory=default_factory)
    return Field(sa_type=JSONB, nullable=nullable, default=None)


OnDelete = Literal["CASCADE", "SET NULL", "RESTRICT"]


def fk(
    target: str, *, nullable: bool = False, index: bool = True, ondelete: OnDelete = "RESTRICT"
) -> Any:
    """A foreign key; patient data is never deleted by cascade (RESTRICT by default)."""
    return Field(foreign_key=target, nullable=nullable, index=index, ondelete=ondelete)


def require_id(row: SQLModel) -> int:
    """The primary key of a flushed row (SQLModel types it optional until then)."""
    value = getattr(row, "id", None)
    if value is None:
        raise RuntimeError(f"{type(row).__name__} has no id; flush the session first")
    return int(value)
