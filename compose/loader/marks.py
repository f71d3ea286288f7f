"""Mappings and sequences that remember where their entries came from.

The loader's stages are functions over plain mappings. `MDict` and `MList`
are dict and list with positions attached, so an error found in any stage can
still say file:line:col. A stage that builds a new container copies the
positions it keeps with `MDict.derive` / `MList.derive`; where positions were
lost, `mark_at` falls back to the nearest enclosing known one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from compose.errors import Mark

# Merge directives from the YAML tags `!reset` and `!override`.
RESET = "reset"
OVERRIDE = "override"


class MDict(dict[str, Any]):
    """A mapping with the position of itself and of each key."""

    __slots__ = ("key_marks", "mark", "tags")

    def __init__(self, *args: Any, mark: Mark | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.mark = mark
        self.key_marks: dict[str, Mark] = {}
        # key -> RESET or OVERRIDE, from `!reset` / `!override` on the value.
        self.tags: dict[str, str] = {}

    def derive(self, items: Iterable[tuple[str, Any]] | Mapping[str, Any] = ()) -> MDict:
        """A new MDict with `items`, keeping this one's positions and tags."""
        out = MDict(items, mark=self.mark)
        out.key_marks = dict(self.key_marks)
        out.tags = dict(self.tags)
        return out

    def mark_of(self, key: str) -> Mark | None:
        return self.key_marks.get(key, self.mark)


class MList(list[Any]):
    """A sequence with the position of itself and of each item."""

    __slots__ = ("item_marks", "mark")

    def __init__(self, items: Iterable[Any] = (), mark: Mark | None = None,
                 item_marks: list[Mark | None] | None = None) -> None:
        super().__init__(items)
        self.mark = mark
        self.item_marks: list[Mark | None] = item_marks if item_marks is not None else []

    def derive(self, items: Iterable[Any] = ()) -> MList:
        """A new MList with `items`; positions kept index by index."""
        return MList(items, mark=self.mark, item_marks=list(self.item_marks))

    def mark_of(self, index: int) -> Mark | None:
        if 0 <= index < len(self.item_marks) and self.item_marks[index] is not None:
            return self.item_marks[index]
        return self.mark


def mark_of(container: Any, key: str | int | None = None) -> Mark | None:
    """Position of `container[key]` (or of the container), if known."""
    if isinstance(container, MDict):
        return container.mark if key is None else container.mark_of(str(key))
    if isinstance(container, MList):
        return container.mark if key is None or not isinstance(key, int) else container.mark_of(key)
    return None


def mark_at(root: Any, path: Iterable[str | int]) -> Mark | None:
    """The most precise known position for `path` below `root`."""
    best = mark_of(root)
    node = root
    for part in path:
        found = mark_of(node, part)
        if found is not None:
            best = found
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            break
    return best


def plain(value: Any) -> Any:
    """A deep copy with ordinary dicts and lists (for output and hashing)."""
    if isinstance(value, Mapping):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value
