"""pathways/ is pure: no storage, orchestration or web imports, and no clock of its own."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PATHWAYS = Path(__file__).resolve().parents[2] / "pathways"
FORBIDDEN_IMPORTS = (
    "sqlmodel",
    "sqlalchemy",
    "prefect",
    "fastapi",
    "psycopg",
    "models",
    "flows",
    "carepath",
)
FORBIDDEN_CALLS = {("datetime", "now"), ("datetime", "utcnow"), ("date", "today"), ("time", "time")}
SOURCES = sorted(PATHWAYS.rglob("*.py"))


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PATHWAYS)))
def test_module_is_pure(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    problems = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""]
        else:
            names = []
        for name in names:
            if name.split(".")[0] in FORBIDDEN_IMPORTS:
                problems.append(f"line {node.lineno}: imports {name}")
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = node.func.value
            owner_name = owner.id if isinstance(owner, ast.Name) else getattr(owner, "attr", "")
            if (owner_name, node.func.attr) in FORBIDDEN_CALLS:
                problems.append(f"line {node.lineno}: calls {owner_name}.{node.func.attr}()")
    assert not problems, f"{path.name} is not pure: {problems}"


def test_the_purity_check_sees_violations(tmp_path: Path) -> None:
    """The check above must be able to fail."""
    bad = tmp_path / "bad.py"
    bad.write_text("import sqlmodel\nfrom datetime import datetime\nx = datetime.now()\n")
    with pytest.raises(AssertionError, match="imports sqlmodel"):
        test_module_is_pure(bad)
