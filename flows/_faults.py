"""Which failures a retry can fix, and the fault a planning worker sends back (no Prefect here)."""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

TRANSIENT_SQLSTATES = frozenset({"40001", "40P01", "57P01", "08000", "08003", "08006"})


class PageFault(RuntimeError):
    """A page failed in a planning worker: the error as text, and whether a retry can fix it.

    Database errors do not always survive pickling between processes; this
    one does, and keeps what the retry decision needs.
    """

    def __init__(self, message: str, transient: bool = False) -> None:
        super().__init__(message, transient)
        self.transient = transient

    def __str__(self) -> str:
        return str(self.args[0])


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, PageFault):
        return exc.transient
    if isinstance(exc, (OperationalError, InterfaceError)):
        return True
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated:
            return True
        return getattr(exc.orig, "sqlstate", None) in TRANSIENT_SQLSTATES
    return False
