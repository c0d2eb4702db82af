"""The job commands run their flow once under Prefect and print our lines only: no Prefect noise."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

CARPATH = str(Path(sys.executable).parent / "carepath")


def run(
    args: list[str], database_url: str, data_dir: Path, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "CAREPATH_"))}
    env.update(
        {
            "CAREPATH_DATABASE_URL": database_url,
            "CAREPATH_DATA_DIR": str(data_dir),
            "CAREPATH_TIMEZONE": "America/New_York",
            "COLUMNS": "200",
        }
    )
    return subprocess.run(
        [CARPATH, *args], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


@pytest.mark.slow
def test_a_job_command_starts_its_own_quiet_prefect_and_prints_only_its_counts(
    database_url: str, tmp_path: Path
) -> None:
    """No PREFECT_API_URL: a local Prefect server runs for the command, its output in a log file."""
    data = tmp_path / "data"
    result = run(["escalate"], database_url, data)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "0 overdue reminders queued, 0 tasks escalated"
    assert result.stderr == ""
    home = data / "prefect"
    assert (home / "prefect.db").exists()  # Prefect's home is under the data folder
    assert "Traceback" not in (home / "server.log").read_text()

    again = run(["evaluate-results", "--json"], database_url, data)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["observations"] == 0
    assert again.stderr == ""


def test_a_bad_date_is_one_line_naming_the_field(cli_env: str) -> None:
    from typer.testing import CliRunner

    from carepath.cli import app

    result = CliRunner().invoke(app, ["plan", "--as-of", "2026-13-40"])
    assert result.exit_code == 2
    assert (
        result.output.strip() == "carepath: error: as-of: '2026-13-40' is not a date (YYYY-MM-DD)"
    )


@pytest.mark.slow
def test_plan_runs_the_real_engine_once_and_a_second_run_changes_nothing(
    database_url: str, tmp_path: Path
) -> None:
    from carepath.demo.loader import load_cohort
    from carepath.pathway import active_definition
    from models.session import engine_for, transaction

    with transaction(engine_for(database_url)) as session:
        load_cohort(
            session,
            today=__import__("datetime").date(2026, 11, 24),
            timezone="America/New_York",
            definition=active_definition(),
        )
    data = tmp_path / "data"
    first = run(["plan", "--as-of", "2026-11-24", "--json"], database_url, data)
    assert first.returncode == 0, first.stderr
    assert first.stderr == ""
    stats = json.loads(first.stdout)
    assert stats["patients"] == 25 and stats["created"] > 100 and stats["problems"] == 0
    second = run(["plan", "--as-of", "2026-11-24"], database_url, data)
    assert second.returncode == 0 and second.stderr == ""
    assert second.stdout.startswith(
        "planned 25 patients as of 2026-11-24: 0 created, 0 updated, 0 cancelled"
    )
