"""`carepath rules`: a readable table, a status filter, and a JSON form."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from carepath.cli import app
from carepath.settings import get_settings

runner = CliRunner()


@pytest.fixture(autouse=True)
def shipped_pathway(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("CAREPATH_POLICY_FILE", "CAREPATH_PATHWAY", "CAREPATH_PATHWAY_VERSION"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_json_lists_every_rule_with_counts() -> None:
    result = runner.invoke(app, ["rules", "--json"])
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["pathway"] == {"name": "rr-all-adult", "version": "2026.1"}
    rules = document["rules"]
    assert len(rules) == document["total"] == sum(document["counts"].values())
    by_id = {r["id"]: r for r in rules}
    assert by_id["INO-05"]["status"] == "tested"
    assert by_id["INO-05"]["implemented_in"] and by_id["INO-05"]["tested_in"]
    assert by_id["OUT-01"]["status"] == "not_implemented" and by_id["OUT-01"]["reason"]
    # RULES.md order: §0.5 first, and SM-01 before the parallel track SM-P1.
    ids = [r["id"] for r in rules]
    assert ids[0] == "SM-01" and ids.index("SM-13") < ids.index("SM-P1") < ids.index("DEF-01")


@pytest.mark.parametrize("status", ["tested", "not_implemented", "missing", "implemented"])
def test_status_filter(status: str) -> None:
    result = runner.invoke(app, ["rules", "--json", "--status", status])
    assert result.exit_code == 0
    document = json.loads(result.stdout)
    assert all(r["status"] == status for r in document["rules"])
    assert len(document["rules"]) == document["counts"][status]


def test_table_is_readable() -> None:
    result = runner.invoke(app, ["rules", "--status", "not_implemented"], terminal_width=140)
    assert result.exit_code == 0
    assert "Rules of rr-all-adult@2026.1" in result.stdout
    assert "BLIN-07" in result.stdout and "Event-driven" in result.stdout
    assert "missing: 0" in result.stdout


def test_unknown_status_exits_2() -> None:
    result = runner.invoke(app, ["rules", "--status", "done"])
    assert result.exit_code == 2 and result.stdout == ""
    assert "status: must be one of" in result.stderr
