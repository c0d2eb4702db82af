"""`carepath user add | token | tokens | revoke-token | list | deactivate | reactivate` and
`carepath audit`."""

from __future__ import annotations

import re

from typer.testing import CliRunner

from carepath.cli import app

runner = CliRunner()


def run(*args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, list(args))


def test_user_add_token_list_and_audit(cli_env: str) -> None:
    added = run("user", "add", "dana", "--role", "coordinator", "--name", "Dana Doe", "--generate")
    assert added.exit_code == 0, added.output
    assert "user dana (coordinator) created" in added.output and "password: " in added.output
    # A person's token is theirs to issue, with their password, never an operator's.
    refused = runner.invoke(
        app, ["user", "token", "dana", "--name", "lab-feed"], input="not dana's password\n"
    )
    assert refused.exit_code == 2 and "issued by that person" in refused.output
    service = run("user", "add", "lab-feed", "--role", "coordinator", "--service")
    assert service.exit_code == 0, service.output
    assert "service account lab-feed (coordinator) created" in service.output
    assert run("user", "add", "bad-feed", "--role", "clinician", "--service").exit_code == 2
    token = run("user", "token", "lab-feed", "--name", "lab results")
    assert token.exit_code == 0 and len(token.output.strip()) >= 40
    listing = run("user", "list")
    assert "dana" in listing.output and "coordinator" in listing.output
    assert "service" in listing.output
    tokens = run("user", "tokens")
    assert tokens.exit_code == 0 and "lab results" in tokens.output and "active" in tokens.output
    assert token.output.strip() not in tokens.output  # never the secret
    tokens_before = run("user", "tokens").output
    assert "lab results" in tokens_before
    assert run("user", "revoke-token", "1").exit_code == 0
    assert "revoked" in run("user", "tokens").output
    assert run("user", "revoke-token", "99").exit_code == 2
    audit = run("audit", "--action", "create")
    assert audit.exit_code == 0
    assert "app_user" in audit.output and "api_token" in audit.output
    assert run("user", "deactivate", "dana").exit_code == 0
    assert run("user", "reactivate", "dana").exit_code == 0


def test_a_person_issues_their_own_token_with_their_password(cli_env: str) -> None:
    password = "dana's own passphrase"
    assert run("user", "add", "dana", "--role", "clinician", "--password", password).exit_code == 0
    own = runner.invoke(app, ["user", "token", "dana", "--name", "scripts"], input=password + "\n")
    assert own.exit_code == 0, own.output
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", own.stdout.strip())  # the token alone, for scripts
    audit = run("audit", "--action", "create")
    assert "cli password" in audit.output  # issued by dana, proven by her password


def test_bad_input_is_one_line_naming_the_field(cli_env: str) -> None:
    weak = run("user", "add", "erin", "--role", "coordinator", "--password", "short")
    assert weak.exit_code == 2 and "password: must be at least 12 characters" in weak.output
    common = run("user", "add", "erin", "--role", "coordinator", "--password", "password1234")
    assert common.exit_code == 2 and "common or breached" in common.output
    blank = run("user", "add", "erin", "--role", "coordinator", "--password", " " * 12)
    assert blank.exit_code == 2 and "password: must not be blank" in blank.output
    role = run("user", "add", "erin", "--role", "surgeon", "--password", "long enough pass")
    assert role.exit_code == 2 and "role:" in role.output
    run("user", "add", "erin", "--role", "clinician", "--password", "long enough pass")
    again = run("user", "add", "erin", "--role", "clinician", "--password", "long enough pass")
    assert again.exit_code == 2 and "username: a user with this name already exists" in again.output
    assert run("audit", "--since", "last week").exit_code == 2
    assert run("audit", "--channel", "fax").exit_code == 2
