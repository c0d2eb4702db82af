"""The one settings class: environment prefix, PostgreSQL only, IANA zone, production secrets."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from carepath.settings import Settings


def test_env_prefix_and_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAREPATH_TIMEZONE", "Europe/Berlin")
    monkeypatch.delenv("CAREPATH_DATABASE_URL", raising=False)
    settings = Settings()
    assert settings.timezone == "Europe/Berlin"
    assert settings.uses_embedded_database
    assert str(settings.data_dir) == ".carepath"


def test_any_postgres_url_selects_another_server(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAREPATH_DATABASE_URL", "postgresql://u:p@db.example:5432/carepath")
    settings = Settings()
    assert settings.database_url == "postgresql+psycopg://u:p@db.example:5432/carepath"
    assert not settings.uses_embedded_database


@pytest.mark.parametrize("url", ["sqlite:///carepath.db", "mysql://x@y/z"])
def test_only_postgresql(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    monkeypatch.setenv("CAREPATH_DATABASE_URL", url)
    with pytest.raises(ValidationError, match="PostgreSQL is the only store"):
        Settings()


def test_unknown_zone_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAREPATH_TIMEZONE", "Mars/Olympus_Mons")
    with pytest.raises(ValidationError, match="unknown IANA time zone"):
        Settings()


def test_production_refuses_placeholder_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAREPATH_ENVIRONMENT", "production")
    monkeypatch.setenv("CAREPATH_DATABASE_URL", "postgresql+psycopg://u:p@db/carepath")
    with pytest.raises(ValidationError, match="CAREPATH_SECRET_KEY must be set"):
        Settings()
    monkeypatch.setenv("CAREPATH_SECRET_KEY", "s3cret-from-vault")
    monkeypatch.setenv("CAREPATH_WEBHOOK_SECRET", "another-secret")
    assert Settings().environment == "production"


def test_plan_processes_reach_the_flows_runtime_with_a_picklable_rebuild(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import pickle

    from carepath.runtime import build_runtime

    monkeypatch.setenv("CAREPATH_PLAN_PROCESSES", "3")
    monkeypatch.setenv("CAREPATH_DATABASE_URL", "postgresql://u@db.example/carepath")
    settings = Settings()
    assert settings.plan_processes == 3
    runtime = build_runtime(settings)
    assert runtime.plan_processes == 3
    # What a planning worker receives, and what it builds from it: the same settings.
    rebuild = pickle.loads(pickle.dumps(runtime.rebuild))  # noqa: S301 (our own bytes)
    assert rebuild.args == (settings,)
    monkeypatch.setenv("CAREPATH_PLAN_PROCESSES", "-1")
    with pytest.raises(ValidationError):
        Settings()


def test_a_fixed_clock_is_for_tests_and_the_demo_only(monkeypatch: pytest.MonkeyPatch) -> None:
    from datetime import UTC, datetime

    from carepath import timeutil
    from carepath.settings import get_settings

    monkeypatch.setenv("CAREPATH_FIXED_NOW", "2026-11-24T12:00:00-05:00")
    get_settings.cache_clear()
    try:
        assert timeutil.now() == datetime(2026, 11, 24, 17, 0, tzinfo=UTC)
        assert timeutil.clinic_today("Asia/Tokyo").isoformat() == "2026-11-25"
    finally:
        get_settings.cache_clear()
    monkeypatch.setenv("CAREPATH_FIXED_NOW", "2026-11-24T12:00:00")
    with pytest.raises(ValidationError, match="needs its UTC offset"):
        Settings()
    monkeypatch.setenv("CAREPATH_FIXED_NOW", "2026-11-24T12:00:00Z")
    monkeypatch.setenv("CAREPATH_ENVIRONMENT", "production")
    monkeypatch.setenv("CAREPATH_DATABASE_URL", "postgresql+psycopg://u:p@db/carepath")
    monkeypatch.setenv("CAREPATH_SECRET_KEY", "s3cret-from-vault")
    monkeypatch.setenv("CAREPATH_WEBHOOK_SECRET", "another-secret")
    with pytest.raises(ValidationError, match="for tests and the demo only"):
        Settings()
