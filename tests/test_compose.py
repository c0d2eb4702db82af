"""docker-compose.yml cannot run here (no Docker engine); keep it correct by reading it."""

from __future__ import annotations

import re
import secrets
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
SERVICES = COMPOSE["services"]
REQUIRED_SECRETS = (
    "POSTGRES_PASSWORD",
    "CAREPATH_DB_OWNER_PASSWORD",
    "CAREPATH_DB_APP_PASSWORD",
    "PREFECT_DB_PASSWORD",
    "CAREPATH_SECRET_KEY",
    "CAREPATH_WEBHOOK_SECRET",
    "CAREPATH_SITE_ADDRESS",
)
INIT = (ROOT / "deploy" / "postgres-init.sh").read_text(encoding="utf-8")


def _substituted(value: str) -> str:
    """A compose value with every ${NAME:?...} / ${NAME:-default} filled in (a required value
    by a random 32-byte secret, what production asks of CAREPATH_SECRET_KEY)."""
    value = re.sub(r"\$\{[A-Z_]+:\?[^}]+\}", lambda _: secrets.token_urlsafe(32), value)
    return re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", value)


def test_production_services_are_all_there() -> None:
    assert {"postgres", "prefect-server", "worker", "app", "migrate", "caddy", "db-tls"} <= set(
        SERVICES
    )


def test_postgres_has_a_healthcheck_and_dependents_wait_for_it() -> None:
    check = SERVICES["postgres"]["healthcheck"]["test"]
    assert "pg_isready" in " ".join(check)
    assert SERVICES["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert SERVICES["prefect-server"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    for service in ("app", "worker"):
        assert (
            SERVICES[service]["depends_on"]["migrate"]["condition"]
            == "service_completed_successfully"
        )
    assert SERVICES["worker"]["depends_on"]["prefect-server"]["condition"] == "service_healthy"


def test_required_secrets_fail_fast_when_missing() -> None:
    text = (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
    for name in REQUIRED_SECRETS:
        assert re.search(r"\$\{" + name + r":\?[^}]+\}", text), f"{name} must be ${{{name}:?...}}"
    # No secret has a default value anywhere.
    for name in REQUIRED_SECRETS:
        assert not re.search(r"\$\{" + name + r":-", text)


def test_app_and_worker_run_in_production_with_prefect_owning_the_schedule() -> None:
    for service in ("app", "worker", "migrate"):
        env = SERVICES[service]["environment"]
        assert env["CAREPATH_ENVIRONMENT"] == "production"
        assert env["CAREPATH_SCHEDULE_OWNER"] == "prefect"
        assert env["CAREPATH_DATABASE_URL"].startswith("postgresql+psycopg://")
        assert env["PREFECT_SERVER_ANALYTICS_ENABLED"] == "false"
    # The app serves with several web processes; the settings accept what compose passes.
    assert SERVICES["app"]["environment"]["CAREPATH_WEB_WORKERS"] == "${CAREPATH_WEB_WORKERS:-2}"
    from carepath.settings import Settings

    assert Settings(web_workers="2").web_workers == 2  # type: ignore[arg-type]
    server_env = SERVICES["prefect-server"]["environment"]
    assert server_env["PREFECT_SERVER_ANALYTICS_ENABLED"] == "false"
    assert SERVICES["prefect-server"]["image"].startswith("prefecthq/prefect:3.8.8")


def test_service_commands_are_carepath_commands_that_exist() -> None:
    from typer.main import get_command

    from carepath.cli import app

    cli = get_command(app)
    for name in ("migrate", "worker", "app"):
        command = SERVICES[name]["command"]
        assert command[0] == "carepath"
        group = cli
        for word in command[1:]:
            if word.startswith("-"):
                break
            assert word in group.commands, f"{name}: `carepath {word}` does not exist"  # type: ignore[attr-defined]
            group = group.commands[word]  # type: ignore[attr-defined]


def test_the_app_is_healthy_only_when_ready() -> None:
    check = " ".join(SERVICES["app"]["healthcheck"]["test"])
    assert "/readyz" in check and "/healthz" not in check
    from carepath.web.app import create_app

    paths = {getattr(r, "path", None) for r in create_app(engine=_no_engine()).routes}
    assert "/readyz" in paths


def _no_engine() -> object:
    from sqlalchemy import create_engine

    return create_engine("postgresql+psycopg://nobody@/none?host=/nonexistent")


def test_the_roles_and_databases_are_created_on_first_start() -> None:
    from carepath.embedded_db import APP_ROLE, OWNER_ROLE

    mount = SERVICES["postgres"]["volumes"]
    assert any("postgres-init.sh:/docker-entrypoint-initdb.d/" in m for m in mount)
    for role in (OWNER_ROLE, APP_ROLE, "prefect"):
        assert re.search(rf"CREATE ROLE {role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE", INIT)
    assert "CREATE DATABASE carepath OWNER carepath_owner" in INIT
    assert "CREATE DATABASE prefect OWNER prefect" in INIT
    # Passwords travel as psql variables, quoted by psql, never pasted into the SQL.
    assert "PASSWORD :'app_password'" in INIT and "<<'SQL'" in INIT
    env = SERVICES["postgres"]["environment"]
    assert {"CAREPATH_DB_OWNER_PASSWORD", "CAREPATH_DB_APP_PASSWORD", "PREFECT_DB_PASSWORD"} <= set(
        env
    )


def test_the_app_connects_as_the_app_role_and_migrations_as_the_owner() -> None:
    for service in ("app", "worker", "migrate"):
        url = SERVICES[service]["environment"]["CAREPATH_DATABASE_URL"]
        assert url.startswith("postgresql+psycopg://carepath_app:")
    migrate = SERVICES["migrate"]["environment"]["CAREPATH_MIGRATION_DATABASE_URL"]
    assert migrate.startswith("postgresql+psycopg://carepath_owner:")
    for service in ("app", "worker"):
        assert "CAREPATH_MIGRATION_DATABASE_URL" not in SERVICES[service]["environment"]
    prefect = SERVICES["prefect-server"]["environment"]["PREFECT_API_DATABASE_CONNECTION_URL"]
    assert prefect.startswith("postgresql+asyncpg://prefect:")


def test_every_database_connection_is_tls_with_the_server_verified() -> None:
    command = " ".join(SERVICES["postgres"]["command"])
    assert "ssl=on" in command and "ssl_cert_file=/db-tls/server.crt" in command
    assert "hostssl all all all" in INIT  # the server refuses plain TCP
    tls_script = (ROOT / "deploy" / "db-tls.sh").read_text(encoding="utf-8")
    assert "subjectAltName=DNS:postgres" in tls_script
    for service in ("app", "worker", "migrate"):
        env = SERVICES[service]["environment"]
        for name in ("CAREPATH_DATABASE_URL", "CAREPATH_MIGRATION_DATABASE_URL"):
            if name in env:
                assert env[name].endswith("?sslmode=verify-full&sslrootcert=/db-tls/server.crt")
        assert "db-tls:/db-tls:ro" in SERVICES[service]["volumes"]
        assert "CAREPATH_DATABASE_ALLOW_PLAINTEXT" not in env
    prefect = SERVICES["prefect-server"]["environment"]
    assert prefect["PREFECT_SERVER_DATABASE_SQLALCHEMY_CONNECT_ARGS_TLS_ENABLED"] == "true"
    assert prefect["PREFECT_SERVER_DATABASE_SQLALCHEMY_CONNECT_ARGS_TLS_CA_FILE"] == (
        "/db-tls/server.crt"
    )
    assert SERVICES["postgres"]["depends_on"]["db-tls"]["condition"] == (
        "service_completed_successfully"
    )


def test_production_settings_accept_what_compose_passes(monkeypatch: pytest.MonkeyPatch) -> None:
    """The app's own production checks (TLS among them) pass on compose's environment."""
    from carepath.settings import Settings

    for service in ("app", "worker", "migrate"):
        for name, value in SERVICES[service]["environment"].items():
            if name.startswith("CAREPATH_"):
                monkeypatch.setenv(name, _substituted(str(value)))
        monkeypatch.setenv("CAREPATH_SMTP_PASSWORD", "")  # unset unless given
        settings = Settings()
        assert settings.environment == "production" and not settings.database_allow_plaintext
        assert settings.smtp_security == "starttls"


def test_tls_is_terminated_by_caddy_with_hsts_and_the_app_is_not_published() -> None:
    caddy = SERVICES["caddy"]
    assert caddy["image"].startswith("caddy:")  # the official image
    assert {"80:80", "443:443"} <= set(caddy["ports"])
    assert "./deploy/Caddyfile:/etc/caddy/Caddyfile:ro" in caddy["volumes"]
    assert "ports" not in SERVICES["app"]
    caddyfile = (ROOT / "deploy" / "Caddyfile").read_text(encoding="utf-8")
    hsts = re.search(r'Strict-Transport-Security "max-age=(\d+)', caddyfile)
    assert hsts and int(hsts.group(1)) >= 31536000  # a year at least
    assert "reverse_proxy app:8000" in caddyfile
    assert "{$CAREPATH_SITE_ADDRESS}" in caddyfile
    for service in SERVICES.values():
        for port in service.get("ports", []):
            assert str(port).split(":")[-1].split("/")[0] in (
                "80",
                "443",
            )  # nothing else is published
