"""The dependency graph of a project's services.

An edge `db -> web` means db must be started before web (web depends on db),
so a topological order is a start order and its reverse a stop order.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import networkx as nx

from compose.errors import ComposeFileError, format_path
from compose.loader.marks import mark_at


def graph_of(services: Mapping[str, Any]) -> nx.DiGraph:
    """Graph from normalized services (each with a `depends_on` mapping)."""
    graph = nx.DiGraph()
    graph.add_nodes_from(services)
    for name, service in services.items():
        for dependency in (service.get("depends_on") or {}):
            graph.add_edge(dependency, name)
    return graph


def find_cycle(graph: nx.DiGraph) -> list[str] | None:
    """One cycle as a closed path `[a, b, a]` in depends-on direction, or None."""
    try:
        edges = nx.find_cycle(graph)
    except nx.NetworkXNoCycle:
        return None
    # Edges run dependency -> dependent; users read "a depends on b".
    nodes = [edge[1] for edge in reversed(edges)]
    start = min(range(len(nodes)), key=lambda i: nodes[i])
    nodes = nodes[start:] + nodes[:start]
    return [*nodes, nodes[0]]


def check_acyclic(doc: Mapping[str, Any]) -> None:
    """Refuse a project whose services depend on each other in a circle."""
    services = doc.get("services") or {}
    cycle = find_cycle(graph_of(services))
    if cycle is None:
        return
    path = ("services", cycle[0], "depends_on", cycle[1])
    raise ComposeFileError(
        f"dependency cycle between services: {' -> '.join(cycle)}", mark_at(doc, path), format_path(path[:3])
    )


def start_levels(graph: nx.DiGraph) -> list[list[str]]:
    """Services grouped so that each group needs only the groups before it."""
    return [sorted(level) for level in nx.topological_generations(graph)]


def stop_levels(graph: nx.DiGraph) -> list[list[str]]:
    """Start levels reversed: dependents stop before what they depend on."""
    return list(reversed(start_levels(graph)))


def with_dependencies(graph: nx.DiGraph, names: list[str]) -> set[str]:
    """The named services and everything they transitively depend on."""
    out = set(names)
    for name in names:
        out |= nx.ancestors(graph, name)
    return out
