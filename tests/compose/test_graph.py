from __future__ import annotations

import pytest

from compose.errors import ComposeFileError
from compose.graph import check_acyclic, find_cycle, graph_of, start_levels, stop_levels, with_dependencies
from compose.loader.yamlfile import parse_yaml


def _services(**deps: list[str]) -> dict[str, dict[str, dict[str, dict[str, str]]]]:
    return {name: {"depends_on": {d: {"condition": "service_started"} for d in ds}} for name, ds in deps.items()}


def test_levels_in_both_directions() -> None:
    graph = graph_of(_services(web=["api", "cache"], api=["db"], cache=[], db=[], other=[]))
    assert start_levels(graph) == [["cache", "db", "other"], ["api"], ["web"]]
    assert stop_levels(graph) == [["web"], ["api"], ["cache", "db", "other"]]


def test_with_dependencies_is_transitive() -> None:
    graph = graph_of(_services(web=["api"], api=["db"], db=[], other=[]))
    assert with_dependencies(graph, ["web"]) == {"web", "api", "db"}


def test_cycle_is_named_in_depends_on_direction() -> None:
    assert find_cycle(_services(a=["b"], b=["c"], c=["a"], d=[])) == ["a", "b", "c", "a"]
    assert find_cycle(_services(a=["b"], b=[])) is None


def test_cycle_error_points_at_the_dependency() -> None:
    doc = parse_yaml("services:\n  a:\n    depends_on:\n      b: {}\n  b:\n    depends_on:\n      a: {}\n", "c.yaml")
    with pytest.raises(ComposeFileError) as info:
        check_acyclic(doc)
    assert str(info.value) == "c.yaml:4:7: services.a.depends_on: dependency cycle between services: a -> b -> a"


def test_graph_walks() -> None:
    from compose.graph import ancestors, descendants, generations, new_graph

    graph = new_graph(["other"], [("db", "api"), ("api", "web"), ("cache", "web")])
    assert generations(graph) == [["cache", "db", "other"], ["api"], ["web"]]
    assert generations(graph.subgraph(["web", "db", "missing"])) == [["db", "web"]]
    assert ancestors(graph, "web") == {"api", "db", "cache"} and ancestors(graph, "nope") == set()
    assert descendants(graph, "db") == {"api", "web"}
    assert graph.has_edge("db", "api") and not graph.has_edge("api", "db")
    assert sorted(graph.predecessors("web")) == ["api", "cache"] and "other" in graph and len(graph) == 5
    cyclic = new_graph(edges=[("a", "b"), ("b", "a"), ("c", "a")])
    assert generations(cyclic) == [["c"], ["a", "b"]]  # a cycle stays, in its group's level
