"""Data flows down: flows/ and models/ never import the application shell (carepath/)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted([*(ROOT / "flows").rglob("*.py"), *(ROOT / "models").rglob("*.py")])


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_upward_imports(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""]
        for name in names:
            assert name.split(".")[0] != "carepath", f"{path.name}:{node.lineno} imports {name}"
    if path.parts[-2] == "models" or "models" in path.parts:
        text = path.read_text(encoding="utf-8")
        assert "import prefect" not in text and "from prefect" not in text
