"""Limits a parsed YAML node graph must keep before it is built into mappings and lists.

The composer hands over a graph, not a tree: an alias is the very node its
anchor names, so `a: &a [..]` used nine times nine levels deep (the "billion
laughs") is a few hundred nodes here and 10^9 once built. One pass over the
distinct nodes says how big and how deep the built document would be, and a
hostile file is refused before anything is built, so memory stays bounded:

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

import yaml

from compose.errors import ComposeFileError, Mark

MAX_DEPTH = 100
MAX_ALIASED = 100_000
_RATIO_LOW = 400_000
_RATIO_HIGH = 4_000_000


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
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return list(node.value)


def check_graph(root: yaml.Node, file: str) -> None:
    """Raise ComposeFileError if the document `root` would be too big or too deep once built."""
    if isinstance(root, yaml.ScalarNode):
        return
    size: dict[int, int] = {}  # containers only: nodes once built (itself included)
    height: dict[int, int] = {}  # containers only: levels once built (itself included)
    refs: dict[int, int] = {}
    nodes: dict[int, yaml.Node] = {}
    started: set[int] = set()
    written = 1  # node occurrences in the text: the root, then the children of each container
    stack = [root]
    while stack:
        node = stack[-1]
        key = id(node)
        if key in size:
            stack.pop()
            continue
        children = _children(node)
        if key not in started:
            started.add(key)
            nodes[key] = node
            written += len(children)
            for child in reversed(children):
                if isinstance(child, yaml.ScalarNode):
                    continue
                ref = id(child)
                refs[ref] = refs.get(ref, 0) + 1
                if ref in size:
                    continue
                if ref in started:
                    raise ComposeFileError("invalid YAML: the anchor here is aliased inside itself",
                                           _mark(file, child))
                stack.append(child)
            continue
        stack.pop()
        started.discard(key)
        total, deepest = 1, 1
        for child in children:
            if isinstance(child, yaml.ScalarNode):
                total += 1
            else:
                ref = id(child)
                total += size[ref]
                deepest = max(deepest, height[ref] + 1)
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
