"""Which rules of RULES.md the code implements, which tests name them, and which are left out.

A rule id counts as *implemented* when the engine cites it — in ``pathways/``
code or in the pathway definition's data (the catalogue itself and the
``not_implemented`` section do not count) — and as *tested* when test code
under ``tests/`` names it (a ``.py`` file), or the golden scenarios' README
lists it under "Rules checked" for a golden whose output cites it (that claim
is itself verified by tests/golden/test_golden.py). The goldens' expected JSON
files do not count: they are engine output, and would "name" every rule the
engine emits. Every other id must appear in the definition's
``not_implemented`` section with a reason. This reads the source tree, so it
runs from a checkout (the test tree is not installed with the package).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import yaml

from pathways.definition import CATALOGUE_FILE, Definition, load_catalogue

ROOT = Path(__file__).resolve().parents[1]
RULE_ID = re.compile(
    r"\b(SM-(?:\d{2}|P\d)|(?:DEF|WU|FIT|IND|BLIN|INO|CART|REV|NEL|PH|CHEMO|CNS|TEST|RESP|POST|MULTI|MON|QM|AMB|OUT)-\d{2}[a-z]?)\b"
)


@dataclass(frozen=True)
class RuleCoverage:
    rule_id: str
    section: str
    status: str  # tested | implemented | not_implemented | missing
    implemented_in: tuple[str, ...]
    tested_in: tuple[str, ...]
    reason: str | None = None


def _ids_in(paths: Iterable[Path], root: Path) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in paths:
        text = path.read_text(encoding="utf-8", errors="replace")
        if path.suffix in (".yaml", ".yml"):
            data = yaml.safe_load(text) or {}
            if isinstance(data, dict) and "not_implemented" in data:
                data = {k: v for k, v in data.items() if k != "not_implemented"}
                text = yaml.safe_dump(data)
        for rule_id in set(RULE_ID.findall(text)):
            found.setdefault(rule_id, set()).add(str(path.relative_to(root)))
    return found


def implementation_sources(root: Path = ROOT) -> list[Path]:
    sources = sorted((root / "pathways").rglob("*.py"))
    sources += sorted(
        p for p in (root / "pathways" / "definitions").rglob("*.yaml") if p != CATALOGUE_FILE
    )
    return sources


GOLDEN_README = Path("tests") / "golden" / "README.md"
# The tests of this gate name rule ids as data, not as tests of those rules.
GATE_TESTS = frozenset({"tests/test_coverage.py", "tests/cli/test_rules_command.py"})


def test_sources(root: Path = ROOT) -> list[Path]:
    sources = sorted(
        p
        for p in (root / "tests").rglob("*.py")
        if p.relative_to(root).as_posix() not in GATE_TESTS
    )
    if (root / GOLDEN_README).is_file():
        sources.append(root / GOLDEN_README)
    return sources


def coverage(definition: Definition, root: Path = ROOT) -> list[RuleCoverage]:
    catalogue = load_catalogue()
    implemented = _ids_in(implementation_sources(root), root)
    tested = _ids_in(test_sources(root), root) if (root / "tests").is_dir() else {}
    reasons: dict[str, str] = definition.section("not_implemented") or {}
    rows = []
    for rule_id, info in catalogue.items():
        where = tuple(sorted(implemented.get(rule_id, ())))
        tests = tuple(sorted(tested.get(rule_id, ())))
        if where:
            status = "tested" if tests else "implemented"
        elif rule_id in reasons:
            status = "not_implemented"
        else:
            status = "missing"
        rows.append(
            RuleCoverage(
                rule_id=rule_id,
                section=info.section,
                status=status,
                implemented_in=where,
                tested_in=tests,
                reason=reasons.get(rule_id),
            )
        )
    return rows
