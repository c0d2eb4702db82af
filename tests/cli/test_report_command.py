"""`carepath report adherence` over the hand-built cohort: JSON, CSV, table and one HTML file."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from carepath.cli import app
from models.session import engine_for, transaction
from tests.models.adherence_cohort import NOW, build

runner = CliRunner()
PERIOD = ("--from", "2026-10-01", "--to", "2026-11-30")


@pytest.fixture
def cohort_db(cli_env: str, monkeypatch: pytest.MonkeyPatch) -> str:
    with transaction(engine_for(cli_env)) as session:
        build(session)
    monkeypatch.setattr("carepath.timeutil.now", lambda: NOW)
    return cli_env


def run(*args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, ["report", "adherence", *args])


def test_json_lists_every_indicator_with_its_figures_and_rules(cohort_db: str) -> None:
    # rule: QM-13, QM-11
    result = run(*PERIOD, "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["format"] == "carepath.adherence/1"
    assert data["period"] == {"from": "2026-10-01", "to": "2026-11-30"}
    by_id = {i["id"]: i for i in data["indicators"]}
    assert len(by_id) == 26
    qm13 = by_id["QM-13"]
    assert (qm13["numerator"], qm13["denominator"], qm13["excused"]) == (2, 3, 1)
    assert qm13["rate"] == pytest.approx(2 / 3)
    assert qm13["rule_ids"] == ["BLIN-02"]
    assert qm13["title"] == "Inpatient monitoring at blinatumomab start"
    assert qm13["defaults"] == [
        {"name": "blin_inpatient_cycle1_days", "value": 9, "unit": "days",
         "local_policy": True, "overridden": False},
    ]  # fmt: skip
    assert qm13["by_regimen"][0]["regimen"] == "blinatumomab"
    assert [m["month"] for m in qm13["by_month"]] == ["2026-10"]
    qm11 = by_id["QM-11"]
    assert qm11["computable"] is False and qm11["numerator"] is None and qm11["reason"]


def test_csv_has_totals_then_regimen_and_month_rows(cohort_db: str) -> None:
    result = run(*PERIOD, "--format", "csv")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.output)))
    total = next(r for r in rows if r["indicator"] == "QM-06" and r["scope"] == "total")
    assert (total["numerator"], total["denominator"]) == ("7", "10")
    regimen = {
        r["key"]: r["denominator"]
        for r in rows
        if r["indicator"] == "QM-06" and r["scope"] == "regimen"
    }
    assert regimen["blinatumomab"] == "4"
    assert any(r["scope"] == "month" and r["key"] == "2026-11" for r in rows)


def test_table_prints_every_indicator(cohort_db: str) -> None:
    result = run(*PERIOD)
    assert result.exit_code == 0, result.output
    for text in ("QM-01", "QM-20b", "OPT-MULTI-05", "2/3", "not computable"):
        assert text in result.output


def test_html_is_one_self_contained_file(cohort_db: str, tmp_path: Path) -> None:
    target = tmp_path / "adherence.html"
    result = run(*PERIOD, "--format", "html", "--output", str(target))
    assert result.exit_code == 0, result.output
    page = target.read_text(encoding="utf-8")
    assert page.startswith("<!doctype html>") and "<style>" in page and "<svg" in page
    # Nothing is fetched: no scripts, stylesheets, images, frames or remote URLs.
    for forbidden in ("<script", "<link", "<img", "<iframe", "@import", "url("):
        assert forbidden not in page, forbidden
    urls = set(re.findall(r"https?://[^\s\"'<>]+", page))
    assert urls <= {"http://www.w3.org/2000/svg"}
    # Figures only: no patient is named.
    assert "Cohort" not in page and "C-ANA" not in page
    assert "QM-13" in page and "Inpatient monitoring at blinatumomab start" in page
    assert "local policy" in page and "@media print" in page


def test_bad_input_is_one_line_naming_the_field(cli_env: str) -> None:
    bad_date = run("--from", "October", "--to", "2026-11-30")
    assert bad_date.exit_code == 2
    assert bad_date.output.strip() == "carepath: error: from: 'October' is not a date (YYYY-MM-DD)"
    backwards = run("--from", "2026-11-30", "--to", "2026-10-01")
    assert backwards.exit_code == 2 and "to: the period ends before it starts" in backwards.output
    fmt = run(*PERIOD, "--format", "pdf")
    assert fmt.exit_code == 2 and "format: one of table, csv, json, html" in fmt.output


def test_snapshot_arguments_are_checked_before_anything_runs(cli_env: str) -> None:
    lone = runner.invoke(app, ["report", "snapshot", "--from", "2026-10-01"])
    assert lone.exit_code == 2 and "to: --from and --to go together" in lone.output
    backwards = runner.invoke(
        app, ["report", "snapshot", "--from", "2026-10-31", "--to", "2026-10-01"]
    )
    assert backwards.exit_code == 2 and "to: the period ends before it starts" in backwards.output


@pytest.mark.slow
def test_snapshot_runs_the_flow_once_and_replaces_the_period(cli_env: str, tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    with transaction(engine_for(cli_env)) as session:
        build(session)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "CAREPATH_"))}
    env |= {
        "CAREPATH_DATABASE_URL": cli_env,
        "CAREPATH_DATA_DIR": str(tmp_path / "data"),
        "CAREPATH_TIMEZONE": "America/New_York",
    }
    command = [str(Path(sys.executable).parent / "carepath"), "report", "snapshot",
               "--from", "2026-10-01", "--to", "2026-10-31"]  # fmt: skip
    for _ in range(2):  # a re-run replaces the period's snapshot
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=180, check=False)  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == (
            "stored adherence snapshots for 2026-10-01..2026-10-31 (24 indicator rows)"
        )
    from sqlalchemy import func, select

    from models.ops import AdherenceSnapshot

    with transaction(engine_for(cli_env)) as session:
        assert session.execute(select(func.count()).select_from(AdherenceSnapshot)).scalar() == 24
