"""The embedded PostgreSQL runs with the project's server settings (carepath.embedded_db)."""

from __future__ import annotations

import os

import psycopg
import pytest

from carepath.embedded_db import SERVER_SETTINGS, setting_differs


@pytest.mark.skipif(bool(os.environ.get("TEST_DATABASE_URL")), reason="an external server")
def test_the_embedded_server_runs_with_its_settings(pg_admin_uri: str) -> None:
    with psycopg.connect(pg_admin_uri) as conn:
        for name, value in SERVER_SETTINGS.items():
            assert not setting_differs(conn, name, value), name
