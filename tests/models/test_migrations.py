"""Migrations are the only way the schema changes, and they match the models."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlmodel import SQLModel

import models  # noqa: F401
from carepath.database import current_revision, downgrade, head_revision, upgrade
from models.session import engine_for


def _diff(url: str, metadata: sa.MetaData) -> list[object]:
    with engine_for(url).connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(context, metadata))


def test_upgrade_downgrade_upgrade_round_trip(owner_database_url: str) -> None:
    database_url = owner_database_url  # migrations run as the owner of the schema
    downgrade(database_url, "base")
    assert current_revision(database_url) is None
    tables = set(inspect(engine_for(database_url)).get_table_names())
    assert tables <= {"alembic_version"}
    upgrade(database_url)
    assert current_revision(database_url) == head_revision(database_url)
    downgrade(database_url, "base")
    upgrade(database_url, "head")
    tables = set(inspect(engine_for(database_url)).get_table_names())
    assert {"patient", "care_task", "phase_event", "audit_event", "reminder"} <= tables


def test_models_and_migrations_do_not_drift(database_url: str) -> None:
    assert _diff(database_url, SQLModel.metadata) == []


def test_drift_check_notices_a_model_change(database_url: str) -> None:
    """The drift test above can fail: a column added only in the models is reported."""
    metadata = sa.MetaData()
    for table in SQLModel.metadata.sorted_tables:
        table.to_metadata(metadata)
    metadata.tables["patient"].append_column(sa.Column("shoe_size", sa.Integer()))
    differences = _diff(database_url, metadata)
    assert any("shoe_size" in str(d) for d in differences)
