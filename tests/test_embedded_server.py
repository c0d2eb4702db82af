"""The embedded PostgreSQL runs with the project's server settings (carepath.embedded_db)."""

from __future__ import annotations

import os

import psycopg
import pytest

from carepath.embedded_db import SERVER_SETTINGS


@pytest.mark.skipif(bool(os.environ.get("TEST_DATABASE_URL")), reason="an external server")
def test_the_embedded_server_runs_with_its_settings(pg_admin_uri: str) -> None:
    with psycopg.connect(pg_admin_uri) as conn:
        for name, value in SERVER_SETTINGS.items():
            same = conn.execute(
                "SELECT pg_size_bytes(current_setting(%s)) = pg_size_bytes(%s)", (name, value)
            ).fetchone()
            assert same == (True,), name
