"""What every command shares: the console, the error contract, the session.

Bad input ends with one line on stderr naming the field and the problem, and
exit code 2; the transaction is rolled back, so nothing is half-written.
"""

from __future__ import annotations

import getpass
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

import typer
from pydantic import ValidationError
from rich.console import Console
from sqlmodel import Session

from carepath.settings import Settings, get_settings
from models.repositories.audit import Actor

console = Console()
err_console = Console(stderr=True)

EXIT_INVALID = 2


def fail(message: str, code: int = EXIT_INVALID) -> NoReturn:
    err_console.print(f"carepath: error: {message}", markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def validation_message(exc: ValidationError, prefix: str = "") -> str:
    first = exc.errors()[0]
    loc = ".".join(str(part) for part in first["loc"])
    field = f"{prefix}{loc}" if loc else prefix.rstrip(".") or "input"
    message = str(first.get("msg", "invalid value")).removeprefix("Value error, ")
    if first.get("type") == "missing":
        message = "required field is missing"
    return f"{field}: {message}"


def settings_or_fail() -> Settings:
    try:
        return get_settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        name = str(first["loc"][0]).upper() if first["loc"] else "SETTINGS"
        fail(f"CAREPATH_{name}: {first['msg'].removeprefix('Value error, ')}")


def cli_actor(name: str | None = None, role: str = "admin") -> Actor:
    return Actor(
        name=name or f"cli:{getpass.getuser()}", role=role, channel="cli", credential="cli"
    )


@contextmanager
def db_session() -> Iterator[Session]:
    """A session on the configured database whose work commits at the end, or not at all."""
    from carepath.database import get_engine
    from models.session import transaction

    settings = settings_or_fail()
    with transaction(get_engine(settings)) as session:
        yield session


def is_tty() -> bool:
    return sys.stdout.isatty()
