"""No patient data in any log: exceptions are logged by kind and place, never by message.

An exception's text can hold patient data: a database error carries its SQL
parameters (SQLAlchemy, unless ``hide_parameters``) and PostgreSQL's DETAIL
line the values of a violated key ("Key (mrn)=(MRN-448812) already exists"); a
validation error repeats the input. So whatever prints an exception in a
carepath process — uvicorn's "Exception in ASGI application", the clock's and
Prefect's loggers, an uncaught error of a command — prints ``describe(exc)``
instead: the exception types of the chain, the SQLSTATE and constraint of a
database error, and the frames (file, line, function), which is what a
developer needs to find the fault.

``install()`` does it for the whole process, once: every log record's
``exc_info`` becomes that description (the record factory, so it holds for
every logger and handler, whoever configured them), and uncaught exceptions
(``sys.excepthook``, ``threading.excepthook``) print it. The engine hides SQL
parameters as well (``models.session.engine_for``).
"""

from __future__ import annotations

import logging
import re
import sys
import threading
import traceback
from pathlib import Path
from types import TracebackType
from typing import Any

_ROOT = str(Path(__file__).resolve().parents[1]) + "/"
# Text that repeats values, should a message still carry it (defence in depth).
_VALUES = re.compile(r"(DETAIL:|\[parameters:|input_value=|Key \().*", re.DOTALL)
# Prefect writes a failed run's exception text into its own messages, beside the exception
# or without it: "Task run failed with exception: ValueError('…')", "Finished in state
# Failed('Task run encountered an exception ValueError: …')". The kind stays, the text goes.
_PREFECT_EXCEPTION = re.compile(
    r"((?:with|encountered an) exception:? ?)([A-Za-z_][\w.]*)(?:\(|: ).*", re.DOTALL
)
_installed = False


def describe(exc: BaseException, *, frames: int = 12) -> str:
    """``exc`` by kind and place, without its message (``IntegrityError [23505 ux_patient_mrn] …``)."""
    kinds = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        kinds.append(type(current).__name__ + _database_facts(current))
        current = current.__cause__ or current.__context__
    where = [
        f"{_short(f.filename)}:{f.lineno} in {f.name}"
        for f in traceback.extract_tb(exc.__traceback__)[-frames:]
    ]
    text = " <- ".join(kinds)
    return f"{text} (message withheld: it may hold patient data)" + (
        "\n  at " + "\n  at ".join(where) if where else ""
    )


def _database_facts(exc: BaseException) -> str:
    orig = getattr(exc, "orig", exc)
    state = getattr(orig, "sqlstate", None)
    diag = getattr(orig, "diag", None)
    constraint = getattr(diag, "constraint_name", None) if diag is not None else None
    facts = [str(x) for x in (state, constraint) if x]
    return f" [{' '.join(facts)}]" if facts else ""


def _short(filename: str) -> str:
    return filename.removeprefix(_ROOT)


def scrub(text: str) -> str:
    """``text`` without what repeats values (a DETAIL line, SQL parameters, an input value,
    the text of an exception Prefect quotes)."""
    text = _PREFECT_EXCEPTION.sub(r"\1\2 (message withheld)", text)
    return _VALUES.sub("(withheld)", text)


def _without(message: str, exc: BaseException) -> str:
    """A log message that quotes its own exception (Prefect's do), with the quote withheld."""
    for quoted in (repr(exc), str(exc)):  # the repr first: it contains the text
        if quoted:
            message = message.replace(quoted, type(exc).__name__)
    return scrub(message)


def _safe_records(factory: Any) -> Any:
    def make(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record: logging.LogRecord = factory(*args, **kwargs)
        info = record.exc_info
        if info and info[1] is not None:
            record.msg = f"{_without(record.getMessage(), info[1])}: {describe(info[1])}"
            record.args = ()
            record.exc_info = None
            record.exc_text = None
        elif isinstance(record.msg, str) and (
            _VALUES.search(message := record.getMessage()) or _PREFECT_EXCEPTION.search(message)
        ):
            record.msg, record.args = scrub(message), ()
        return record

    return make


def _hook(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
    if isinstance(exc, KeyboardInterrupt):
        sys.__excepthook__(kind, exc, tb)
        return
    print(f"carepath: internal error: {describe(exc)}", file=sys.stderr)


def _thread_hook(args: threading.ExceptHookArgs) -> None:
    if args.exc_value is not None:
        name = args.thread.name if args.thread is not None else "?"
        print(
            f"carepath: internal error in thread {name}: {describe(args.exc_value)}",
            file=sys.stderr,
        )


def install() -> None:
    """Make every log record and uncaught exception of this process data-free (idempotent)."""
    global _installed
    if _installed:
        return
    _installed = True
    logging.setLogRecordFactory(_safe_records(logging.getLogRecordFactory()))
    sys.excepthook = _hook
    threading.excepthook = _thread_hook
