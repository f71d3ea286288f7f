"""`--cache-from` images that are not the cache's descendants (dockerd's image/cache/cache.go): a
step is matched against a source's `History[].CreatedBy`.

A source fits a parent when the parent's history and layers are a prefix of the source's; the
step then matches when the source's next history entry was created by the step's command. On
the source's last entry the source itself is the step's image; otherwise an image is made of
the parent, that entry and its layer (if any), which is also what the next step compares with.
After a restore only that source is tried (dockerd narrows its sources the same way).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, BinaryIO

from runtime.images import oci
from runtime.images.compression import decompressed


@dataclass(frozen=True)
class Match:
    source: str  # the source image's ID
    index: int  # the history entry that is the step
    last: bool  # the source's last entry: the source is the step's image
    layer: int | None  # the layer of that entry (its index in rootfs.diff_ids), None for an empty_layer one


def _layer_index(history: Sequence[Mapping[str, Any]], index: int) -> int | None:
    if history[index].get("empty_layer"):
        return None
    return sum(1 for entry in history[:index] if not entry.get("empty_layer"))


def _fits(parent: Mapping[str, Any] | None, source: Mapping[str, Any]) -> bool:
    """dockerd's isValidParent."""
    history = list(source.get("history") or [])
    if not history:
        return False
    if parent is None:
        return True
    mine = list(parent.get("history") or [])
    layers = list((parent.get("rootfs") or {}).get("diff_ids") or [])
    if not mine and not layers:
        return True
    theirs = list((source.get("rootfs") or {}).get("diff_ids") or [])
    return len(mine) < len(history) and len(layers) <= len(theirs) and history[: len(mine)] == mine \
        and theirs[: len(layers)] == layers


def match(parent: Mapping[str, Any] | None, sources: Sequence[tuple[str, Mapping[str, Any]]],
          created_by: str) -> Match | None:
    """The source entry a step of command `created_by` on `parent` (its image config; None for
    scratch) is, if any (pure)."""
    start = len((parent or {}).get("history") or [])
    for source_id, doc in sources:
        history = list(doc.get("history") or [])
        if not _fits(parent, doc) or len(history) <= start or history[start].get("created_by") != created_by:
            continue
        layer = _layer_index(history, start)
        if layer is not None and layer >= len((doc.get("rootfs") or {}).get("diff_ids") or []):
            continue
        return Match(source_id, start, start == len(history) - 1, layer)
    return None


def restored_config(parent: Mapping[str, Any] | None, source: Mapping[str, Any], found: Match,
                    config: Mapping[str, Any]) -> bytes:
    """The config of the image a restore makes (dockerd's restoreCachedImage, pure)."""
    parent = parent or {}
    entry = (source.get("history") or [])[found.index]
    diff_ids = list((parent.get("rootfs") or {}).get("diff_ids") or [])
    if found.layer is not None:
        diff_ids.append(source["rootfs"]["diff_ids"][found.layer])
    image: dict[str, Any] = {
        "architecture": source.get("architecture") or parent.get("architecture") or "",
        "config": dict(config),
        "created": entry.get("created") or source.get("created") or "",
        "history": [*(parent.get("history") or []), entry],
        "os": source.get("os") or "linux",
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
    }
    for key in ("variant", "os.version", "os.features", "author"):
        if source.get(key):
            image[key] = source[key]
    return oci.canonical_json(image)


def restore(images: Any, parent_id: str, source_id: str, found: Match, config: Mapping[str, Any]) -> str:
    """Make the step's image from `parent_id` and the source's entry (blocking). `images` is the
    ImageStore; the layer is written again from the source's blob (same diff ID, same snapshot)."""
    parts = images.distribution().image_parts(source_id)
    source = json.loads(parts[1])
    parent = images.image_config(parent_id) if parent_id else None
    blob = parts[2][found.layer] if found.layer is not None else None

    def write(out: BinaryIO) -> int:
        if blob is None:
            return 0
        with decompressed(images.distribution().blob_path(blob.digest)) as (plain, _kind):
            shutil.copyfileobj(plain, out, 1 << 20)
        return 1

    def make(_parent_doc: dict[str, Any], diff_id: str | None) -> bytes:
        if blob is not None and diff_id != blob.diff_id:
            raise ValueError(f"layer {blob.digest} of {source_id} does not hold its diff ID")
        return restored_config(parent, source, found, config)

    return str(images.commit(parent_id, write, make, None, None, parent_link=parent_id))
