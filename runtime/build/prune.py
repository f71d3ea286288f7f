"""`POST /build/prune`: drop build cache entries and the images only the cache held.

Filters as dockerd takes them for the build cache: `until` (entries not used since),
`id` (entry key or image ID prefix); `all` is accepted (our cache holds nothing a build
needs to keep); `keep-storage` keeps the most recently used entries within that many bytes.
An image goes only when nothing else holds it: no tag or digest, no container, no entry kept.
RUN cache mounts no step holds go too, the kept contexts no build uses, the remembered COPY digests.
"""

from __future__ import annotations

import contextlib
import shutil
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from runtime.build.cache import BuildCache, Entry
from runtime.build.contexts import drop_unused
from runtime.build.run_mounts import prune_caches
from runtime.errors import bad_request
from runtime.images import filters as image_filters

KNOWN_FILTERS = frozenset({"until", "id", "parent", "type", "description", "inuse", "shared", "private"})


@dataclass(frozen=True)
class PruneReport:
    deleted: tuple[str, ...]
    reclaimed: int

    def body(self) -> dict[str, object]:
        return {"CachesDeleted": list(self.deleted) or None, "SpaceReclaimed": self.reclaimed}


def chosen(entries: Sequence[Entry], spec: Mapping[str, list[str]], keep_storage: int,
           sizes: Mapping[str, int], now: float) -> list[Entry]:
    """The entries a prune removes (pure)."""
    unknown = set(spec) - KNOWN_FILTERS
    if unknown:
        raise bad_request(f"invalid filter '{sorted(unknown)[0]}'")
    until = min((image_filters.parse_until(v, now) for v in spec.get("until", [])), default=None)
    ids = spec.get("id", [])
    out = [e for e in entries
           if (until is None or e.last_used < until)
           and (not ids or any(e.key.startswith(i) or e.image_id.removeprefix("sha256:").startswith(
               i.removeprefix("sha256:")) for i in ids))]
    if keep_storage > 0:
        kept, total = set(), 0
        for entry in sorted(entries, key=lambda e: e.last_used, reverse=True):
            size = sizes.get(entry.image_id, 0)
            if total + size > keep_storage:
                break
            total += size
            kept.add(entry.key)
        out = [e for e in out if e.key not in kept]
    return out


def prune(cache: BuildCache, images: object, in_use: Callable[[str], bool], spec: Mapping[str, list[str]],
          keep_storage: int) -> PruneReport:
    """Blocking: run in a worker thread. `images` is the ImageStore."""
    from runtime.images.store import ImageStore

    assert isinstance(images, ImageStore)
    entries = list(cache.entries())
    shutil.rmtree(cache.root.parent / "digests", ignore_errors=True)  # remembered COPY source digests
    drop_unused(cache.root.parent.parent)  # kept contexts no build uses
    before = images.layer_sizes()
    sizes = {image_id: sum(size for _chain, size in layers) for image_id, layers in before.items()}
    going = chosen(entries, spec, keep_storage, sizes, time.time())
    for entry in going:
        cache.drop(entry.key)
    kept_images = {e.image_id for e in entries if e not in going}
    deleted: list[str] = []
    for entry in going:
        image_id = entry.image_id
        if image_id in kept_images or image_id not in before or in_use(image_id):
            deleted.append(entry.key)
            continue
        with contextlib.suppress(Exception):  # gone with a chain already, or held by another: it stays
            doc = images.inspect(image_id)
            if not doc.get("RepoTags") and not doc.get("RepoDigests"):
                images.remove(image_id, in_use=in_use)
        deleted.append(entry.key)
    mounts, mount_bytes = prune_caches(cache.root.parent / "run-cache")  # RUN --mount=type=cache dirs
    deleted += mounts
    after = images.layer_sizes()
    gone_chains = {c: s for layers in before.values() for c, s in layers}
    for layers in after.values():
        for chain, _size in layers:
            gone_chains.pop(chain, None)
    return PruneReport(tuple(deleted), sum(gone_chains.values()) + mount_bytes)
