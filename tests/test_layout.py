"""The shape of kefu (STYLE.md): arrows point inward. `kefu` may import everything; `intake`,
`bots` and `notifications` import `cases`; `cases` imports none of them; no two packages import
each other; no circle of files. Read from the source with `ast`, so an import inside a function
or under `TYPE_CHECKING` counts too: a circle hidden there is still a circle a reader follows."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("cases", "intake", "bots", "notifications", "kefu")


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if "migrations" in parts:
                continue  # Alembic loads the revisions by path; nothing imports them
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


MODULES = _modules()


def _imports(name: str, path: Path) -> Iterator[str]:
    """The kefu modules `name` imports, resolved to the longest known module name."""
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".")
                anchor = anchor if is_package else anchor[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
        for target in targets:
            while target and target not in MODULES:
                target = target.rpartition(".")[0]
            if target and target != name:
                yield target


GRAPH = {name: set(_imports(name, path)) for name, path in MODULES.items()}


def _package(module: str) -> str:
    return module.split(".")[0]


def test_the_graph_sees_every_package() -> None:
    assert {_package(m) for m in MODULES} == set(PACKAGES)
    assert sum(len(targets) for targets in GRAPH.values()) > 100


def test_cases_imports_none_of_the_adapters_or_entry_points() -> None:
    outward = sorted(
        f"{module} -> {target}"
        for module, targets in GRAPH.items()
        if _package(module) == "cases"
        for target in targets
        if _package(target) != "cases"
    )
    assert outward == []


@pytest.mark.parametrize("package", ["intake", "bots", "notifications"])
def test_adapters_do_not_import_the_entry_points(package: str) -> None:
    upward = sorted(
        f"{module} -> {target}"
        for module, targets in GRAPH.items()
        if _package(module) == package
        for target in targets
        if _package(target) == "kefu"
    )
    assert upward == []


def test_no_two_packages_import_each_other() -> None:
    edges = {
        (_package(module), _package(target))
        for module, targets in GRAPH.items()
        for target in targets
        if _package(module) != _package(target)
    }
    assert sorted((a, b) for a, b in edges if (b, a) in edges) == []


def _cycles() -> list[list[str]]:
    """Strongly connected components of more than one file (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in GRAPH:
        if root in index:
            continue
        work = [(root, iter(sorted(GRAPH[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(GRAPH[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
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
    return found


def test_no_circle_of_files() -> None:
    assert _cycles() == []


def test_the_cycle_finder_finds_a_planted_circle() -> None:
    saved = {name: set(targets) for name, targets in GRAPH.items()}
    try:
        GRAPH["cases.domain.enums"].add("cases.domain.states")
        GRAPH["cases.domain.states"].add("cases.domain.enums")
        assert ["cases.domain.enums", "cases.domain.states"] in [
            [m for m in c if m in ("cases.domain.enums", "cases.domain.states")] for c in _cycles()
        ]
    finally:
        GRAPH.clear()
        GRAPH.update(saved)
