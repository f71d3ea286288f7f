"""The dependency graph of a project's services, as a networkx DiGraph.

An edge `db -> web` means db must be started before web (web depends on db),
so a topological order is a start order and its reverse a stop order.

networkx costs ~100-140 ms to import, which is most of what `up -d` of one
service may take, so it is imported only when a graph is built (plans);
the loader's cycle check (`config`) uses the standard library's graphlib.
"""

from __future__ import annotations

import graphlib
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypeAlias

from compose.errors import ComposeFileError, format_path
from compose.loader.marks import mark_at

if TYPE_CHECKING:
    import networkx as nx

Graph: TypeAlias = "nx.DiGraph[str]"


def new_graph(nodes: Iterable[str] = (), edges: Iterable[tuple[str, str]] = ()) -> Graph:
    import networkx as nx

    graph: Graph = nx.DiGraph()
    graph.add_nodes_from(nodes)
    graph.add_edges_from(edges)
    return graph


def generations(graph: Graph) -> list[list[str]]:
    """Nodes in levels, each sorted, every node after all its predecessors.

    Nodes on a cycle (which the loader refuses, but container labels might
    describe) stay together in the level of their strongly connected group."""
    import networkx as nx

    if nx.is_directed_acyclic_graph(graph):
        return [sorted(level) for level in nx.topological_generations(graph)]
    condensed = nx.condensation(graph)
    members = condensed.graph["mapping"]
    groups: dict[int, list[str]] = {}
    for node, group in members.items():
        groups.setdefault(group, []).append(node)
    return [sorted(n for group in level for n in groups[group]) for level in nx.topological_generations(condensed)]


def ancestors(graph: Graph, node: str) -> set[str]:
    """Everything `node` transitively depends on (empty for a node not in the graph)."""
    import networkx as nx

    return set(nx.ancestors(graph, node)) if node in graph else set()


def descendants(graph: Graph, node: str) -> set[str]:
    """Everything that transitively depends on `node` (empty for a node not in the graph)."""
    import networkx as nx

    return set(nx.descendants(graph, node)) if node in graph else set()


def graph_of(services: Mapping[str, Any]) -> Graph:
    """Graph from normalized services (each with a `depends_on` mapping)."""
    return new_graph(services, ((dep, name) for name, svc in services.items() for dep in (svc.get("depends_on") or {})))


def find_cycle(services: Mapping[str, Any]) -> list[str] | None:
    """One cycle as a closed path `[a, b, a]` in depends-on direction, or None."""
    sorter = graphlib.TopologicalSorter({name: list(svc.get("depends_on") or ()) for name, svc in services.items()})
    try:
        sorter.prepare()
    except graphlib.CycleError as exc:
        # graphlib lists the cycle with each node a prerequisite of the next: reversed, it reads "depends on".
        nodes = list(reversed(exc.args[1][:-1]))
        start = min(range(len(nodes)), key=lambda i: nodes[i])
        nodes = nodes[start:] + nodes[:start]
        return [*nodes, nodes[0]]
    return None


def check_acyclic(doc: Mapping[str, Any]) -> None:
    """Refuse a project whose services depend on each other in a circle."""
    cycle = find_cycle(doc.get("services") or {})
    if cycle is None:
        return
    path = ("services", cycle[0], "depends_on", cycle[1])
    raise ComposeFileError(
        f"dependency cycle between services: {' -> '.join(cycle)}", mark_at(doc, path), format_path(path[:3])
    )


def start_levels(graph: Graph) -> list[list[str]]:
    """Services grouped so that each group needs only the groups before it."""
    return generations(graph)


def stop_levels(graph: Graph) -> list[list[str]]:
    """Start levels reversed: dependents stop before what they depend on."""
    return list(reversed(start_levels(graph)))


def with_dependencies(graph: Graph, names: list[str]) -> set[str]:
    """The named services and everything they transitively depend on."""
    out = set(names)
    for name in names:
        out |= ancestors(graph, name)
    return out
