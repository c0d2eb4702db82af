"""The rule-coverage gate: every rule of RULES.md is implemented and tested, or left out with a reason.

carepath.coverage reads the tree: a rule is *implemented* when pathways/ code or
definition data cites it, *tested* when test code (or the checked "Rules
checked" lines of the golden README) names it. These tests fail when

- an implemented rule has no test naming it;
- a rule of RULES.md is neither implemented nor listed in the definition's
  ``not_implemented`` section with a reason;
- a rule is listed as not implemented although the engine now cites it (the
  stale entry must go, e.g. a QM-* indicator once the adherence data cites it).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from carepath.coverage import RuleCoverage, coverage
from pathways.definition import CATALOGUE_FILE, load_catalogue, shipped_definition

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def rows() -> list[RuleCoverage]:
    return coverage(shipped_definition(), ROOT)


def test_every_rule_of_rules_md_is_accounted_for(rows: list[RuleCoverage]) -> None:
    missing = [r.rule_id for r in rows if r.status == "missing"]
    assert not missing, (
        f"rule ids neither implemented nor listed in not-implemented.yaml with a reason: {missing}"
    )
    assert {r.rule_id for r in rows} == set(load_catalogue())


def test_every_implemented_rule_is_named_by_a_test(rows: list[RuleCoverage]) -> None:
    untested = {r.rule_id: r.implemented_in for r in rows if r.status == "implemented"}
    assert not untested, f"implemented rule ids that no test names: {untested}"


def test_not_implemented_entries_are_not_cited_by_the_engine(rows: list[RuleCoverage]) -> None:
    reasons = shipped_definition().section("not_implemented") or {}
    stale = {r.rule_id: r.implemented_in for r in rows if r.rule_id in reasons and r.implemented_in}
    assert not stale, f"listed as not implemented but cited by the engine (remove them): {stale}"


def test_statuses_on_a_small_tree(tmp_path: Path) -> None:
    # The gate's own logic on a tree of four files: code, data, a test, a golden.
    (tmp_path / "pathways" / "definitions").mkdir(parents=True)
    (tmp_path / "tests" / "golden" / "expected").mkdir(parents=True)
    (tmp_path / "pathways" / "engine.py").write_text('RULE = "INO-05"  # also INO-06\n')
    (tmp_path / "pathways" / "definitions" / "data.yaml").write_text(
        "regimens:\n  x: {rule: NEL-01}\nnot_implemented:\n  REV-08: a reason of a sentence.\n"
    )
    (tmp_path / "tests" / "test_x.py").write_text("# rule: INO-05\n")
    # Engine output that happens to cite NEL-01 does not make NEL-01 tested.
    (tmp_path / "tests" / "golden" / "expected" / "a.json").write_text('{"rule_id": "NEL-01"}')
    (tmp_path / "tests" / "golden" / "README.md").write_text("Rules checked: INO-06\n")
    status = {r.rule_id: r.status for r in coverage(shipped_definition(), tmp_path)}
    assert status["INO-05"] == "tested"  # cited by code, named by a test
    assert status["INO-06"] == "tested"  # cited in a comment, named in the golden README
    assert status["NEL-01"] == "implemented"  # cited by data, named only by engine output
    assert status["REV-08"] == "not_implemented"  # shipped definition lists it
    assert status["REV-01"] == "missing"


def test_the_catalogue_itself_does_not_count_as_implementation(rows: list[RuleCoverage]) -> None:
    for r in rows:
        assert str(CATALOGUE_FILE.relative_to(ROOT)) not in r.implemented_in
