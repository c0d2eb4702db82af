"""The rule catalogue shipped with the engine is RULES.md's, regenerated and compared."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from pathways.definition import CATALOGUE_FILE, load_catalogue

ROOT = Path(__file__).resolve().parents[2]
RULES_MD = ROOT.parent / "shared" / "clinical" / "RULES.md"


def test_catalogue_matches_rules_md() -> None:
    if not RULES_MD.is_file():
        pytest.fail(
            f"{RULES_MD} not found: the clinical catalogue must sit beside the checkout (../shared)"
        )
    generated = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "extract_rules.py"), str(RULES_MD)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    shipped = CATALOGUE_FILE.read_text(encoding="utf-8")
    assert yaml.safe_load(generated) == yaml.safe_load(shipped), (
        "RULES.md changed: regenerate with `python tools/extract_rules.py ../shared/clinical/RULES.md "
        "> pathways/definitions/rules-catalogue.yaml` and review the diff"
    )


def test_every_rule_family_is_catalogued() -> None:
    catalogue = load_catalogue()
    families = {rule_id.split("-")[0] for rule_id in catalogue}
    assert families == {
        "SM", "DEF", "WU", "FIT", "IND", "BLIN", "INO", "CART", "REV", "NEL", "PH", "CHEMO",
        "CNS", "TEST", "RESP", "POST", "MULTI", "MON", "QM", "AMB", "OUT",
    }  # fmt: skip
    assert catalogue["INO-05"].section == "5.2"
    assert catalogue["IND-06b"].sources
    assert len(catalogue) >= 280
