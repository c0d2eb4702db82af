"""`carepath user add | list | token | tokens | revoke-token | deactivate | reactivate` and
`carepath audit`.

Tokens from here are for service accounts (``add --service``), or for a
person who enters their own password: no operator can act as someone else.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated

import typer
from rich.table import Table

from carepath.cli.common import cli_actor, console, db_session, fail, settings_or_fail

user_app = typer.Typer(help="Users of the web app and API tokens.", no_args_is_help=True)


@user_app.command("add")
def add(
    username: Annotated[str, typer.Argument(help="Sign-in name (lower case).")],
    role: Annotated[str, typer.Option(help="coordinator | clinician | quality | admin")],
    name: Annotated[str | None, typer.Option(help="Display name (default: the username).")] = None,
    email: Annotated[str | None, typer.Option()] = None,
    service: Annotated[
        bool,
        typer.Option(
            help="A service account: an integration's identity (coordinator or quality), "
            "no password and no web sign-in; it acts through API tokens."
        ),
    ] = False,
    password: Annotated[
        str | None,
        typer.Option(
            help="At least 12 characters; prompted when omitted, or generated with --generate.",
        ),
    ] = None,
    generate: Annotated[bool, typer.Option(help="Generate a password and print it once.")] = False,
) -> None:
    """Create a user; the password is stored as an argon2 hash only."""
    from carepath.security import WeakPassword, generate_password, hash_password
    from models.repositories.users import UserError, create_user

    shown = None
    if service and (password is not None or generate):
        fail("password: a service account has no password (it never signs in)")
    if password is None and not service:
        if generate:
            password = shown = generate_password()
        else:
            password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        password_hash = None if password is None else hash_password(password)
        with db_session() as session:
            create_user(
                session,
                username=username,
                display_name=name or username,
                role=role,
                kind="service" if service else "person",
                password_hash=password_hash,
                email=email,
                actor=cli_actor(),
            )
    except (UserError, WeakPassword) as exc:
        fail(str(exc))
    kind = "service account" if service else "user"
    console.print(f"{kind} [bold]{username.strip().lower()}[/] ({role}) created")
    if shown is not None:
        console.print(f"password: {shown}", markup=False, highlight=False)


@user_app.command("list")
def list_() -> None:
    """List users with their role and last sign-in."""
    from models.repositories.users import list_users

    with db_session() as session:
        users = list_users(session)
    table = Table(title=f"Users ({len(users)})", title_justify="left")
    for column in ("Username", "Name", "Kind", "Role", "Active", "Last sign-in (UTC)"):
        table.add_column(column)
    for u in users:
        table.add_row(
            u.username,
            u.display_name,
            u.kind.value,
            u.role.value,
            "yes" if u.active else "no",
            u.last_login_at.strftime("%Y-%m-%d %H:%M") if u.last_login_at else "-",
        )
    console.print(table)


@user_app.command("token")
def token(
    username: Annotated[str, typer.Argument(help="A service account, or yourself.")],
    name: Annotated[str, typer.Option(help="Which integration uses the token.")],
    days: Annotated[
        int | None,
        typer.Option(min=1, help="Expire after this many days (default CAREPATH_API_TOKEN_DAYS)."),
    ] = None,
) -> None:
    """Issue an API token (printed once; only its digest is stored).

    For a service account, as the operator. For a person, only as that person:
    their password is asked for, so no one is issued a token acting as someone else.
    """
    from carepath.reauth import Locked, Lockout, check_password
    from carepath.security import digest, new_token
    from carepath.timeutil import now
    from models.repositories.tokens import issue_api_token
    from models.repositories.users import UserError, principal_of, user_by_name
    from models.user import AccountKind

    settings = settings_or_fail()
    most = settings.api_token_days
    if days is not None and days > most:
        fail(f"days: at most {most} (CAREPATH_API_TOKEN_DAYS)")
    raw = new_token()
    try:
        with db_session() as session:
            user = user_by_name(session, username=username)
            if user is None:
                fail(f"username: no user {username!r}")
            actor = cli_actor()
            if user.kind == AccountKind.PERSON:
                password = typer.prompt(  # on stderr: stdout is the token alone
                    f"Password of {user.username} (a person's token is their own)",
                    hide_input=True,
                    err=True,
                )
                try:
                    own = check_password(
                        session,
                        username=user.username,
                        password=password,
                        now=now(),
                        lockout=Lockout.of(settings),
                        purpose="token",
                        channel="cli",
                        credential="cli",
                    )
                except Locked as exc:
                    fail(f"password: {exc}")
                if own is None:
                    fail(
                        "username: a person's token is issued by that person, with their "
                        "password (or on their account page); that was not it"
                    )
                actor = principal_of(own, via="cli", credential="cli password").actor("cli")
            issue_api_token(
                session,
                user=user,
                name=name,
                token_digest=digest(raw),
                actor=actor,
                expires_at=now() + timedelta(days=days or most),
            )
    except UserError as exc:
        fail(str(exc))
    console.print(raw, markup=False, highlight=False)


@user_app.command("tokens")
def tokens() -> None:
    """List API tokens (never their secrets): id, name, account, expiry, last use, status."""
    from carepath.timeutil import now
    from models.repositories.tokens import list_tokens

    with db_session() as session:
        rows = list_tokens(session)
    at = now()
    table = Table(title=f"API tokens ({len(rows)})", title_justify="left")
    for column in ("Id", "Name", "Account", "Expires (UTC)", "Last used (UTC)", "Status"):
        table.add_column(column)
    for r in rows:
        table.add_row(
            str(r.token.id),
            r.token.name,
            f"{r.username} ({r.kind.value})",
            r.token.expires_at.strftime("%Y-%m-%d %H:%M") if r.token.expires_at else "never",
            r.token.last_used_at.strftime("%Y-%m-%d %H:%M") if r.token.last_used_at else "-",
            r.status(at),
        )
    console.print(table)


@user_app.command("revoke-token")
def revoke(token_id: Annotated[int, typer.Argument(help="The token's id (user tokens).")]) -> None:
    """Revoke an API token: it opens nothing from now on."""
    from carepath.timeutil import now
    from models.repositories.tokens import TokenNotFound, revoke_token

    try:
        with db_session() as session:
            revoke_token(session, token_id=token_id, actor=cli_actor(), now=now())
    except TokenNotFound as exc:
        fail(f"token: {exc}")
    console.print(f"API token {token_id} revoked")


def _set_active(username: str, active: bool) -> None:
    from carepath.timeutil import now
    from models.repositories.users import UserError, UserNotFound, set_active

    try:
        with db_session() as session:
            set_active(session, username=username, active=active, actor=cli_actor(), now=now())
    except UserNotFound as exc:
        fail(f"username: {exc}")
    except UserError as exc:
        fail(str(exc))
    console.print(f"user {username} {'reactivated' if active else 'deactivated'}")


@user_app.command("deactivate")
def deactivate(username: Annotated[str, typer.Argument()]) -> None:
    """Stop a user signing in; their open sessions end and their tokens stop working."""
    _set_active(username, False)


@user_app.command("reactivate")
def reactivate(username: Annotated[str, typer.Argument()]) -> None:
    """Let a deactivated user sign in again (their revoked tokens stay revoked)."""
    _set_active(username, True)


def _clinic_instant(
    label: str, value: str | None, *, days_after: int, timezone: str
) -> datetime | None:
    """The start of the clinic day ``days_after`` the date given to ``--<label>`` (None: no bound)."""
    from pathways.clock import start_of_day

    if value is None:
        return None
    try:
        day = date.fromisoformat(value) + timedelta(days=days_after)
    except ValueError:
        fail(f"{label}: {value!r} is not a date (YYYY-MM-DD)")
    return start_of_day(day, timezone)


def audit(
    actor: Annotated[str | None, typer.Option(help="Only events by this person or job.")] = None,
    patient: Annotated[int | None, typer.Option(help="Only events about this patient id.")] = None,
    action: Annotated[
        str | None, typer.Option(help="read, create, update, claim, sign ...")
    ] = None,
    channel: Annotated[str | None, typer.Option(help="web | api | cli | flow")] = None,
    since: Annotated[str | None, typer.Option(help="From this clinic date, YYYY-MM-DD.")] = None,
    until: Annotated[str | None, typer.Option(help="To this clinic date (inclusive).")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10000)] = 50,
) -> None:
    """List audit events, newest first (who, role, channel, action, patient, what, when)."""
    from models.repositories.audit import list_events
    from pathways.clock import zone

    settings = settings_or_fail()
    if channel is not None and channel not in ("web", "api", "cli", "flow"):
        fail("channel: one of web, api, cli, flow")
    start = _clinic_instant("since", since, days_after=0, timezone=settings.timezone)
    end = _clinic_instant("until", until, days_after=1, timezone=settings.timezone)
    with db_session() as session:
        events = list_events(
            session,
            actor=actor,
            patient_id=patient,
            action=action,
            channel=channel,
            since=start,
            until=end,
            limit=limit,
        )
    local = zone(settings.timezone)
    table = Table(title=f"Audit events ({len(events)} shown)", title_justify="left")
    for column in (
        "When",
        "Who",
        "Role",
        "Channel",
        "Credential",
        "Action",
        "Patient",
        "What",
        "Detail",
    ):
        table.add_column(column, overflow="fold")
    for e in events:
        table.add_row(
            e.at.astimezone(local).strftime("%Y-%m-%d %H:%M:%S"),
            e.actor,
            e.role,
            e.channel,
            e.credential or "",
            e.action,
            _patients(e.patient_id, e.patient_ids),
            e.entity + ("" if e.entity_id is None else f" {e.entity_id}"),
            "" if not e.detail else "; ".join(f"{k}: {v}" for k, v in e.detail.items()),
        )
    console.print(table)


def _patients(patient_id: int | None, patient_ids: list[int] | None) -> str:
    """One patient, or a batch summarised (a flow's batch can name thousands)."""
    if patient_id is not None:
        return str(patient_id)
    if not patient_ids:
        return ""
    shown = ", ".join(str(p) for p in patient_ids[:5])
    return f"{len(patient_ids)} patients ({shown}{', ...' if len(patient_ids) > 5 else ''})"
