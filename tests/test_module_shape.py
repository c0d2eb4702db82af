"""Small, named rooms (issue 13 pt 5; STYLE.md habit 13): no module over 600 lines, no
function over 80, no function of McCabe complexity over 15 — with no allow-list.

An ast reading of every module of ``pathways``, ``models``, ``flows``,
``carepath``, ``migrations`` (not its generated ``versions``), ``bench``,
``tools`` and ``tests``. A function counts from its ``def`` line to its last
line, docstring included; test functions are exempt from the function limit
(a test reads as one story), test modules are not from the module limit. The
complexity limit is ruff's (``C90`` and ``[tool.ruff.lint.mccabe]`` in
pyproject.toml, run by ``make test``'s lint); a test here shows the configured
rule sees a function one branch over it. Each check is shown to fail on a
synthetic violation, so none passes vacuously.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("pathways", "models", "flows", "carepath", "migrations", "bench", "tools", "tests")
GENERATED = ("migrations/versions/",)
# Where the function limit does not apply (test functions).
NO_FUNCTION_LIMIT = ("tests/",)
MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 80
MAX_COMPLEXITY = 15


def sources(root: Path = ROOT) -> list[Path]:
    found = []
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            if not path.relative_to(root).as_posix().startswith(GENERATED):
                found.append(path)
    return found


def shape_problems(name: str, text: str) -> list[str]:
    """What is too long in the module ``name`` (a path relative to the root) of source ``text``."""
    problems = []
    lines = len(text.splitlines())
    if lines > MAX_MODULE_LINES:
        problems.append(f"{name}: {lines} lines (at most {MAX_MODULE_LINES})")
    if name.startswith(NO_FUNCTION_LIMIT):
        return problems
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            length = (node.end_lineno or node.lineno) - node.lineno + 1
            if length > MAX_FUNCTION_LINES:
                problems.append(
                    f"{name}:{node.lineno} {node.name} is {length} lines "
                    f"(at most {MAX_FUNCTION_LINES})"
                )
    return problems


def project_problems(root: Path = ROOT) -> list[str]:
    return [
        problem
        for path in sources(root)
        for problem in shape_problems(
            path.relative_to(root).as_posix(), path.read_text(encoding="utf-8")
        )
    ]


def test_no_module_over_600_lines_and_no_function_over_80() -> None:
    problems = project_problems()
    assert not problems, "too long; split into named steps:\n" + "\n".join(problems)


def test_every_package_is_read() -> None:
    """A package renamed or moved away would otherwise leave its modules unchecked."""
    read = {path.relative_to(ROOT).parts[0] for path in sources()}
    assert read == set(PACKAGES)
    assert not any(p.relative_to(ROOT).as_posix().startswith(GENERATED) for p in sources())


# The checks must be able to fail: each sees a deliberate violation.


def _function(lines: int, name: str = "f") -> str:
    """A function of exactly ``lines`` lines, ``def`` and docstring included."""
    return (
        f'def {name}() -> int:\n    """Docstring."""\n'
        + "    x = 1\n" * (lines - 3)
        + "    return x\n"
    )


def test_the_check_sees_an_over_long_module_and_function() -> None:
    assert shape_problems("pathways/ok.py", _function(80)) == []
    assert shape_problems("bench/long.py", _function(81, "long")) == [
        "bench/long.py:1 long is 81 lines (at most 80)"
    ]
    method = "class C:\n" + "".join(f"    {line}\n" for line in _function(81, "m").splitlines())
    assert shape_problems("models/c.py", method) == ["models/c.py:2 m is 81 lines (at most 80)"]
    assert shape_problems("carepath/big.py", "x = 1\n" * 601) == [
        "carepath/big.py: 601 lines (at most 600)"
    ]
    assert shape_problems("tools/fine.py", "x = 1\n" * 600) == []
    # Tests: the module limit holds, the function limit does not.
    assert shape_problems("tests/test_story.py", _function(200)) == []
    assert shape_problems("tests/test_big.py", "x = 1\n" * 601) == [
        "tests/test_big.py: 601 lines (at most 600)"
    ]


def test_the_check_reads_a_tree_as_the_project_is_read(tmp_path: Path) -> None:
    for package in PACKAGES:
        (tmp_path / package).mkdir()
    (tmp_path / "flows" / "long.py").write_text(_function(81, "run"), encoding="utf-8")
    (tmp_path / "migrations" / "versions").mkdir()
    (tmp_path / "migrations" / "versions" / "0001_big.py").write_text("x = 1\n" * 900)
    assert project_problems(tmp_path) == ["flows/long.py:1 run is 81 lines (at most 80)"]


def _branches(n: int) -> str:
    """A function of McCabe complexity ``n`` (one path, plus one per ``if``)."""
    body = "".join(f"    if x == {i}:\n        return {i}\n" for i in range(n - 1))
    return f"def f(x: int) -> int:\n{body}    return -1\n"


def test_ruff_limits_complexity_to_15(tmp_path: Path) -> None:
    settings = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    lint = settings["tool"]["ruff"]["lint"]
    assert "C90" in lint["select"]
    assert lint["mccabe"]["max-complexity"] == MAX_COMPLEXITY
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or "ruff"

    def flagged(source: str) -> bool:
        path = tmp_path / "module.py"
        path.write_text(source, encoding="utf-8")
        run = subprocess.run(
            [ruff, "check", "--config", str(ROOT / "pyproject.toml"), "--select", "C90",
             "--no-cache", str(path)],
            capture_output=True,
            text=True,
            check=False,
        )  # fmt: skip
        return "C901" in run.stdout

    assert not flagged(_branches(MAX_COMPLEXITY))
    assert flagged(_branches(MAX_COMPLEXITY + 1))
