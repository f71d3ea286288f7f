"""The dependency graph of a project's services.

An edge `db -> web` means db must be started before web (web depends on db),
so a topological order is a start order and its reverse a stop order.

networkx costs ~140 ms to import, more than loading a 500-service file, so
the loader's cycle check uses the standard library's graphlib and networkx is
imported only by what plans and schedules.
"""

from __future__ import annotations

import graphlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import networkx as nx

from compose.errors import ComposeFileError, format_path
from compose.loader.marks import mark_at


def graph_of(services: Mapping[str, Any]) -> nx.DiGraph:
    """Graph from normalized services (each with a `depends_on` mapping)."""
    import networkx as nx

    graph = nx.DiGraph()
    graph.add_nodes_from(services)
    for name, service in services.items():
        for dependency in (service.get("depends_on") or {}):
            graph.add_edge(dependency, name)
    return graph


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


def start_levels(graph: nx.DiGraph) -> list[list[str]]:
    """Services grouped so that each group needs only the groups before it."""
    import networkx as nx

    return [sorted(level) for level in nx.topological_generations(graph)]


def stop_levels(graph: nx.DiGraph) -> list[list[str]]:
    """Start levels reversed: dependents stop before what they depend on."""
    return list(reversed(start_levels(graph)))


def with_dependencies(graph: nx.DiGraph, names: list[str]) -> set[str]:
    """The named services and everything they transitively depend on."""
    import networkx as nx

    out = set(names)
    for name in names:
        out |= nx.ancestors(graph, name)
    return out
