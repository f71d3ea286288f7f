"""What makes two items of a compose list "the same" when files are merged.

compose-go's `override/uncity.go`: a later item with the key of an earlier
one replaces it. Items that cannot be keyed (a mapping in a list of strings)
are never equal to another item, so they are all kept.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from typing import Any

KeyFn = Callable[[Any], Hashable]


def kv_key(item: Any) -> Hashable:
    """`NAME=value` by NAME; anything else by itself."""
    if isinstance(item, str):
        return item.partition("=")[0]
    return hashable(item)


def hashable(item: Any) -> Hashable:
    if isinstance(item, Mapping | list):
        return ("#", id(item))  # never equal to another item: kept
    return str(item)


def port_key(item: Any) -> Hashable:
    if isinstance(item, Mapping):
        published = item.get("published")
        return (
            str(item.get("host_ip") or "0.0.0.0"),
            "" if published is None else str(published),
            str(item.get("target")),
            str(item.get("protocol") or "tcp"),
        )
    return hashable(item)


def volume_key(item: Any) -> Hashable:
    if isinstance(item, Mapping):
        return item["target"] if "target" in item else hashable(item)
    if isinstance(item, str):  # short syntax `[source:]target[:mode]`
        parts = item.split(":")
        return parts[1] if len(parts) > 1 else parts[0]
    return hashable(item)


def device_key(item: Any) -> Hashable:
    if isinstance(item, Mapping):
        target = item.get("target", item.get("source"))
        return target if target is not None else hashable(item)
    return volume_key(item)


def mount_key(folder: str) -> KeyFn:
    """secrets/configs: by target, which defaults to `<folder>/<source>`."""

    def key(item: Any) -> Hashable:
        if isinstance(item, Mapping):
            return str(item["target"]) if item.get("target") else f"{folder}/{item.get('source')}"
        return f"{folder}/{item}"

    return key


def env_file_key(item: Any) -> Hashable:
    if isinstance(item, Mapping):
        return str(item["path"]) if "path" in item else hashable(item)
    return hashable(item)
