"""Sequences in the merge stage: lists with their items' marks, joined and normalized.

Pieces `merge` shares among its rules; each keeps the source mark of every item, so an error
about a merged list still points at the file and line the item came from.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from compose.errors import Mark
from compose.loader.marks import MList, mark_of


def item_mark(items: Any, index: int) -> Mark | None:
    if isinstance(items, MList) and index < len(items.item_marks):
        return items.item_marks[index]
    return None


def concat(base: Any, over: Any) -> MList:
    first, second = as_list(base), as_list(over)
    out = MList(mark=first.mark if first.mark is not None else second.mark)
    for items in (first, second):
        for i, item in enumerate(items):
            out.append(item)
            out.item_marks.append(item_mark(items, i))
    return out


def as_list(value: Any) -> MList:
    if isinstance(value, MList):
        return value
    if isinstance(value, list):
        return MList(value)
    if value is None:
        return MList()
    return MList([value], mark=mark_of(value))


def host_entries(value: Any) -> MList:
    """A mapping `{host: ip or [ips]}` as compose-go's sorted `host=ip` items."""
    if not isinstance(value, Mapping):
        return as_list(value)
    out = MList(mark=mark_of(value))
    for host in sorted(value):
        addresses = value[host]
        if addresses is None:
            out.append(host)
        else:
            out.extend(f"{host}={address}" for address in as_list(addresses))
    return out
