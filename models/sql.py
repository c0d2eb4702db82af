"""Small SQL helpers every repository shares."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

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


def raw_connection(session: Session) -> Any:
    """The psycopg connection under the session, inside the session's transaction.

    For the statements run on every planning batch: a raw cursor skips
    SQLAlchemy's statement handling, and COPY needs it.
    """
    return session.connection().connection.driver_connection
