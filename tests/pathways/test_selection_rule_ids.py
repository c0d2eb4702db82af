"""Every rule id that induction selection, response classification or monitoring
cites in code is named by at least one of their tests, and exists in RULES.md."""

from __future__ import annotations

import re
from pathlib import Path

from pathways.definition import load_catalogue

ROOT = Path(__file__).resolve().parents[2]
CODE = [
    *sorted((ROOT / "pathways" / "selection").glob("*.py")),
    ROOT / "pathways" / "response.py",
    ROOT / "pathways" / "monitoring.py",
]
TESTS = [
    p
    for pattern in ("test_selection*.py", "test_response*.py", "test_monitoring*.py")
    for p in sorted((ROOT / "tests" / "pathways").glob(pattern))
    if p.name != Path(__file__).name
]
RULE_ID = re.compile(r"\b(?:[A-Z]{2,5}-\d{2}[a-z]?)\b")


def _ids(paths: list[Path]) -> set[str]:
    return {m for p in paths for m in RULE_ID.findall(p.read_text(encoding="utf-8"))}


def test_every_cited_rule_id_exists_in_the_catalogue() -> None:
    unknown = _ids(CODE) - set(load_catalogue())
    assert not unknown, f"rule ids cited in code but not in RULES.md: {sorted(unknown)}"


def test_every_cited_rule_id_is_named_by_a_test() -> None:
    untested = _ids(CODE) - _ids(TESTS)
    assert not untested, f"rule ids cited in code that no test names: {sorted(untested)}"
