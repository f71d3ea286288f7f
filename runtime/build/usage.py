"""The build cache as `GET /system/df` lists it (`BuildCache`, dockerd's shape): one record per
step the cache holds, and one per `RUN --mount=type=cache` directory.

A step's record is the layer its image added over its parent (0 bytes for a metadata step);
it is `Shared` when an image with a name (tag or digest) holds that layer, for then a prune
cannot reclaim it (the docker CLI leaves shared records out of the cache's size); `InUse`
when a container runs from the step's image. `UsageCount` counts the build's hits, as buildkit.
"""

from __future__ import annotations

import contextlib
import datetime
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from runtime.build.cache import BuildCache, Entry


def rfc3339(when: float) -> str:
    return datetime.datetime.fromtimestamp(when, datetime.UTC).isoformat().replace("+00:00", "Z")


def step_record(entry: Entry, layers: Mapping[str, Sequence[tuple[str, int]]], named_chains: frozenset[str],
                description: str, in_use: bool, uses: int) -> dict[str, Any]:
    """One cache step as dockerd's BuildCache record (pure)."""
    mine, parent = list(layers.get(entry.image_id, [])), list(layers.get(entry.parent, []))
    own = mine[-1] if len(mine) > len(parent) else None
    return {"ID": entry.key[:25], "Parents": [entry.parent] if entry.parent else None, "Type": "regular",
            "Description": description, "InUse": in_use, "Shared": own is not None and own[0] in named_chains,
            "Size": own[1] if own is not None else 0, "CreatedAt": rfc3339(entry.created),
            "LastUsedAt": rfc3339(entry.last_used), "UsageCount": uses}


def mount_records(cache_root: Path) -> list[dict[str, Any]]:
    """The `RUN --mount=type=cache` directories (Type exec.cachemount)."""
    out: list[dict[str, Any]] = []
    if not cache_root.is_dir():
        return out
    for entry in sorted(cache_root.iterdir()):
        if entry.suffix in (".lock", ".new") or not entry.is_dir():
            continue
        size, st = 0, entry.stat()
        for folder, _dirs, files in os.walk(entry):
            for name in files:
                with contextlib.suppress(OSError):
                    size += os.lstat(os.path.join(folder, name)).st_blocks * 512
        out.append({"ID": entry.name[:25], "Parents": None, "Type": "exec.cachemount",
                    "Description": f"cached mount {entry.name}", "InUse": False, "Shared": False, "Size": size,
                    "CreatedAt": rfc3339(st.st_ctime), "LastUsedAt": rfc3339(st.st_mtime), "UsageCount": 1})
    return out


def build_cache_usage(state_root: Path, images: Any, in_use: Callable[[str], bool]) -> list[dict[str, Any]]:
    """Blocking (run in a worker thread). `images` is the ImageStore."""
    from runtime.build.context import build_root

    cache = BuildCache(build_root(state_root) / "cache")
    layers = images.layer_sizes()
    named: set[str] = set()
    for summary in images.list_summaries(True, {}):
        if any(t != "<none>:<none>" for t in summary.get("RepoTags") or ()) or summary.get("RepoDigests"):
            named.update(chain for chain, _size in layers.get(summary["Id"], ()))
    out = []
    for entry in cache.entries():
        if entry.image_id not in layers:
            continue  # its image is gone: a miss the next lookup drops
        try:
            history = images.image_config(entry.image_id).get("history") or [{}]
            description = str(history[-1].get("created_by") or "")
        except Exception:
            description = ""
        out.append(step_record(entry, layers, frozenset(named), description, in_use(entry.image_id),
                               cache.uses(entry.key)))
    return out + mount_records(build_root(state_root) / "run-cache")
