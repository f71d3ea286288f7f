"""Apply rules keyed by document path, compose-go style (`services.*.ports` -> a function).

A rule gets the value at a matching path and returns its replacement; the
walk then goes on into the replacement's children, so rules for deeper paths
see canonical shapes. Containers are rebuilt with `derive`, keeping positions,
and the input document is never modified.
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


def _matches(pattern: Pattern, path: DocPath) -> bool:
    return all(want == "*" or (isinstance(got, str) and want == got) for want, got in zip(pattern, path, strict=True))


class Rules:
    """An immutable table of path patterns (`*` matches any key or index) to rules."""

    __slots__ = ("_by_length", "_prefixes")

    def __init__(self, table: Mapping[Pattern, Rule]) -> None:
        by_length: dict[int, list[tuple[Pattern, Rule]]] = {}
        prefixes: dict[int, set[Pattern]] = {}
        for pattern, rule in table.items():
            by_length.setdefault(len(pattern), []).append((pattern, rule))
            for cut in range(len(pattern)):
                prefixes.setdefault(cut, set()).add(pattern[:cut])
        self._by_length = by_length
        self._prefixes = {cut: tuple(found) for cut, found in prefixes.items()}

    def rule_for(self, path: DocPath) -> Rule | None:
        for pattern, rule in self._by_length.get(len(path), ()):
            if _matches(pattern, path):
                return rule
        return None

    def reaches_below(self, path: DocPath) -> bool:
        return any(_matches(prefix, path) for prefix in self._prefixes.get(len(path), ()))


def walk(node: Any, rules: Rules, path: DocPath = (), mark: Mark | None = None) -> Any:
    """`node` with every rule applied where its pattern matches."""
    rule = rules.rule_for(path)
    if rule is not None:
        node = rule(node, path, mark)
    if not rules.reaches_below(path):
        return node
    if isinstance(node, MDict):
        return node.derive((k, walk(v, rules, (*path, k), node.mark_of(k))) for k, v in node.items())
    if isinstance(node, MList):
        return node.derive(walk(v, rules, (*path, i), node.mark_of(i)) for i, v in enumerate(node))
    if isinstance(node, dict):
        return {k: walk(v, rules, (*path, k), mark) for k, v in node.items()}
    if isinstance(node, list):
        return [walk(v, rules, (*path, i), mark) for i, v in enumerate(node)]
    return node


def positioned(node: Any, mark: Mark | None = None) -> Any:
    """A copy where every dict is an MDict and every list an MList (positions from the nearest known)."""
    if isinstance(node, MDict):
        return node.derive((k, positioned(v, node.mark_of(k) or mark)) for k, v in node.items())
    if isinstance(node, MList):
        return node.derive(positioned(v, node.mark_of(i) or mark) for i, v in enumerate(node))
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
