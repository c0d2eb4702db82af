"""Small SQL helpers every repository shares."""

from __future__ import annotations

from typing import Any

from sqlalchemy import CursorResult, Result, Table, inspect
from sqlmodel import Session, SQLModel

LIKE_ESCAPE = "\\"


def like_escaped(text: str) -> str:
    """``text`` matched literally inside a LIKE pattern (with ``escape=LIKE_ESCAPE``).

    A search for ``50%`` or ``A_1`` finds those characters, not "anything": the
    LIKE wildcards ``%`` and ``_`` and the escape character itself are escaped.
    """
    return (
        text.replace(LIKE_ESCAPE, LIKE_ESCAPE * 2)
        .replace("%", LIKE_ESCAPE + "%")
        .replace("_", LIKE_ESCAPE + "_")
    )


def table_of(model: type[SQLModel]) -> Table:
    """The table behind a table model, typed (SQLModel does not declare ``__table__``).

    For set-based queries over columns of several tables at once (``table_of(Patient).c``).
    """
    table = inspect(model).local_table
    if not isinstance(table, Table):
        raise TypeError(f"{model.__name__} is not a table model")
    return table


def rows_touched(result: Result[Any]) -> int:
    """How many rows an UPDATE or DELETE run through ``session.execute`` touched.

    SQLModel's ``Session.execute`` is typed as a plain ``Result``; a DML statement's is a
    ``CursorResult``, which carries the count.
    """
    if not isinstance(result, CursorResult):
        raise TypeError("rows_touched needs the result of an UPDATE, INSERT or DELETE")
    return int(result.rowcount or 0)


def raw_connection(session: Session) -> Any:
    """The psycopg connection under the session, inside the session's transaction.

    For the statements run on every planning batch: a raw cursor skips
    SQLAlchemy's statement handling, and COPY needs it.
    """
    return session.connection().connection.driver_connection
