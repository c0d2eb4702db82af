"""docker-compose.yml cannot run here (no Docker engine); keep it correct by reading it."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
SERVICES = COMPOSE["services"]
REQUIRED_SECRETS = ("POSTGRES_PASSWORD", "CAREPATH_SECRET_KEY", "CAREPATH_WEBHOOK_SECRET")


def test_production_services_are_all_there() -> None:
    assert {"postgres", "prefect-server", "worker", "app", "migrate"} <= set(SERVICES)


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


def test_the_prefect_database_is_created_on_first_start() -> None:
    init = (ROOT / "deploy" / "postgres-init.sql").read_text(encoding="utf-8")
    assert "CREATE DATABASE prefect" in init
    mount = SERVICES["postgres"]["volumes"]
    assert any("postgres-init.sql:/docker-entrypoint-initdb.d/" in m for m in mount)
