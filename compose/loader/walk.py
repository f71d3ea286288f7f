"""Apply rules keyed by document path, compose-go style (`services.*.ports` -> a function).

A rule gets the value at a matching path and returns its replacement; the
walk then goes on into the replacement's children, so rules for deeper paths
see canonical shapes. Containers are rebuilt with `derive`, keeping positions,
only where something below them changed; the input document is never modified
(no stage mutates a document, so unchanged parts are shared).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from compose.errors import ComposeFileError, Mark, format_path
from compose.loader.marks import MDict, MList

DocPath = tuple[str | int, ...]
Pattern = tuple[str, ...]
# (value, path, mark of the value) -> new value
Rule = Callable[[Any, DocPath, "Mark | None"], Any]


class _Node:
    """One step of the pattern trie: the rule ending here and the steps below."""

    __slots__ = ("children", "order", "rule")

    def __init__(self) -> None:
        self.children: dict[str, _Node] = {}
        self.rule: Rule | None = None
        self.order = 0


class Rules:
    """An immutable table of path patterns (`*` matches any key or index) to rules.

    Kept as a trie so the walk follows it step by step: a document node costs a
    dict lookup, not a scan of every pattern. Where two patterns match one path,
    the one listed first wins.
    """

    __slots__ = ("_root",)

    def __init__(self, table: Mapping[Pattern, Rule]) -> None:
        self._root = _Node()
        for order, (pattern, rule) in enumerate(table.items()):
            node = self._root
            for step in pattern:
                node = node.children.setdefault(step, _Node())
            if node.rule is None:
                node.rule, node.order = rule, order


def _rule(states: list[_Node]) -> Rule | None:
    best: _Node | None = None
    for state in states:
        if state.rule is not None and (best is None or state.order < best.order):
            best = state
    return best.rule if best is not None else None


def _below(states: list[_Node], key: str | int) -> list[_Node]:
    out = []
    for state in states:
        children = state.children
        if not children:
            continue
        if isinstance(key, str) and (exact := children.get(key)) is not None:
            out.append(exact)
        if (anything := children.get("*")) is not None:
            out.append(anything)
    return out


def walk(node: Any, rules: Rules, path: DocPath = (), mark: Mark | None = None) -> Any:
    """`node` with every rule applied where its pattern matches."""
    return _walk(node, [rules._root], path, mark)


# The walk is the loader's inner loop (every node of every file, several times): children that no
# pattern reaches are kept as they are without building their path, and a container is rebuilt only
# when a child was replaced.
def _walk(node: Any, states: list[_Node], path: DocPath, mark: Mark | None) -> Any:
    rule = _rule(states)
    if rule is not None:
        node = rule(node, path, mark)
    if not any(s.children for s in states):
        return node
    if isinstance(node, MDict):
        items, changed = [], False
        for k, v in node.items():
            below = _below(states, k)
            if below:
                new = _walk(v, below, (*path, k), node.mark_of(k))
                changed = changed or new is not v
                v = new
            items.append((k, v))
        return node.derive(items) if changed else node
    if isinstance(node, MList):
        values, changed = [], False
        for i, v in enumerate(node):
            below = _below(states, i)
            if below:
                new = _walk(v, below, (*path, i), node.mark_of(i))
                changed = changed or new is not v
                v = new
            values.append(v)
        return node.derive(values) if changed else node
    if isinstance(node, dict):
        return {k: _step(v, states, (*path, k), mark) for k, v in node.items()}
    if isinstance(node, list):
        return [_step(v, states, (*path, i), mark) for i, v in enumerate(node)]
    return node


def _step(value: Any, states: list[_Node], path: DocPath, mark: Mark | None) -> Any:
    below = _below(states, path[-1])
    return _walk(value, below, path, mark) if below else value


def positioned(node: Any, mark: Mark | None = None) -> Any:
    """A copy where every dict is an MDict and every list an MList (positions from the nearest known)."""
    if isinstance(node, MDict):
        items, changed = [], False
        for k, v in node.items():
            if isinstance(v, dict | list | tuple):
                new = positioned(v, node.mark_of(k) or mark)
                changed = changed or new is not v
                v = new
            items.append((k, v))
        return node.derive(items) if changed else node
    if isinstance(node, MList):
        values, changed = [], False
        for i, v in enumerate(node):
            if isinstance(v, dict | list | tuple):
                new = positioned(v, node.mark_of(i) or mark)
                changed = changed or new is not v
                v = new
            values.append(v)
        return node.derive(values) if changed else node
    if isinstance(node, dict):
        return mdict({str(k): positioned(v, mark) for k, v in node.items()}, mark)
    if isinstance(node, list | tuple):
        return mlist([positioned(v, mark) for v in node], mark)
    return node


def fail(message: str, path: DocPath, mark: Mark | None) -> ComposeFileError:
    """The error for a bad value at `path` (raise it)."""
    return ComposeFileError(message, mark, format_path(path))


def mdict(items: Mapping[str, Any] | list[tuple[str, Any]], mark: Mark | None,
          key_marks: Mapping[str, Mark | None] | None = None) -> MDict:
    """A new MDict whose keys are all placed at `mark` unless `key_marks` says better."""
    out = MDict(items, mark=mark)
    for key in out:
        where = (key_marks or {}).get(key) or mark
        if where is not None:
            out.key_marks[key] = where
    return out


def mlist(items: list[Any], mark: Mark | None, item_marks: list[Mark | None] | None = None) -> MList:
    """A new MList; items without a known position are placed at `mark`."""
    marks = list(item_marks or [])
    marks += [mark] * (len(items) - len(marks))
    return MList(items, mark=mark, item_marks=marks)


def place(node: MDict, key: str, mark: Mark | None) -> None:
    """Record `mark` as the position of `key` unless one is known already."""
    if mark is not None and key not in node.key_marks:
        node.key_marks[key] = mark


def item_mark(container: Any, index: int, default: Mark | None) -> Mark | None:
    if isinstance(container, MList):
        return container.mark_of(index) or default
    return default
