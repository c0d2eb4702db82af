"""Which database this process uses, as which role, and how to migrate it.

``CAREPATH_DATABASE_URL`` names a server and the role the app connects as;
``CAREPATH_MIGRATION_DATABASE_URL`` the owner the migrations run as (unset:
the same URL). Without either the embedded PostgreSQL under
``CAREPATH_DATA_DIR`` is started on first use, with the same two roles.
Alembic migrations are the only way the schema changes; whoever runs them
resolves the URL here (starting the embedded server if need be) and hands it
to Alembic, whose ``migrations/env.py`` never starts a server.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine

import migrations
from carepath.embedded_db import embedded_urls
from carepath.settings import Settings, get_settings
from models.session import engine_for

if TYPE_CHECKING:
    from alembic.config import Config


def database_url(settings: Settings | None = None) -> str:
    """The URL the app connects with (the app role)."""
    settings = settings or get_settings()
    if settings.database_url:
        return settings.database_url
    return embedded_urls(settings.data_dir).app


def migration_url(settings: Settings | None = None) -> str:
    """The URL migrations run with (the owner of the schema)."""
    settings = settings or get_settings()
    if settings.database_url:
        return settings.migration_database_url or settings.database_url
    return embedded_urls(settings.data_dir).owner


def get_engine(settings: Settings | None = None) -> Engine:
    return engine_for(database_url(settings))


# Alembic is imported where it is used: importing it was half of the web app's
# construction, which `carepath serve` does before it can answer.
def alembic_config(url: str) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(Path(migrations.__file__).parent))
    # Alembic's ini interpolation treats % specially.
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    from alembic import command

    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str = "base") -> None:
    from alembic import command

    command.downgrade(alembic_config(url), revision)


def current_revision(url: str) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine_for(url).connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision(url: str) -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config(url)).get_current_head()
