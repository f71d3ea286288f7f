"""walk(): path-keyed rules over positioned documents."""

from __future__ import annotations

from typing import Any

from compose.errors import Mark
from compose.loader.marks import MDict, plain
from compose.loader.walk import DocPath, Rules, walk
from compose.loader.yamlfile import parse_yaml


def _upper(value: Any, path: DocPath, mark: Mark | None) -> Any:
    return value.upper() if isinstance(value, str) else value


def test_rules_apply_at_matching_paths_only() -> None:
    doc = parse_yaml("a:\n  x: one\n  y: [two, three]\nb: four\n", "f.yaml")
    out = walk(doc, Rules({("a", "y", "*"): _upper, ("b",): _upper}))
    assert plain(out) == {"a": {"x": "one", "y": ["TWO", "THREE"]}, "b": "FOUR"}
    assert plain(doc)["b"] == "four"


def test_rule_sees_the_value_mark_and_children_are_walked_after() -> None:
    seen: list[tuple[DocPath, Mark | None]] = []

    def wrap(value: Any, path: DocPath, mark: Mark | None) -> Any:
        seen.append((path, mark))
        return MDict({"inner": value}, mark=mark)

    doc = parse_yaml("k: v\n", "f.yaml")
    out = walk(doc, Rules({("k",): wrap, ("k", "inner"): _upper}))
    assert plain(out) == {"k": {"inner": "V"}}
    assert seen == [(("k",), Mark("f.yaml", 1, 1))]
    assert out.mark_of("k") == Mark("f.yaml", 1, 1)
