"""`carepath user add | token | list | deactivate` and `carepath audit`."""

from __future__ import annotations

from typer.testing import CliRunner

from carepath.cli import app

runner = CliRunner()


def run(*args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, list(args))


def test_user_add_token_list_and_audit(cli_env: str) -> None:
    added = run("user", "add", "dana", "--role", "coordinator", "--name", "Dana Doe", "--generate")
    assert added.exit_code == 0, added.output
    assert "user dana (coordinator) created" in added.output and "password: " in added.output
    token = run("user", "token", "dana", "--name", "lab-feed")
    assert token.exit_code == 0 and len(token.output.strip()) >= 40
    listing = run("user", "list")
    assert "dana" in listing.output and "coordinator" in listing.output
    audit = run("audit", "--action", "create")
    assert audit.exit_code == 0
    assert "app_user" in audit.output and "api_token" in audit.output
    assert run("user", "deactivate", "dana").exit_code == 0


def test_bad_input_is_one_line_naming_the_field(cli_env: str) -> None:
    weak = run("user", "add", "erin", "--role", "coordinator", "--password", "short")
    assert weak.exit_code == 2 and "password: must be at least 12 characters" in weak.output
    role = run("user", "add", "erin", "--role", "surgeon", "--password", "long enough pass")
    assert role.exit_code == 2 and "role:" in role.output
    run("user", "add", "erin", "--role", "clinician", "--password", "long enough pass")
    again = run("user", "add", "erin", "--role", "clinician", "--password", "long enough pass")
    assert again.exit_code == 2 and "username: a user with this name already exists" in again.output
    assert run("audit", "--since", "last week").exit_code == 2
    assert run("audit", "--channel", "fax").exit_code == 2
