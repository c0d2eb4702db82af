"""Engine and session: one place that knows how to reach PostgreSQL.

Every session runs with the session time zone UTC so that a ``timestamptz``
never silently takes the server's local zone; clinic-calendar arithmetic
happens in Python with ``zoneinfo`` (pathways.clock), never as
``timestamptz + interval`` in SQL (ENVIRONMENT.md, Time zones).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.pool import ConnectionPoolEntry
from sqlmodel import Session


@lru_cache(maxsize=8)
def engine_for(url: str, pool_size: int = 5) -> Engine:
    engine = create_engine(
        url,
        pool_pre_ping=True,
        pool_size=pool_size,
        max_overflow=10,
        connect_args={"options": "-c timezone=UTC"},
        # A failed statement's parameters are patient data: never in an exception's text
        # (which tracebacks and logs print).
        hide_parameters=True,
    )

    @event.listens_for(engine, "connect")
    def _application_name(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("SET application_name = 'carepath'")
        finally:
            cursor.close()

    return engine


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """A session whose work commits together at the end, or not at all."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
