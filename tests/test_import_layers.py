"""Issue 8's layering, kept: no import cycle among cdrtui's modules (imports inside functions count),
nothing outside cdrtui/tui imports it but the command line's entry point, and the TUI imports no
command-line module. Read from the source with `ast`, so a lazy import can't hide a cycle."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "cdrtui"
COMMAND_LINE = {"cdrtui.cli", "cdrtui.login_cli"}
MAY_LAUNCH_THE_TUI = {"cdrtui.cli", "cdrtui.__main__"}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path, modules: set[str]) -> set[str]:
    """The cdrtui modules `path` imports, anywhere in it (`from . import x` names module x)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
            target = ".".join([*base, *([node.module] if node.module else [])])
            found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names)
    return {module for module in found if module in modules and module != name}


def graph() -> dict[str, set[str]]:
    paths = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    modules = set(paths)
    return {name: imports(path, modules) for name, path in paths.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(edges[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_the_graph_is_read() -> None:
    edges = graph()
    # known edges, one of them lazy (inside a function) and one relative: the reader sees both
    assert "cdrtui.tui.launch" in edges["cdrtui.cli"]
    assert "cdrtui.paging" in edges["cdrtui.merged"]
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_cycle_among_cdrtuis_modules() -> None:
    assert cycles(graph()) == []


def test_only_the_entry_point_launches_the_tui_and_the_tui_imports_no_command_line_module() -> None:
    edges = graph()
    outside = {
        (name, target)
        for name, targets in edges.items()
        if not name.startswith("cdrtui.tui") and name not in MAY_LAUNCH_THE_TUI
        for target in targets
        if target.startswith("cdrtui.tui")
    }
    assert outside == set()
    backwards = {
        (name, target)
        for name, targets in edges.items()
        if name.startswith("cdrtui.tui")
        for target in targets & COMMAND_LINE
    }
    assert backwards == set()
