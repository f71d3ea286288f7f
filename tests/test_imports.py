"""Which way imports run in compose/: no circle, nothing of runtime/, the API and the session above no CLI.

Every import counts, also one inside a function (a lazy import is still a
dependency); only those under `if TYPE_CHECKING:` are left out, since they
never run. `from package import name` is an edge to the module `name` when
there is one, else to the package.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import networkx as nx

ROOT = Path(__file__).resolve().parents[1]


def _module(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(tree: ast.AST, package: str) -> Iterator[tuple[str, str | None]]:
    """(module, name) pairs: `import a.b` gives (a.b, None), `from a import b` gives (a, b)."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and _type_checking(node):
            yield from (pair for child in node.orelse for pair in _imports(ast.Module([child], []), package))
            continue
        if isinstance(node, ast.Import):
            yield from ((alias.name, None) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            yield from ((base, alias.name) for alias in node.names)
        else:
            yield from _imports(node, package)


def import_graph(top: str) -> nx.DiGraph:
    files = {_module(p): p for p in (ROOT / top).rglob("*.py")}
    graph = nx.DiGraph()
    graph.add_nodes_from(files)
    for module, path in files.items():
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        for base, name in _imports(ast.parse(path.read_text()), package):
            target = f"{base}.{name}" if name and f"{base}.{name}" in files else base
            if target != module and (target in files or target.split(".")[0] != top):
                graph.add_edge(module, target)
    return graph


def test_no_import_circle_in_compose() -> None:
    graph = import_graph("compose")
    cycles = [c for c in nx.simple_cycles(graph.subgraph(n for n in graph if n.startswith("compose")))]
    assert not cycles, f"import circles: {sorted(cycles, key=len)[:5]}"


def test_compose_never_imports_runtime() -> None:
    graph = import_graph("compose")
    assert not [(a, b) for a, b in graph.edges if b.split(".")[0] == "runtime"]


def test_session_and_api_sit_below_the_cli() -> None:
    graph = import_graph("compose")
    for module in ("compose.session", "compose.api", "compose.engine_calls", "compose.scheduler", "compose.plan"):
        reached = nx.descendants(graph, module)
        cli = sorted(m for m in reached if m == "compose.cli" or m.startswith("compose.cli."))
        assert not cli, f"{module} reaches the CLI: {cli}"
