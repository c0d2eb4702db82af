"""`carepath evaluate` as a command: the installed entry point, stdin, exit codes 0/2/1.

The clinical content is checked by the goldens (tests/golden); here the
contract of CASE-FORMAT.md around them: the evaluation on stdout and nothing
else; invalid input exits 2 with one line on stderr naming the field and
nothing on stdout; an internal error exits 1.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from carepath.cli import app
from carepath.settings import get_settings

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "golden"
CASE = GOLDEN / "cases" / "07-inotuzumab-cycle-1-liver-hold.json"
EXPECTED = GOLDEN / "expected" / CASE.name
CAREPATH = Path(sys.executable).with_name("carepath")

runner = CliRunner()


@pytest.fixture(autouse=True)
def shipped_pathway(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("CAREPATH_POLICY_FILE", "CAREPATH_PATHWAY", "CAREPATH_PATHWAY_VERSION"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def clean_env() -> dict[str, str]:
    env = dict(os.environ)
    for name in ("CAREPATH_POLICY_FILE", "CAREPATH_PATHWAY", "CAREPATH_PATHWAY_VERSION"):
        env.pop(name, None)
    return env


def test_installed_entry_point_prints_the_evaluation_and_only_it() -> None:
    # The real console script, as a user runs it (a subprocess).
    assert CAREPATH.is_file(), "carepath is installed into the virtualenv by make install"
    done = subprocess.run(
        [str(CAREPATH), "evaluate", str(CASE)],
        capture_output=True,
        text=True,
        check=False,
        env=clean_env(),
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert json.loads(done.stdout) == json.loads(EXPECTED.read_text(encoding="utf-8"))


def test_installed_entry_point_invalid_input_exits_2_with_nothing_on_stdout() -> None:
    case = GOLDEN / "invalid" / "naive-lab-timestamp.json"
    done = subprocess.run(
        [str(CAREPATH), "evaluate", str(case)],
        capture_output=True,
        text=True,
        check=False,
        env=clean_env(),
        timeout=120,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr == case.with_suffix(".err").read_text(encoding="utf-8")


def test_case_from_stdin() -> None:
    result = runner.invoke(app, ["evaluate", "-"], input=CASE.read_text(encoding="utf-8"))
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == json.loads(EXPECTED.read_text(encoding="utf-8"))


def test_missing_file_names_the_argument() -> None:
    result = runner.invoke(app, ["evaluate", "no-such-case.json"])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == "carepath: error: case: file 'no-such-case.json' not found\n"


def test_not_an_object() -> None:
    result = runner.invoke(app, ["evaluate", "-"], input="[1, 2, 3]")
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr == "carepath: error: (case): must be a JSON object\n"


def test_unknown_pathway_version_names_the_option() -> None:
    result = runner.invoke(app, ["evaluate", str(CASE), "--pathway-version", "1999.9"])
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.startswith("carepath: error: pathway-version: no version '1999.9'")


def test_an_internal_error_exits_1_with_nothing_on_stdout(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_args: object) -> None:
        raise RuntimeError("engine bug")

    monkeypatch.setattr("pathways.engine.evaluate", broken)
    result = runner.invoke(app, ["evaluate", str(CASE)])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert isinstance(result.exception, RuntimeError)
