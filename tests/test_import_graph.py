"""Imports run one way: no module of the solver or of the CLI package takes part in an import
cycle among podfit's modules.

The graph is built from the source (every ``import`` and ``from ... import`` statement,
at module level, inside functions and under ``TYPE_CHECKING`` alike; relative imports
resolved; ``from package import name`` counts as importing the submodule when ``name`` is
one), not from what happens to be imported at run time, so a lazy import inside a function
that closes a circle fails too.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Folder -> the package it is installed as (pyproject.toml's package-dir).
PACKAGES = {
    "src/podfit": "podfit",
    "spec": "podfit.spec",
    "reference": "podfit.reference",
    "solver": "podfit.solver",
    "conformance": "podfit.conformance",
    "adapters": "podfit.adapters",
}
# The packages whose modules must be in no cycle. Cycles elsewhere are left to their owners
# (podfit.adapters' submodules import names from the package that imports them lazily).
GUARDED = ("podfit.solver", "podfit.cli")


def modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for folder, package in PACKAGES.items():
        for path in sorted((ROOT / folder).rglob("*.py")):
            parts = list(path.relative_to(ROOT / folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join([package, *parts])] = path
    return found


def imports_of(name: str, path: Path, known: Iterable[str]) -> set[str]:
    """The podfit modules ``name`` (at ``path``) imports, anywhere in its source."""
    known = set(known)
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            # ``from package import submodule`` needs the submodule; any other name needs the
            # module it is taken from.
            submodules = {f"{target}.{alias.name}" for alias in node.names} & known
            if len(submodules) < len(node.names):
                found.add(target)
            found.update(submodules)
    return {m for m in found if m in known and m != name}


def import_graph() -> dict[str, set[str]]:
    found = modules()
    return {name: imports_of(name, path, found) for name, path in found.items()}


def cycles(graph: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    counter = 0
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            v, edges = work[-1]
            advanced = False
            for w in edges:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(graph.get(w, ())))))
                    advanced = True
                    break
                if w in on_stack:
                    low[v] = min(low[v], index[w])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[v])
            if low[v] == index[v]:
                component = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    component.append(w)
                    if w == v:
                        break
                if len(component) > 1:
                    out.append(sorted(component))
    return out


def test_the_cycle_finder_finds_cycles() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": {"f"}, "f": set()}
    assert cycles(graph) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_the_graph_sees_lazy_and_relative_imports(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("from .a import x\n")
    (package / "a.py").write_text("def f():\n    from . import b\n    return b\n")
    (package / "b.py").write_text("from podfit.solver.a import x\nfrom .. import other\n")
    (package / "c.py").write_text("from . import a, helper\n")
    known = {"podfit.solver", "podfit.solver.a", "podfit.solver.b", "podfit"}
    assert imports_of("podfit.solver", package / "__init__.py", known) == {"podfit.solver.a"}
    assert imports_of("podfit.solver.a", package / "a.py", known) == {"podfit.solver.b"}
    assert imports_of("podfit.solver.b", package / "b.py", known) == {"podfit.solver.a", "podfit"}
    # a name that is no submodule comes from the package itself
    assert imports_of("podfit.solver.c", package / "c.py", known) == {
        "podfit.solver",
        "podfit.solver.a",
    }


def test_the_graph_covers_every_part() -> None:
    graph = import_graph()
    for package in PACKAGES.values():
        assert package in graph
    assert "podfit.solver.encode" in graph["podfit.solver.api"]
    assert "podfit.cli.common" in graph["podfit.cli.solve"]


def test_no_import_cycle_in_the_solver_or_the_cli() -> None:
    guarded = [
        component
        for component in cycles(import_graph())
        if any(m == g or m.startswith(g + ".") for m in component for g in GUARDED)
    ]
    assert guarded == [], "import cycles: " + "; ".join(" <-> ".join(c) for c in guarded)
