"""Control characters at the command line and in case files: exit 2 naming the field, nothing written.

The check is ``pathways.core.text``'s, the one the web door uses.
"""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from carepath.cli import app
from tests.cli.test_patient_commands import ADD, patient_count
from tests.pathways.factories import case

runner = CliRunner()


def test_a_nul_in_any_argument_is_refused_before_the_command_runs(cli_env: str) -> None:
    args = list(ADD)
    args[args.index("--name") + 1] = "Ada\x00Example"
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert result.stderr == (
        "carepath: error: --name: contains an invisible control character (NUL) at position 4; "
        "type the text again without it\n"
    )
    assert patient_count(cli_env) == 0
    reason = runner.invoke(
        app, ["transition", "1", "document_rr_diagnosis", "--actor", "Dr B", "--reason=a\x1bb"]
    )
    assert (
        reason.exit_code == 2
        and "--reason: contains an invisible control character (U+001B)" in (reason.stderr)
    )


def test_a_nul_in_a_case_file_names_its_path(cli_env: str, tmp_path: Path) -> None:
    path = tmp_path / "case.json"
    path.write_text(json.dumps(case(**{"medications": ["posa\x00conazole"]})))
    added = runner.invoke(
        app, ["patient", "add", "--mrn", "C-1", "--name", "X Y", "--case", str(path)]
    )
    assert added.exit_code == 2
    assert "medications[0]: contains an invisible control character (NUL)" in added.stderr
    assert patient_count(cli_env) == 0
    evaluated = runner.invoke(app, ["evaluate", str(path)])
    assert evaluated.exit_code == 2 and evaluated.stdout == ""
    assert "medications[0]: contains an invisible control character (NUL)" in evaluated.stderr


def test_markup_in_a_name_is_refused(cli_env: str) -> None:
    args = list(ADD)
    args[args.index("--name") + 1] = "<script>alert(1)</script>"
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert "--name: must be a name, without markup such as < > or &…; codes" in result.stderr
    assert patient_count(cli_env) == 0
