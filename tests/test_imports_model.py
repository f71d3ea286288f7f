"""No circle of imports inside compose/: module A imports B (at the top or inside a function)
and B, directly or not, imports A. Imports under `if TYPE_CHECKING:` do not run and do not count.

Read from the source with ast, so a lazy import inside a function counts too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx

ROOT = Path(__file__).resolve().parents[1]


def _name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _type_only(tree: ast.AST) -> set[int]:
    return {id(n) for node in ast.walk(tree) if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
            for stmt in node.body for n in ast.walk(stmt)}


def import_graph(package: str) -> nx.DiGraph:
    modules = {_name(p): p for p in (ROOT / package).rglob("*.py")}
    graph = nx.DiGraph()
    graph.add_nodes_from(modules)
    for name, path in modules.items():
        tree = ast.parse(path.read_text(), str(path))
        skip = _type_only(tree)
        for node in ast.walk(tree):
            if id(node) in skip:
                continue
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
            else:
                continue
            graph.add_edges_from((name, t) for t in targets if t in modules and t != name)
    return graph


def test_no_import_circle_in_compose() -> None:
    circles = [sorted(c) for c in nx.strongly_connected_components(import_graph("compose")) if len(c) > 1]
    assert circles == []


def test_the_graph_sees_lazy_imports() -> None:
    graph = import_graph("compose")
    assert graph.has_edge("compose.cli.engine_auto", "compose.cli.engine")  # imported inside _auto_start
    assert not graph.has_edge("compose.cli.engine", "compose.cli.engine_auto")
