"""Import contracts that keep the clinical core one-way (issue 13; ARCHITECTURE.md, CORE.md).

An ast reading of every module of ``carepath``, ``flows``, ``models``,
``pathways``, ``migrations``, ``bench`` and ``tools`` gives the import graph; each contract is a
function of that graph returning its violations, and each is shown to report a
deliberate violation on a small synthetic graph, so none can pass vacuously.

- layers: ``carepath → flows → models → pathways``, nothing upward; migrations
  read ``carepath.settings`` only (never the database helper that can start a
  server);
- the pure core: ``pathways`` imports no storage, orchestration, web or HTTP
  library and nothing of the layers above it;
- ``pathways`` has no import cycle, counting the package ``__init__`` a
  module outside the package runs when it imports a submodule;
- ``pathways`` has no function-level import (each one hid a cycle);
- ``pathways.core`` is the floor: it imports nothing else of ``pathways``;
- outside ``pathways``, only the door (``pathways.engine``), the floor
  (``pathways.core``) and the plain value modules listed in ``OUTSIDE_ALLOWED``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("carepath", "flows", "models", "pathways", "migrations", "bench", "tools")
# Highest first: a module may import its own layer and those after it.
LAYERS = ("carepath", "flows", "models", "pathways")
MIGRATIONS_MAY_IMPORT = ("models", "carepath.settings")
IMPURE = (
    "sqlmodel",
    "sqlalchemy",
    "prefect",
    "fastapi",
    "psycopg",
    "httpx",
    "apscheduler",
    "carepath",
    "flows",
    "models",
)
# What code outside ``pathways`` may import of it: the door, the floor, and the
# plain values every layer speaks (vocabulary, facts, decisions, errors, the
# clinic's calendar, the definition as values). Nothing else: what the layers
# above need of the rest (the case file, the patient limits, contradictions,
# alert identity, the adherence indicators) the door hands out.
OUTSIDE_ALLOWED = (
    "pathways",  # the package itself (its version string)
    "pathways.engine",  # the door: evaluation, plan, monitor, classify, review tasks, adapters
    "pathways.core",  # the floor: labs, window, pre-phase, safe text, field errors, JSON form
    "pathways.vocab",
    "pathways.facts",
    "pathways.decisions",
    "pathways.errors",
    "pathways.clock",
    "pathways.definition",  # load_definition, the rules catalogue
)


@dataclass(frozen=True, slots=True)
class Import:
    source: str
    target: str
    line: int
    in_function: bool


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def read_imports(source: str, name: str, text: str, known: frozenset[str]) -> list[Import]:
    """Every import of one module; ``from a import b`` names ``a.b`` when that is a module."""
    tree = ast.parse(text)
    found: list[Import] = []
    package = name if source.endswith("__init__.py") else name.rpartition(".")[0]

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            nested = in_function or isinstance(
                child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda
            )
            if isinstance(child, ast.Import):
                for alias in child.names:
                    found.append(Import(name, alias.name, child.lineno, in_function))
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    anchor = package.split(".")
                    anchor = anchor[: len(anchor) - (child.level - 1)]
                    base = ".".join([*anchor, base] if base else anchor)
                for alias in child.names:
                    candidate = f"{base}.{alias.name}"
                    target = candidate if candidate in known else base
                    found.append(Import(name, target, child.lineno, in_function))
            visit(child, nested)

    visit(tree, False)
    return found


def project_imports(root: Path = ROOT) -> list[Import]:
    paths = [p for package in PACKAGES for p in sorted((root / package).rglob("*.py"))]
    known = frozenset(module_name(p, root) for p in paths)
    imports: list[Import] = []
    for path in paths:
        imports += read_imports(
            str(path), module_name(path, root), path.read_text(encoding="utf-8"), known
        )
    return imports


def _top(name: str) -> str:
    return name.split(".")[0]


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def layer_violations(imports: Iterable[Import]) -> list[str]:
    problems = []
    for i in imports:
        src, dst = _top(i.source), _top(i.target)
        if src == "migrations" and dst in LAYERS:
            if not any(_within(i.target, allowed) for allowed in MIGRATIONS_MAY_IMPORT):
                problems.append(
                    f"{i.source}:{i.line} imports {i.target} (migrations: settings only)"
                )
            continue
        if src in LAYERS and dst in LAYERS and LAYERS.index(dst) < LAYERS.index(src):
            problems.append(f"{i.source}:{i.line} imports {i.target}, a layer above {src}")
    return problems


def purity_violations(imports: Iterable[Import]) -> list[str]:
    return [
        f"{i.source}:{i.line} imports {i.target}"
        for i in imports
        if _top(i.source) == "pathways" and _top(i.target) in IMPURE
    ]


def function_level_violations(imports: Iterable[Import]) -> list[str]:
    return [
        f"{i.source}:{i.line} imports {i.target} inside a function"
        for i in imports
        if _top(i.source) == "pathways" and i.in_function
    ]


def floor_violations(imports: Iterable[Import]) -> list[str]:
    return [
        f"{i.source}:{i.line} imports {i.target} (pathways.core imports nothing else of pathways)"
        for i in imports
        if _within(i.source, "pathways.core")
        and _top(i.target) == "pathways"
        and not _within(i.target, "pathways.core")
    ]


def outside_violations(imports: Iterable[Import], allowed: Iterable[str]) -> list[str]:
    allowed = tuple(allowed)
    return [
        f"{i.source}:{i.line} imports {i.target}: outside pathways, use the door (pathways.engine)"
        for i in imports
        if _top(i.source) != "pathways"
        and _top(i.target) == "pathways"
        and not any(i.target == a or (a != "pathways" and _within(i.target, a)) for a in allowed)
    ]


def import_graph(imports: Iterable[Import], package: str) -> dict[str, set[str]]:
    """Edges within ``package``, with the ``__init__`` of each package a module enters."""
    graph: dict[str, set[str]] = {}
    for i in imports:
        if not _within(i.source, package) or not _within(i.target, package):
            continue
        edges = graph.setdefault(i.source, set())
        parts = i.target.split(".")
        # Importing a.b.c runs a.b's __init__ first, unless the importer is inside a.b.
        for n in range(len(parts) - 1, len(package.split(".")) - 1, -1):
            ancestor = ".".join(parts[:n])
            if not _within(i.source, ancestor):
                edges.add(ancestor)
        if i.target != i.source:
            edges.add(i.target)
    return graph


def cycles(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                connect(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return found


IMPORTS = project_imports()


def test_layers_import_downward_only() -> None:
    assert layer_violations(IMPORTS) == []


def test_pathways_is_pure() -> None:
    assert purity_violations(IMPORTS) == []


def test_pathways_has_no_import_cycle() -> None:
    assert cycles(import_graph(IMPORTS, "pathways")) == []


def test_pathways_has_no_function_level_import() -> None:
    assert function_level_violations(IMPORTS) == []


def test_pathways_core_is_the_floor() -> None:
    assert floor_violations(IMPORTS) == []


def test_outside_pathways_only_the_door_the_floor_and_values() -> None:
    assert outside_violations(IMPORTS, OUTSIDE_ALLOWED) == []


def test_every_allowed_module_exists_and_is_used() -> None:
    """The allow-list shrinks as callers move behind the door: no stale entry stays."""
    used = {i.target for i in IMPORTS if _top(i.source) != "pathways"}
    for allowed in OUTSIDE_ALLOWED:
        assert any(_within(u, allowed) for u in used), f"{allowed} is allowed but unused"


# The checks above must be able to fail: each sees a deliberate violation.


def _synthetic(modules: Mapping[str, str]) -> list[Import]:
    known = frozenset(modules)
    out: list[Import] = []
    for name, text in modules.items():
        out += read_imports(f"{name.replace('.', '/')}.py", name, text, known)
    return out


def test_the_checks_see_violations() -> None:
    imports = _synthetic(
        {
            "models.repo": "from flows.runtime import Runtime\nimport pathways.engine\n",
            "pathways.engine": "import sqlmodel\nfrom pathways import loader\n",
            "pathways.loader": "def load():\n    from pathways.engine import x\n",
            "pathways.a": "from pathways.b import y\n",
            "pathways.b": "from pathways.a import z\n",
            "pathways.core.labs": "from pathways.vocab import Phase\n",
            "flows.runtime": "from pathways.monitoring import evaluate_monitoring\n",
            "migrations.env": "from carepath.database import database_url\n",
        }
    )
    assert layer_violations(imports) == [
        "models.repo:1 imports flows.runtime, a layer above models",
        "migrations.env:1 imports carepath.database (migrations: settings only)",
    ]
    assert purity_violations(imports) == ["pathways.engine:1 imports sqlmodel"]
    assert function_level_violations(imports) == [
        "pathways.loader:2 imports pathways.engine inside a function"
    ]
    assert floor_violations(imports) == [
        "pathways.core.labs:1 imports pathways.vocab (pathways.core imports nothing else of pathways)"
    ]
    assert outside_violations(imports, ("pathways.engine",)) == [
        "flows.runtime:1 imports pathways.monitoring: outside pathways, use the door"
        " (pathways.engine)"
    ]
    assert cycles(import_graph(imports, "pathways")) == [
        ["pathways.a", "pathways.b"],
        ["pathways.engine", "pathways.loader"],
    ]


def test_a_cycle_through_a_package_init_is_seen() -> None:
    """The cycle the workup closed: a module outside a package, whose ``__init__`` imports it."""
    imports = _synthetic(
        {
            "pathways.schedules": "from pathways.workup import window\n",
            "pathways.schedules.planner": "x = 1\n",
            "pathways.workup": "from pathways.schedules.planner import x\n",
        }
    )
    assert cycles(import_graph(imports, "pathways")) == [["pathways.schedules", "pathways.workup"]]
