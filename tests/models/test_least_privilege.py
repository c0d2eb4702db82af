"""The app's database role: it reads and writes, appends to the audit trail, and alters nothing.

Every other test already connects as the app role (``database_url``), the
way the app does; these name what that role must not be able to do, and show
that the refusals are PostgreSQL's privilege checks (SQLSTATE 42501), not only
the append-only triggers, which the owner could still disable.
"""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from psycopg import errors

from carepath.embedded_db import APP_ROLE, OWNER_ROLE

INSERT_AUDIT = (
    "INSERT INTO audit_event (at, actor, role, action, entity, channel) "
    "VALUES (now(), 'tester', 'admin', 'read', 'patient', 'cli') RETURNING id"
)


def _libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


@pytest.fixture
def app_conn(database_url: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(_libpq(database_url)) as conn:
        yield conn


def _refused(conn: psycopg.Connection, statement: str) -> None:
    # PostgreSQL's own checks, not the append-only trigger (which raises the same SQLSTATE).
    with (
        pytest.raises(errors.InsufficientPrivilege, match=r"permission denied|must be owner"),
        conn.transaction(),
    ):
        conn.execute(statement)


def test_the_app_connects_as_a_plain_role_that_owns_nothing(app_conn: psycopg.Connection) -> None:
    user, superuser = app_conn.execute(
        "SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user"
    ).fetchone()
    assert (user, superuser) == (APP_ROLE, False)
    owned = app_conn.execute(
        "SELECT count(*) FROM pg_class WHERE relowner = (SELECT oid FROM pg_roles WHERE rolname = current_user)"
    ).fetchone()
    assert owned == (0,)
    tables = app_conn.execute(
        "SELECT DISTINCT pg_get_userbyid(relowner) FROM pg_class c JOIN pg_namespace n "
        "ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind = 'r'"
    ).fetchall()
    assert tables == [(OWNER_ROLE,)]


def test_the_app_appends_to_the_audit_trail_and_reads_it(app_conn: psycopg.Connection) -> None:
    with app_conn.transaction():
        (event_id,) = app_conn.execute(INSERT_AUDIT).fetchone()
    assert app_conn.execute(
        "SELECT actor FROM audit_event WHERE id = %s", (event_id,)
    ).fetchone() == ("tester",)


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_event SET actor = 'someone else'",
        "DELETE FROM audit_event",
        "TRUNCATE audit_event",
        "UPDATE phase_event SET reason = 'rewritten'",
        "DELETE FROM phase_event",
        "ALTER TABLE audit_event DISABLE TRIGGER audit_event_append_only",
        "ALTER TABLE audit_event DISABLE TRIGGER ALL",
        "DROP TRIGGER audit_event_append_only ON audit_event",
        "DROP TABLE audit_event",
        "CREATE TRIGGER sneaky BEFORE INSERT ON audit_event "
        "FOR EACH ROW EXECUTE FUNCTION carepath_refuse_change()",
        "SET session_replication_role = replica",
        "UPDATE alembic_version SET version_num = 'x'",
        "CREATE TABLE shadow (id int)",
    ],
)
def test_the_app_cannot_rewrite_the_audit_trail_nor_its_guards(
    app_conn: psycopg.Connection, statement: str
) -> None:
    with app_conn.transaction():
        app_conn.execute(INSERT_AUDIT)
    _refused(app_conn, statement)
    assert app_conn.execute("SELECT count(*) FROM audit_event").fetchone() == (1,)


def test_the_owner_could_disable_the_triggers_which_is_why_the_app_is_not_the_owner(
    owner_database_url: str,
) -> None:
    """The control: the same statement as the owner goes through (and is rolled back)."""
    with psycopg.connect(_libpq(owner_database_url)) as conn:
        assert conn.execute("SELECT current_user").fetchone() == (OWNER_ROLE,)
        conn.execute("ALTER TABLE audit_event DISABLE TRIGGER audit_event_append_only")
        conn.rollback()


def test_the_triggers_still_refuse_the_owner(owner_database_url: str) -> None:
    """Defence in depth: what the app may not do, the append-only triggers refuse the owner too."""
    with psycopg.connect(_libpq(owner_database_url)) as conn:
        conn.execute(INSERT_AUDIT)
        for statement in ("UPDATE audit_event SET actor = 'x'", "DELETE FROM phase_event"):
            with (
                pytest.raises(errors.InsufficientPrivilege, match="append-only"),
                conn.transaction(),
            ):
                conn.execute(statement)


def test_the_app_still_writes_the_working_tables(app_conn: psycopg.Connection) -> None:
    with app_conn.transaction():
        app_conn.execute(
            "INSERT INTO run_ledger (job, period_key, owner, status, started_at) "
            "VALUES ('plan_care', 'P', 'me', 'running', now())"
        )
        app_conn.execute("UPDATE run_ledger SET status = 'done'")
        app_conn.execute("DELETE FROM run_ledger")
        app_conn.execute("CREATE TEMP TABLE scratch (id int) ON COMMIT DROP")
