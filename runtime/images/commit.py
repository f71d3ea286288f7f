"""`docker commit`: the image config dockerd writes for a container snapshot.

The container's config (overridden by the request's own config fields) with
the `--change` instructions applied, the author and the message, the
parent's layers and history plus the new layer and one history entry
(`created_by` the container's command, `empty_layer` when nothing changed).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from runtime.images import oci
from runtime.images.changes import apply_changes


def merged_config(container: Mapping[str, Any], requested: Mapping[str, Any] | None,
                  changes: Sequence[str]) -> dict[str, Any]:
    """The new image's container config: the request's set fields over the container's, then the changes."""
    base: dict[str, Any] = json.loads(json.dumps(dict(container)))
    for key, value in (requested or {}).items():
        if value not in (None, "", [], {}, False, 0):
            base[key] = value
    return apply_changes(changes, base)


def commit_config(parent: Mapping[str, Any], config: Mapping[str, Any], diff_id: str | None, *,
                  author: str, comment: str, created: str, created_by: str) -> bytes:
    """The committed image's config (canonical JSON); `diff_id` None when the container changed nothing."""
    rootfs = dict(parent.get("rootfs") or {"type": "layers", "diff_ids": []})
    diff_ids = list(rootfs.get("diff_ids") or [])
    if diff_id is not None:
        diff_ids.append(diff_id)
    entry: dict[str, Any] = {"created": created, "created_by": created_by}
    if author:
        entry["author"] = author
    if comment:
        entry["comment"] = comment
    if diff_id is None:
        entry["empty_layer"] = True
    image: dict[str, Any] = {
        "architecture": parent.get("architecture") or oci.host_platform().architecture,
        "config": dict(config),
        "created": created,
        "history": [*(parent.get("history") or []), entry],
        "os": parent.get("os") or "linux",
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
    }
    for key in ("variant", "os.version", "os.features"):
        if parent.get(key):
            image[key] = parent[key]
    if author:
        image["author"] = author
    if comment:
        image["comment"] = comment
    return oci.canonical_json(image)
