"""Every rule id the schedule data or code cites is named by a test.

The schedules cite rule ids in their definition files (``rule``, ``also``,
the ``rules`` of their defaults) and in code (predicates, dose rules); a rule
the engine claims to implement must be exercised by a test that names it.
"""

from __future__ import annotations

import re
from pathlib import Path

from pathways.definition import DEFINITIONS_DIR, load_catalogue

ROOT = Path(__file__).resolve().parents[2]
RULE_ID = re.compile(
    r"\b(?:AMB|BLIN|CART|CHEMO|CNS|DEF|FIT|IND|INO|MON|MULTI|NEL|PH|POST|QM|RESP|REV|SM|TEST|WU)-(?:\d{2}[a-h]?|P\d)\b"
)
FOLDER = DEFINITIONS_DIR / "rr-all-adult" / "2026.1"
SOURCES = [
    *sorted(FOLDER.glob("regimens-*.yaml")),
    FOLDER / "followup.yaml",
    FOLDER / "workup.yaml",
    FOLDER / "defaults-schedules.yaml",
    *sorted((ROOT / "pathways" / "schedules").glob("*.py")),
    ROOT / "pathways" / "workup.py",
]


def cited() -> set[str]:
    ids: set[str] = set()
    for path in SOURCES:
        ids.update(RULE_ID.findall(path.read_text(encoding="utf-8")))
    return ids


def named_in_tests() -> set[str]:
    ids: set[str] = set()
    for path in (ROOT / "tests" / "pathways").glob("test_*.py"):
        if path.name != Path(__file__).name:
            ids.update(RULE_ID.findall(path.read_text(encoding="utf-8")))
    return ids


def test_every_cited_rule_id_exists_in_the_catalogue() -> None:
    assert cited() - set(load_catalogue()) == set()


def test_every_cited_rule_id_is_named_by_a_test() -> None:
    missing = sorted(cited() - named_in_tests())
    assert not missing, f"rule ids cited by the schedules without a test naming them: {missing}"
