"""Every module of rtmer imports, and rtmer's packages import one another without a cycle.

The package graph is read from the source with :mod:`ast`: an edge A -> B for each module-level
``import`` / ``from ... import`` in package A of a module in package B, where a package is
``rtmer.<name>`` (a subpackage or a top-level module such as ``rtmer.cli``). Imports inside
functions (run when called, the optional-dependency pattern) and under ``if TYPE_CHECKING:``
(never run) are not edges.
"""

from __future__ import annotations

import ast
import importlib
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "rtmer"
#: The top-level packages of the optional extras (pyproject.toml): a module that needs a missing
#: one is skipped, not failed.
OPTIONAL = {"torch", "sklearn", "safetensors", "adamp", "onnx", "onnxscript", "tensorrt", "cuda", "mediapipe"}
#: Importing it runs the command line.
ENTRY_POINT = "rtmer.__main__"


def _module_names() -> dict[str, Path]:
    out = {}
    for path in sorted(ROOT.rglob("*.py")):
        parts = path.relative_to(ROOT.parent).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


MODULES = _module_names()


@pytest.mark.parametrize("name", sorted(set(MODULES) - {ENTRY_POINT}))
def test_module_imports(name: str) -> None:
    try:
        importlib.import_module(name)
    except ImportError as exc:
        missing = (exc.name or "").partition(".")[0]
        if missing in OPTIONAL:
            pytest.skip(f"{name} needs {missing}, an optional extra not installed here")
        raise


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _executed(nodes: Iterable[ast.AST]) -> Iterator[ast.Import | ast.ImportFrom]:
    """The import statements among ``nodes`` that run when the module is imported."""
    for node in nodes:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            continue
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            yield from _executed(node.orelse)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        else:
            yield from _executed(ast.iter_child_nodes(node))


def _module_level_imports(name: str, path: Path) -> list[tuple[str, int]]:
    """The rtmer modules ``name`` imports when it is imported, with the line of each import."""
    found: list[tuple[str, int]] = []
    for node in _executed(ast.parse(path.read_text(), str(path)).body):
        if isinstance(node, ast.Import):
            found.extend((alias.name, node.lineno) for alias in node.names)
            continue
        base = node.module or ""
        if node.level:
            parts = name.split(".")
            package = parts[: len(parts) - node.level + (path.name == "__init__.py")]
            base = ".".join([*package, *([node.module] if node.module else [])])
        found.append((base, node.lineno))
        # ``from rtmer.face import align`` imports the module rtmer.face.align too.
        submodules = (f"{base}.{alias.name}" for alias in node.names)
        found.extend((module, node.lineno) for module in submodules if module in MODULES)
    return [(target, line) for target, line in found if target.startswith("rtmer.")]


def _package(module: str) -> str:
    return ".".join(module.split(".")[:2])


def _package_graph() -> dict[str, dict[str, list[str]]]:
    """package -> imported package -> the imports that make the edge ("module:line imports target")."""
    graph: dict[str, dict[str, list[str]]] = {}
    for name, path in MODULES.items():
        # The root package (rtmer/__init__.py, __version__) is no node: it imports only rtmer.errors.
        if name == "rtmer":
            continue
        for target, line in _module_level_imports(name, path):
            a, b = _package(name), _package(target)
            if a != b:
                graph.setdefault(a, {}).setdefault(b, []).append(f"{name}:{line} imports {target}")
    return graph


def _find_cycle(graph: dict[str, dict[str, list[str]]]) -> list[str]:
    """One cycle of ``graph`` as [p0, p1, ..., p0], or [] when it has none."""
    done: set[str] = set()
    for start in sorted(graph):
        stack: list[tuple[str, list[str]]] = [(start, sorted(graph.get(start, {})))]
        path, on_path = [start], {start}
        while stack:
            node, pending = stack[-1]
            if not pending:
                stack.pop()
                path.pop()
                on_path.discard(node)
                done.add(node)
                continue
            nxt = pending.pop(0)
            if nxt in on_path:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in done:
                stack.append((nxt, sorted(graph.get(nxt, {}))))
                path.append(nxt)
                on_path.add(nxt)
    return []


def test_no_import_cycle_between_packages() -> None:
    graph = _package_graph()
    cycle = _find_cycle(graph)
    why = [f"  {a} -> {b}: {'; '.join(graph[a][b])}" for a, b in zip(cycle, cycle[1:], strict=False)]
    assert not cycle, "import cycle between rtmer's packages: " + " -> ".join(cycle) + "\n" + "\n".join(why)


def test_the_cycle_check_finds_a_cycle() -> None:
    assert _find_cycle({"a": {"b": []}, "b": {"c": []}, "c": {"a": []}}) == ["a", "b", "c", "a"]
    assert _find_cycle({"a": {"b": [], "c": []}, "b": {"c": []}}) == []
