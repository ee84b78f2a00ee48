"""The package's shape: no import cycles (function-level imports included), no library module
importing a command-line module, and no arm named in the modules every arm goes through."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "shipwise"
EDGES = {"shipwise.cli", "shipwise.data_cli", "shipwise.decide_cli", "shipwise.hydra_callbacks"}
ARM_NAMES = {"prompt", "rag", "finetune", "rag_finetune", "majority", "knn"}
ARM_BLIND = ["runner.py", "changes.py", "decision.py", "decision_types.py", "evidence.py"]


def modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = ["shipwise", *path.relative_to(PACKAGE).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    """Nodes under ``if TYPE_CHECKING:``: annotations only, never run."""
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(sub) for sub in ast.walk(node))
    return skipped


def import_graph() -> dict[str, set[str]]:
    """Module -> the shipwise modules it imports anywhere (in functions too), packages included."""
    mods = modules()

    def resolve(name: str) -> str | None:
        while name and name not in mods:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {m: set() for m in mods}
    for module, path in mods.items():
        tree = ast.parse(path.read_text())
        skipped = _type_checking_nodes(tree)
        for node in ast.walk(tree):
            if id(node) in skipped:
                continue
            targets: list[str] = []
            if isinstance(node, ast.ImportFrom) and node.module:
                targets = [f"{node.module}.{alias.name}" for alias in node.names]
                # importing a.b.c runs every enclosing package's __init__ first
                parts = node.module.split(".")
                targets += [".".join(parts[:i]) for i in range(2, len(parts) + 1)]
            elif isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            for target in targets:
                resolved = resolve(target) if target.startswith("shipwise.") else None
                if resolved and resolved != module and not module.startswith(f"{resolved}."):
                    graph[module].add(resolved)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_walk_sees_function_level_imports() -> None:
    graph = import_graph()
    # both are imported inside functions, where cycles used to hide
    assert "shipwise.config" in graph["shipwise.validation.context"]
    assert "shipwise.finetune.adapter" in graph["shipwise.config"]  # imported in a function


def test_there_are_no_import_cycles() -> None:
    assert cycles(import_graph()) == []


def test_a_cycle_is_found_when_there_is_one() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_library_module_imports_a_command_line_module() -> None:
    offenders = [
        f"{module} -> {target}"
        for module, targets in import_graph().items()
        if module not in EDGES
        for target in targets & EDGES
    ]
    assert offenders == []


@pytest.mark.parametrize("name", ARM_BLIND)
def test_no_arm_is_named_where_every_arm_passes(name: str) -> None:
    tree = ast.parse((PACKAGE / name).read_text())
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.FunctionDef | ast.ClassDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    named = [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docstrings
        and node.value.strip().lower() in ARM_NAMES
    ]
    assert named == [], f"{name} names arms: {named}"
