"""Plausible patients at the command line and in case files: every problem at once, named.

Limits are [DEFAULT]s of the definition; a policy file overrides them. The
adolescent alert cites the seed's age-bound statements (NEL-01, NEL-02,
AMB-15): no rule covers adolescents.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from carepath.cli import app
from models.patient import Patient
from models.session import engine_for, transaction
from models.task import ClinicalAlert
from tests.cli.test_patient_commands import ADD, patient_count
from tests.pathways.factories import case

runner = CliRunner()


def add(*changes: str):  # type: ignore[no-untyped-def]
    args = list(ADD)
    for flag, value in zip(changes[::2], changes[1::2], strict=True):
        if flag in args:
            args[args.index(flag) + 1] = value
        else:
            args += [flag, value]
    return runner.invoke(app, args)


def test_every_bad_option_is_one_line_naming_the_option(cli_env: str) -> None:
    result = add("--weight-kg", "0.4", "--height-cm", "16", "--birth-date", "2020-05-01",
                 "--name", "<b>Ada</b>", "--relapses", "2099-01-01")  # fmt: skip
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert all(line.startswith("carepath: error: --") for line in lines)
    by_option = dict(line.removeprefix("carepath: error: ").split(": ", 1) for line in lines)
    assert set(by_option) == {"--name", "--weight-kg", "--height-cm", "--relapses", "--birth-date"}
    assert by_option["--weight-kg"] == (
        "0.4 kg is not plausible for an adult: it must be between 20 and 300 kg (is it in "
        "kilograms?)"
    )
    assert by_option["--birth-date"] == (
        "gives an age of 6: this pathway is for adults (18 years and over) and does not accept "
        "a patient under 12"
    )
    assert by_option["--relapses"].startswith("is in the future (after ")
    assert patient_count(cli_env) == 0


def test_an_adolescent_is_added_only_when_confirmed_and_carries_the_alert(cli_env: str) -> None:
    refused = add("--birth-date", "2011-03-01")
    assert refused.exit_code == 2
    assert "--confirm-adolescent: the patient is " in refused.stderr
    assert patient_count(cli_env) == 0
    args = list(ADD)
    args[args.index("--birth-date") + 1] = "2011-03-01"
    added = runner.invoke(app, [*args, "--confirm-adolescent"])
    assert added.exit_code == 0, added.stderr
    with transaction(engine_for(cli_env)) as session:
        alert = session.execute(select(ClinicalAlert)).scalar_one()
        assert alert.severity.value == "critical" and alert.acknowledged_at is None
        assert "NEL-01" in alert.message and "AMB-15" in alert.message


def test_a_case_file_names_the_paths_in_the_file(cli_env: str, tmp_path: Path) -> None:
    path = tmp_path / "case.json"
    path.write_text(json.dumps(case(**{"patient.weight_kg": 350, "patient.height_cm": 120})))
    result = runner.invoke(
        app, ["patient", "add", "--mrn", "c-1", "--name", "<X>", "--case", str(path)]
    )
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "carepath: error: --name: must be a name, without markup such as < > or &…; codes",
        "carepath: error: patient.weight_kg: 350 kg is not plausible for an adult: it must be "
        "between 20 and 300 kg (is it in kilograms?)",
    ]
    assert patient_count(cli_env) == 0


def test_evaluate_refuses_an_implausible_case(tmp_path: Path) -> None:
    path = tmp_path / "child.json"
    path.write_text(
        json.dumps(case(**{"patient.birth_date": "2020-05-01", "patient.height_cm": 16}))
    )
    result = runner.invoke(app, ["evaluate", str(path)])
    assert result.exit_code == 2 and result.stdout == ""
    assert "patient.height_cm: 16 cm is not plausible for an adult" in result.stderr
    assert "patient.birth_date: gives an age of 6: this pathway is for adults" in result.stderr


def test_the_policy_file_moves_the_limits(
    cli_env: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from carepath.pathway import _load
    from carepath.settings import get_settings

    policy = tmp_path / "policy.yaml"
    policy.write_text(
        "defaults:\n  pathway_minimum_age_years: 16\n  patient_weight_kg: [45, 300]\n"
    )
    monkeypatch.setenv("CAREPATH_POLICY_FILE", str(policy))
    get_settings.cache_clear()
    _load.cache_clear()
    result = add("--birth-date", "2011-03-01", "--weight-kg", "40")
    assert result.exit_code == 2
    assert "does not accept a patient under 16" in result.stderr
    assert "between 45 and 300 kg" in result.stderr


def test_the_mrn_is_stored_normalised(cli_env: str) -> None:
    assert add("--mrn", " mrn-abc ").exit_code == 0
    with transaction(engine_for(cli_env)) as session:
        assert session.execute(select(Patient.mrn)).scalar_one() == "MRN-ABC"
