"""A project's dependency graph as Graphviz dot or Mermaid text (pure; `pycompose graph`).

Edges are drawn from the dependent service to the one it depends on
("web -> db": web depends on db), each labelled with what makes it:
a `depends_on` condition (service_started, service_healthy,
service_completed_successfully; `required: false` shown and dashed), or
the implicit kinds — `links`, `network_mode`/`ipc`/`pid`/`uts`/`cgroup`
`service:X`, `volumes_from` — drawn dotted. The loader turns each implicit
kind into a `depends_on` entry with condition service_started; such an
entry is shown by its kind alone unless the file also names it under
`depends_on`. Output is sorted, so the same project prints the same text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from compose.graph import Graph, new_graph
from compose.model import Project

_NAMESPACES = ("network_mode", "ipc", "pid", "uts", "cgroup")


@dataclass(frozen=True)
class Edge:
    dependent: str
    dependency: str
    kinds: tuple[str, ...]  # "depends_on" and/or implicit kinds, in a fixed order
    condition: str | None  # the depends_on condition when "depends_on" is a kind
    required: bool = True

    @property
    def label(self) -> str:
        parts = [self.condition or "service_started"] if "depends_on" in self.kinds else []
        parts += [k for k in self.kinds if k != "depends_on"]
        if not self.required:
            parts.append("required: false")
        return ", ".join(parts)


def _implicit_kinds(config: Mapping[str, Any]) -> dict[str, list[str]]:
    """dependency -> the implicit kinds (links, namespaces, volumes_from) that name it."""
    found: dict[str, list[str]] = {}
    links = config.get("links")
    for link in links if isinstance(links, list) else ():
        parts = str(link).split(":")
        found.setdefault(parts[0] if len(parts) == 2 else str(link), []).append("links")
    for key in _NAMESPACES:
        ref = config.get(key)
        if isinstance(ref, str) and ref.startswith("service:"):
            found.setdefault(ref[len("service:"):], []).append(key)
    volumes_from = config.get("volumes_from")
    for entry in volumes_from if isinstance(volumes_from, list) else ():
        if not str(entry).startswith("container:"):
            found.setdefault(str(entry).split(":")[0], []).append("volumes_from")
    return found


def edges_of(project: Project) -> list[Edge]:
    """Every edge between services of the project, sorted by (dependent, dependency)."""
    edges = []
    for name in sorted(project.services):
        svc = project.services[name]
        implicit = _implicit_kinds(svc.config)
        for dep in sorted(set(svc.depends_on) | set(implicit)):
            if dep not in project.services:
                continue
            kinds = list(dict.fromkeys(implicit.get(dep, ())))
            spec = svc.depends_on.get(dep)
            condition = spec.condition if spec else None
            explicit = spec is not None and (not kinds or condition != "service_started" or not spec.required)
            if explicit:
                kinds.insert(0, "depends_on")
            edges.append(Edge(name, dep, tuple(kinds), condition if explicit else None,
                              spec.required if spec else True))
    return edges


def project_graph(project: Project) -> Graph:
    """The networkx DiGraph (edge dependency -> dependent, as compose/graph.py's), each edge with its Edge."""
    graph = new_graph(sorted(project.services))
    for edge in edges_of(project):
        graph.add_edge(edge.dependency, edge.dependent, edge=edge)
    return graph


def _edges(graph: Graph) -> list[Edge]:
    return sorted((data["edge"] for _, _, data in graph.edges(data=True)),
                  key=lambda e: (e.dependent, e.dependency))


def _dot_quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def to_dot(project: Project) -> str:
    graph = project_graph(project)
    lines = [f"digraph {_dot_quote(project.name)} {{", "  rankdir=LR;", "  node [shape=box];"]
    lines += [f"  {_dot_quote(node)};" for node in sorted(graph.nodes)]
    for edge in _edges(graph):
        attrs = [f"label={_dot_quote(edge.label)}"]
        if "depends_on" not in edge.kinds:
            attrs.append("style=dotted")
        elif not edge.required:
            attrs.append("style=dashed")
        lines.append(f"  {_dot_quote(edge.dependent)} -> {_dot_quote(edge.dependency)} [{', '.join(attrs)}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _mermaid_id(name: str) -> str:
    # Mermaid ids are words; a service name's other characters become "_" plus its code, so ids stay distinct.
    return "svc_" + re.sub(r"[^A-Za-z0-9]", lambda m: f"_{ord(m.group()):x}_", name)


def to_mermaid(project: Project) -> str:
    graph = project_graph(project)
    lines = ["flowchart LR"]
    lines += [f'  {_mermaid_id(node)}["{node}"]' for node in sorted(graph.nodes)]
    for edge in _edges(graph):
        arrow = "-->" if "depends_on" in edge.kinds and edge.required else "-.->"
        label = edge.label.replace('"', "#quot;")
        lines.append(f'  {_mermaid_id(edge.dependent)} {arrow}|"{label}"| {_mermaid_id(edge.dependency)}')
    return "\n".join(lines) + "\n"
