"""Limits a parsed YAML node graph must keep before it is built into mappings and lists.

The composer hands over a graph, not a tree: an alias is the very node its
anchor names, so `a: &a [..]` used nine times nine levels deep (the "billion
laughs") is a few hundred nodes here and 10^9 once built. One pass over the
distinct nodes (`check_graph`) says how big and how deep the built document
would be, and a hostile file is refused before anything is built, so memory
stays bounded. Only texts that may hold an alias (`may_alias`) need the pass:
without aliases the builder (`yamlfile`) checks the depth as it goes.

- excessive aliasing, go-yaml v3's rule (compose's parser): once more than 100
  of more than 1,000 decoded nodes come from alias expansion, the expanded
  share may be at most 99% of the nodes up to 400,000 nodes, falling linearly
  to 10% at 4,000,000; on top of it, at most 100,000 nodes from alias
  expansion in all (go-yaml's 400,000-node window is ~100 MB of Go maps; a
  node of ours costs ~700 bytes and ~15 µs through every stage and `config`'s
  output, so 100,000 is ~70 MB and ~1.5 s). Merge keys `<<` and `x-` keys
  count like any other;
- nesting deeper than `MAX_DEPTH` levels (aliases expanded), so that no stage
  of the loader, all of them recursive walks, can reach Python's recursion
  limit;
- an anchor aliased inside itself (a cycle).
"""

from __future__ import annotations

import re

import yaml

from compose.errors import ComposeFileError, Mark

MAX_DEPTH = 100
MAX_ALIASED = 100_000
_RATIO_LOW = 400_000
_RATIO_HIGH = 4_000_000


# An alias token: `*` where a token can start (line start, after a space or a flow indicator).
_ALIAS_TOKEN = re.compile(r"(?:^|[\s\[\]{},:?-])\*[^\s\[\]{},]", re.MULTILINE)


def may_alias(text: str) -> bool:
    """Whether the YAML `text` may hold an alias; False means surely not (a `*` can be in scalars too).

    Most compose files have no `*` at all: they are spared `check_graph`'s pass over every node,
    and their nesting depth is checked as they are built."""
    return "*" in text and _ALIAS_TOKEN.search(text) is not None


def allowed_alias_ratio(decoded: int) -> float:
    """The share of decoded nodes alias expansion may produce (go-yaml v3's allowedAliasRatio)."""
    if decoded <= _RATIO_LOW:
        return 0.99
    if decoded >= _RATIO_HIGH:
        return 0.10
    return 0.99 - 0.89 * (decoded - _RATIO_LOW) / (_RATIO_HIGH - _RATIO_LOW)


def excessive_aliasing(expanded: int, written: int) -> bool:
    aliased = expanded - written
    if aliased > MAX_ALIASED:
        return True
    return aliased > 100 and expanded > 1000 and aliased / expanded > allowed_alias_ratio(expanded)


def _mark(file: str, node: yaml.Node) -> Mark:
    return Mark(file, node.start_mark.line + 1, node.start_mark.column + 1)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if type(node) is yaml.MappingNode:
        return [part for pair in node.value for part in pair]
    return list(node.value)


def check_graph(root: yaml.Node, file: str) -> None:
    """Raise ComposeFileError if the document `root` would be too big or too deep once built."""
    scalar = yaml.ScalarNode
    if type(root) is scalar:
        return
    size: dict[int, int] = {}  # finished containers: nodes once built (itself included)
    height: dict[int, int] = {}  # finished containers: levels once built (itself included)
    open_kids: dict[int, list[yaml.Node]] = {}  # started containers: their container children
    own: dict[int, int] = {}  # started containers: itself and its scalar children
    refs: dict[int, int] = {}  # occurrences of each container, the anchor's own included
    nodes: dict[int, yaml.Node] = {}
    written = 1  # node occurrences in the text: the root, then the children of each container
    stack = [root]
    while stack:  # a loop, not recursion: the graph can be 1,000 levels deep here
        node = stack[-1]
        key = id(node)
        kids = open_kids.get(key)
        if kids is None:
            if key in size:
                stack.pop()
                continue
            parts = _children(node)
            written += len(parts)
            kids = [part for part in parts if type(part) is not scalar]
            open_kids[key] = kids
            own[key] = 1 + len(parts) - len(kids)
            nodes[key] = node
            for child in reversed(kids):
                ref = id(child)
                refs[ref] = refs.get(ref, 0) + 1
                if ref in size:
                    continue
                if ref in open_kids:
                    raise ComposeFileError("invalid YAML: the anchor here is aliased inside itself",
                                           _mark(file, child))
                stack.append(child)
            continue
        stack.pop()
        del open_kids[key]
        total, deepest = own.pop(key), 1
        for child in kids:
            ref = id(child)
            total += size[ref]
            if height[ref] >= deepest:
                deepest = height[ref] + 1
        size[key] = total
        height[key] = deepest
    if excessive_aliasing(size[id(root)], written):
        worst = max((k for k, n in refs.items() if n > 1), key=lambda k: size[k] * (refs[k] - 1), default=id(root))
        raise ComposeFileError(
            f"invalid YAML: document contains excessive aliasing (the anchor here is aliased {refs.get(worst, 1) - 1} "
            f"times; the document would expand to {size[id(root)]:,} nodes)",
            _mark(file, nodes[worst]),
        )
    if height[id(root)] > MAX_DEPTH:
        raise ComposeFileError(f"invalid YAML: exceeded maximum nesting depth of {MAX_DEPTH}",
                               _mark(file, _deepest(root, height)))


def _deepest(root: yaml.Node, height: dict[int, int]) -> yaml.Node:
    """The node `MAX_DEPTH` + 1 levels down on a deepest path (aliases followed)."""
    node = root
    for _ in range(MAX_DEPTH):
        containers = [c for c in _children(node) if not isinstance(c, yaml.ScalarNode)]
        if not containers:
            break
        node = max(containers, key=lambda c: height[id(c)])
    return node
