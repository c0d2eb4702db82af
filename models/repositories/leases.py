"""Proof of life for a process that holds work: a session advisory lock, with a lease behind it.

A ``Holder`` takes a session advisory lock on a key of its own, on a
connection it keeps for as long as it holds work, and what it claims names
that key (a run in the ledger, reminders in the outbox). The lock lives
exactly as long as the session: when the process dies — SIGKILL, out of
memory, a crash — its socket closes, PostgreSQL ends the session and the
lock is gone, so the next claimant sees at once that the work has no holder
(``holder_alive``) and takes it again, instead of waiting out a lease.
Keepalives on the session make the server notice a vanished host (no socket
closed) within about half a minute. The lease stays as the backstop for a
holder that is alive but stuck, or cut off from the server.
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

log = logging.getLogger("carepath.leases")

# The first key of carepath's two-key advisory locks ("carp"); the second is the holder's.
LOCK_CLASS = 0x63617270
# On TCP the server probes an idle holder's socket after 10 s, every 5 s, and ends
# the session after 3 unanswered probes (PostgreSQL ignores these on a Unix socket).
KEEPALIVES = (
    "SET tcp_keepalives_idle = 10; SET tcp_keepalives_interval = 5; SET tcp_keepalives_count = 3"
)


def holder_alive(column: str) -> str:
    """SQL: true while the holder whose key is in ``column`` keeps its lock on this database."""
    return (
        "EXISTS (SELECT 1 FROM pg_locks l WHERE l.locktype = 'advisory' AND l.granted "  # noqa: S608 (a column name of ours)
        f"AND l.classid = {LOCK_CLASS} AND l.objsubid = 2 AND l.objid = ({column})::oid "
        "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()))"
    )


class Holder:
    """Holds its advisory lock from ``__enter__`` to ``__exit__`` (or to the process's death)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.key = secrets.randbelow(2**31 - 2) + 1
        self._conn: Connection | None = None

    def __enter__(self) -> Holder:
        self._conn = self._lock()
        return self

    def __exit__(self, *exc: object) -> None:
        self._close()

    def alive(self) -> bool:
        """Whether the lock is still held (a round trip on the holder's own session)."""
        if self._conn is None:
            return False
        try:
            self._conn.execute(text("SELECT 1"))
            self._conn.commit()
        except DBAPIError:
            self._close()
            return False
        return True

    def execute(self, statement: str, params: dict[str, Any]) -> int | None:
        """Run ``statement`` on the holder's session (a heartbeat); rows touched, None if unreachable.

        A session lost while the server restarted is opened again and the same
        key locked again, if no one else took it meanwhile.
        """
        for _ in range(2):
            try:
                if self._conn is None:
                    self._conn = self._lock(wait=False)
                rows = self._conn.execute(text(statement), params).rowcount
                self._conn.commit()
                return rows
            except (DBAPIError, LookupError) as exc:
                self._close()
                log.warning("lease holder %d: %s", self.key, type(exc).__name__)
        return None

    def _lock(self, *, wait: bool = True) -> Connection:
        # Session-level: the lock outlives each statement's transaction (committed at once).
        conn = self.engine.connect()
        try:
            conn.execute(text(KEEPALIVES))
            function = "pg_advisory_lock" if wait else "pg_try_advisory_lock"
            got = conn.execute(
                text(f"SELECT {function}(:cls, :key)"), {"cls": LOCK_CLASS, "key": self.key}
            ).scalar()
            conn.commit()
            if got is False:
                raise LookupError("the lock is held elsewhere")
        except BaseException:
            conn.invalidate()
            conn.close()
            raise
        return conn

    def _close(self) -> None:
        # Closing the session (never handing it back to the pool) is what releases the lock.
        if self._conn is not None:
            conn, self._conn = self._conn, None
            try:
                conn.invalidate()
                conn.close()
            except DBAPIError:
                pass


def wait_until_gone(engine: Engine, key: int, seconds: float = 30.0) -> bool:
    """Whether the holder of ``key`` is gone within ``seconds``.

    Its session ends a moment after its process: the server notices the closed
    socket and ends the backend, which then releases the lock.
    """
    import time

    deadline = time.monotonic() + seconds
    with engine.connect() as conn:
        while True:
            alive = conn.execute(text(f"SELECT {holder_alive(':key')}"), {"key": key}).scalar_one()
            conn.rollback()
            if not alive:
                return True
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
