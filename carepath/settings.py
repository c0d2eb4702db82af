"""The one settings class of carepath (environment prefix ``CAREPATH_``).

``CAREPATH_DATABASE_URL`` unset means the embedded PostgreSQL kept under
``CAREPATH_DATA_DIR``; any ``postgresql+psycopg://`` URL selects another
server. The clinic's IANA zone is ``CAREPATH_TIMEZONE``; all calendar
arithmetic happens there. Placeholder secrets are refused outside development.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PLACEHOLDER_SECRET = "change-me-development-only"  # noqa: S105 (a marker, refused in production)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CAREPATH_", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    data_dir: Path = Path(".carepath")
    database_url: str | None = Field(
        default=None,
        description="postgresql+psycopg:// URL; unset = embedded PostgreSQL under data_dir",
    )
    # Migrations run as the owner of the schema, the app as a role that cannot alter it
    # (nor update or delete the audit trail). Unset: migrations use database_url.
    migration_database_url: str | None = None
    # Production refuses a database URL without TLS (sslmode require / verify-ca /
    # verify-full, or a Unix socket) unless this says the network is trusted.
    database_allow_plaintext: bool = False
    timezone: str = Field(
        default="America/New_York",
        description="IANA zone of the clinic; day N of a course is a calendar day here",
    )
    # Tests and the demo only: every clock of carepath (web, flows, commands) reads this
    # instant instead of the system's, so a run is reproducible. Refused in production.
    fixed_now: datetime | None = Field(
        default=None, description="ISO 8601 instant with its UTC offset; tests and the demo only"
    )
    pathway: str = "rr-all-adult"
    pathway_version: str | None = None
    policy_file: Path | None = Field(
        default=None, description="YAML file of institution overrides of pathway defaults"
    )
    # Keys the HMAC under which session cookies are stored (carepath.security); a new
    # key ends every web session. Production needs 32 random bytes.
    secret_key: str = PLACEHOLDER_SECRET
    webhook_secret: str = PLACEHOLDER_SECRET
    # Which component owns the periodic schedules: the in-process APScheduler
    # clock of `carepath serve`, or Prefect deployments served by a worker.
    schedule_owner: Literal["apscheduler", "prefect"] = "apscheduler"
    smtp_host: str = "localhost"
    smtp_port: int = 25
    smtp_sender: str = "carepath@localhost"
    # starttls: upgrade the connection before anything is sent, refuse a server that
    # cannot; tls: TLS from the first byte (port 465); none: plain (a relay on this host).
    smtp_security: Literal["starttls", "tls", "none"] = "starttls"
    smtp_username: str | None = None
    smtp_password: str | None = None
    # A CA bundle for the SMTP server's certificate (default: the system's).
    smtp_ca_file: Path | None = None
    webhook_url: str | None = None
    # A folder where reminders are written as files instead of being sent (the demo's sink).
    reminder_sink_dir: Path | None = None
    # Where each role's reminders go: role -> ["channel:recipient", ...], channels
    # smtp (an address), webhook (a label sent with the POST to webhook_url) and
    # file (a folder name under reminder_sink_dir). Unset: derived from the sink
    # folder, or SMTP to <role>s@<sender domain>, plus the webhook when one is set.
    reminder_routes: dict[str, list[str]] | None = None
    reminder_max_attempts: int = Field(default=6, ge=1, le=50)
    # Backoff after a failed send: base * 2^(attempt - 1), capped.
    reminder_backoff_seconds: float = Field(default=60.0, gt=0)
    reminder_backoff_cap_seconds: float = Field(default=3600.0, gt=0)
    # How long a dispatcher owns the reminders it claimed; a crashed one's claims
    # are taken again after this.
    reminder_lease_seconds: float = Field(default=300.0, gt=0)
    send_timeout_seconds: float = Field(default=10.0, gt=0)
    # The review, signature and escalation hours and the review tasks' expiry are [DEFAULT]s
    # of the pathway definition (alert_review_hours, response_signature_hours,
    # escalation_grace_hours, review_expires_after_days): set them in
    # the policy file (policy_file), not here.
    web_host: str = "127.0.0.1"
    web_port: int = 8000
    # Web worker processes of `carepath serve` (the clock, if it owns the schedules, stays
    # one, in the supervising process). One is enough for a small clinic; a core each scales.
    web_workers: int = Field(default=1, ge=1, le=64)
    session_idle_minutes: int = 30
    # How often an open page asks whether its worklist changed (the nav count, new tasks).
    live_poll_seconds: int = Field(default=20, ge=1, le=600)
    # A session ends this long after sign-in however active it was (ASVS V3.3).
    session_absolute_hours: float = Field(default=12.0, gt=0, le=24 * 30)
    # After this many failed sign-ins or signature passwords for one account (or one
    # unknown name) within the lockout window, it is refused without checking the
    # password until the window has passed.
    login_max_failures: int = Field(default=5, ge=1)
    login_lockout_minutes: int = Field(default=15, ge=1)
    # Requests per client address and minute, counted in the database so every web
    # process shares the count (0: no limit): sign-in attempts, and API requests.
    login_rate_per_minute: int = Field(default=20, ge=0)
    api_rate_per_minute: int = Field(default=600, ge=0)
    # Days an API token lives (and the most a person may ask for).
    api_token_days: int = Field(default=90, ge=1, le=3650)
    # One line per request (method, route template, status, ms; never ids or values)
    # on stderr from `carepath serve`.
    access_log: bool = True
    # The largest request body the web app and API read (413 past it); 1 MiB holds the
    # API's largest batch (500 lab results) several times over.
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    batch_size: int = 2000
    # plan_care plans its pages in this many worker processes, each page end to
    # end in its own transaction (0: in the flow's own threads, under one GIL).
    plan_processes: int = Field(default=2, ge=0, le=32)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown IANA time zone {value!r}") from exc
        return value

    @field_validator("fixed_now")
    @classmethod
    def _aware_instant(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.utcoffset() is None:
            raise ValueError("needs its UTC offset, e.g. 2026-11-24T12:00:00-05:00")
        return value

    @field_validator("reminder_routes")
    @classmethod
    def _routes_name_known_channels(
        cls, value: dict[str, list[str]] | None
    ) -> dict[str, list[str]] | None:
        for role, entries in (value or {}).items():
            if role not in ("coordinator", "clinician", "quality", "admin"):
                raise ValueError(f"unknown role {role!r}")
            for entry in entries:
                channel, _, recipient = entry.partition(":")
                if channel not in ("smtp", "webhook", "file") or not recipient:
                    raise ValueError(
                        f"{entry!r} is not 'smtp:<address>', 'webhook:<label>' or 'file:<folder>'"
                    )
        return value

    @model_validator(mode="after")
    def _routed_channels_are_configured(self) -> Settings:
        for entries in (self.reminder_routes or {}).values():
            for entry in entries:
                if entry.startswith("webhook:") and not self.webhook_url:
                    raise ValueError("reminder_routes: a webhook route needs CAREPATH_WEBHOOK_URL")
                if entry.startswith("file:") and self.reminder_sink_dir is None:
                    raise ValueError(
                        "reminder_routes: a file route needs CAREPATH_REMINDER_SINK_DIR"
                    )
        return self

    @field_validator("database_url", "migration_database_url")
    @classmethod
    def _postgres_only(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not value.startswith(("postgresql+psycopg://", "postgresql://")):
            raise ValueError("must be a postgresql+psycopg:// URL (PostgreSQL is the only store)")
        if value.startswith("postgresql://"):
            value = "postgresql+psycopg://" + value.removeprefix("postgresql://")
        return value

    @model_validator(mode="after")
    def _no_placeholder_secrets_in_production(self) -> Settings:
        if self.environment == "production":
            for name in ("secret_key", "webhook_secret"):
                if getattr(self, name) == PLACEHOLDER_SECRET:
                    raise ValueError(f"CAREPATH_{name.upper()} must be set in production")
            from carepath.security import secret_key_problem

            weak = secret_key_problem(self.secret_key)
            if weak is not None:
                raise ValueError(f"CAREPATH_SECRET_KEY {weak}")
            if self.database_url is None:
                raise ValueError("CAREPATH_DATABASE_URL must be set in production")
            if self.fixed_now is not None:
                raise ValueError(
                    "CAREPATH_FIXED_NOW (a fixed clock) is for tests and the demo only"
                )
            if not self.database_allow_plaintext:
                for name in ("database_url", "migration_database_url"):
                    _require_tls(name, getattr(self, name))
        return self

    @model_validator(mode="after")
    def _connections_are_consistent(self) -> Settings:
        if self.migration_database_url and not self.database_url:
            raise ValueError(
                "CAREPATH_MIGRATION_DATABASE_URL needs CAREPATH_DATABASE_URL (the app's role)"
            )
        if self.smtp_password and self.smtp_security == "none":
            raise ValueError(
                "CAREPATH_SMTP_PASSWORD is never sent in the clear: set CAREPATH_SMTP_SECURITY "
                "to starttls or tls"
            )
        return self

    @property
    def uses_embedded_database(self) -> bool:
        return self.database_url is None


TLS_SSLMODES = ("require", "verify-ca", "verify-full")


def _require_tls(name: str, url: str | None) -> None:
    """A production database URL asks libpq for TLS, or reaches the server by a Unix socket."""
    if url is None:
        return
    from urllib.parse import parse_qs, urlparse

    parsed = urlparse(url)
    query = parse_qs(parsed.query)
    host = query.get("host", [parsed.hostname or ""])[0]
    if host.startswith("/") or query.get("sslmode", [""])[0] in TLS_SSLMODES:
        return
    raise ValueError(
        f"CAREPATH_{name.upper()} does not ask for TLS: add ?sslmode=verify-full&sslrootcert=<CA file> "
        "(or sslmode=require, encrypted but unverified), or set "
        "CAREPATH_DATABASE_ALLOW_PLAINTEXT=true if the connection never leaves a trusted network"
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
