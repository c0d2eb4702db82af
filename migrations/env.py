"""Alembic environment: the URL the caller resolved, else carepath's settings; never a server start.

`carepath db upgrade`, the demo and the test template resolve the owner's URL
(``carepath.database.migration_url``, which starts the embedded server when it
is the default) and hand it over in the configuration. Plain ``alembic``
reads ``CAREPATH_MIGRATION_DATABASE_URL`` or ``CAREPATH_DATABASE_URL``.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import engine_from_config, pool
from sqlmodel import SQLModel

import models  # noqa: F401  (registers every table on SQLModel.metadata)

config = context.config
target_metadata = SQLModel.metadata


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    if url:
        return url
    from carepath.settings import Settings

    settings = Settings()
    url = settings.migration_database_url or settings.database_url
    if not url:
        raise SystemExit(
            "no database URL: run `carepath db upgrade` (it starts the embedded PostgreSQL), "
            "or set CAREPATH_MIGRATION_DATABASE_URL / CAREPATH_DATABASE_URL"
        )
    return url


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    section = config.get_section(config.config_ini_section, {})
    section["sqlalchemy.url"] = _url()
    connectable = engine_from_config(
        section, prefix="sqlalchemy.", poolclass=pool.NullPool, hide_parameters=True
    )
    with connectable.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            compare_type=True,
            transaction_per_migration=True,
        )
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
