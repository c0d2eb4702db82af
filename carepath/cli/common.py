"""What every command shares: the console, the error contract, the session.

Bad input ends with one line on stderr naming the field and the problem, and
exit code 2; the transaction is rolled back, so nothing is half-written.
"""

from __future__ import annotations

import getpass
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, NoReturn

import typer
from pydantic import ValidationError
from rich.console import Console
from sqlmodel import Session
from typer.core import TyperGroup

from carepath.settings import Settings, get_settings
from models.repositories.audit import Actor
from pathways.core.field_errors import plain
from pathways.core.text import text_problem
from pathways.vocab import Role

if TYPE_CHECKING:
    from models.repositories.users import Principal

console = Console()
err_console = Console(stderr=True)

EXIT_INVALID = 2


def fail(message: str, code: int = EXIT_INVALID) -> NoReturn:
    err_console.print(f"carepath: error: {message}", markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def fail_fields(problems: dict[str, str], code: int = EXIT_INVALID) -> NoReturn:
    """One line per bad field, every field at once: ``carepath: error: FIELD: PROBLEM``.

    ``pathways.core.field_errors.field_errors`` gives these problems for a ValidationError.
    """
    for field, problem in problems.items():
        err_console.print(
            f"carepath: error: {field}: {problem}", markup=False, highlight=False, soft_wrap=True
        )
    raise typer.Exit(code)


def argument_problems(args: list[str]) -> dict[str, str]:
    """The problem of every command-line argument that is not safe text (``pathways.core.text``).

    Named by its option (``--name``), or by its position when it is not an option's value.
    """
    problems: dict[str, str] = {}
    for index, arg in enumerate(args):
        name, value = f"argument {index + 1}", arg
        if arg.startswith("--") and "=" in arg:
            name, value = arg.split("=", 1)
        elif index > 0 and args[index - 1].startswith("-") and not arg.startswith("-"):
            name = args[index - 1]
        problem = text_problem(value)
        if problem is not None:
            problems.setdefault(name, problem)
    return problems


class SafeArguments(TyperGroup):
    """The root command: every argument of every subcommand is checked before anything runs."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:  # typer's own click Context
        problems = argument_problems(args)
        if problems:
            fail_fields(problems)
        return super().parse_args(ctx, args)


def settings_or_fail() -> Settings:
    try:
        return get_settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        name = str(first["loc"][0]).upper() if first["loc"] else "SETTINGS"
        fail(f"CAREPATH_{name}: {plain(first)}")


def cli_actor(name: str | None = None, role: str = "admin") -> Actor:
    return Actor(
        name=name or f"cli:{getpass.getuser()}", role=role, channel="cli", credential="cli"
    )


def account(
    session: Session, actor: str, *, roles: tuple[Role, ...], doing: str, credential: str = "cli"
) -> Principal:
    """The Principal of the active account ``actor`` names, of one of ``roles``, or exit 2
    saying why not: a command done for a person is audited under their account, never
    under a name typed at the shell."""
    from models.repositories.users import principal_of, user_by_name

    name = actor.strip()
    user = user_by_name(session, username=name)
    if user is None or not user.active:
        fail(f"actor: {name!r} is no active account (give the user name of a {_people(roles)})")
    if user.role not in roles:
        fail(f"actor: {name!r} is a {user.role} account; {doing} is a {_people(roles)}'s")
    return principal_of(user, via="cli", credential=credential)


def _people(roles: tuple[Role, ...]) -> str:
    return " or a ".join(r.value for r in roles)


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
