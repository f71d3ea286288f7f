"""Removing images (`rmi`), pruning, and collecting what no image holds any more.

Docker's rules: removing by name untags, and deletes the image only with its last
reference gone; removing by ID deletes (refused without force when several repositories
name it). An image a container uses is never deleted: without force that is a 409
conflict, with force its references go and the image stays, dangling.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

from runtime.filters import match_labels
from runtime.images import filters
from runtime.images.docker_json import labels_of, parse_time
from runtime.images.errors import ImageConflict
from runtime.images.leases import Leases
from runtime.images.reference import Reference, familiar, parse
from runtime.images.snapshots import Snapshots
from runtime.store.blobs import BlobStore, is_digest
from runtime.store.metadata import ImageRecord, Metadata

InUse = Callable[[str], bool]


def _short(image_id: str) -> str:
    return image_id.removeprefix("sha256:")[:12]


class Removal:
    def __init__(
        self, lock: threading.RLock, blobs: BlobStore, snapshots: Snapshots, meta: Metadata, leases: Leases
    ) -> None:
        self._lock = lock
        self._blobs = blobs
        self._snapshots = snapshots
        self._meta = meta
        self._leases = leases

    def collect(self, candidates: Iterable[str] | None = None) -> tuple[int, list[str]]:
        """Delete snapshots and blobs no image references and no operation leases.

        Blobs are looked at among `candidates` (all blobs when None); snapshots always all.
        Returns (bytes freed, chain IDs of removed snapshots)."""
        with self._lock:
            leased = self._leases.held()
            rows = {r.chain_id: r.size for r in self._meta.drop_unreferenced(leased)}
            chains = self._meta.referenced_chains()
            freed, removed = 0, []
            for chain in self._snapshots.ids():
                if chain not in chains and chain not in leased:
                    self._snapshots.remove(chain)
                    removed.append(chain)
                    freed += rows.get(chain, 0)
            referenced = self._meta.referenced_blobs()
            pool = list(self._blobs.digests()) if candidates is None else [d for d in candidates if is_digest(d)]
            for digest in pool:
                if digest not in referenced and digest not in leased:
                    self._blobs.delete(digest)
        return freed, removed

    def _delete(self, image: ImageRecord, out: list[dict[str, Any]]) -> int:
        for row in self._meta.refs_of(image.id):
            out.append({"Untagged": familiar(row.name)})
        self._meta.delete_image(image.id)
        out.append({"Deleted": image.id})
        candidates = [image.id, *(blob for _chain, blob in image.layers)]
        if image.manifest:
            candidates.append(image.manifest)
        freed, removed = self.collect(candidates)
        layer_order = [chain for chain, _blob in reversed(image.layers)]
        out.extend({"Deleted": chain} for chain in layer_order if chain in removed)
        return freed

    def _has_children(self, image_id: str) -> bool:
        return any(other.parent == image_id for other in self._meta.images())

    def _delete_chain(self, image: ImageRecord, out: list[dict[str, Any]], in_use: InUse) -> None:
        """Delete the image, then its untagged parents no other image or container holds (dockerd's
        prune of a build's steps: `docker rmi` takes the chain of a built image with it)."""
        self._delete(image, out)
        parent = self._meta.image(image.parent) if image.parent else None
        while (parent is not None and not self._meta.refs_of(parent.id) and not in_use(parent.id)
               and not self._has_children(parent.id)):
            self._delete(parent, out)
            parent = self._meta.image(parent.parent) if parent.parent else None

    def remove(
        self, image_id: str, ref: str, by_name: Reference | None, force: bool, in_use: InUse, prune: bool = True
    ) -> list[dict[str, Any]]:
        with self._lock:
            image = self._meta.image(image_id)
            assert image is not None
            refs = self._meta.refs_of(image_id)
            out: list[dict[str, Any]] = []
            if by_name is not None:
                name = str(by_name)
                # As dockerd: untagging the last tag of a repository drops its digest references too.
                going = [name]
                if by_name.tag and not any(r.kind == "tag" and r.name != name and parse(r.name).name == by_name.name
                                           for r in refs):
                    going += [r.name for r in refs if r.kind == "digest" and parse(r.name).name == by_name.name]
                if any(r.name not in going for r in refs):
                    return self._untag(going)
                if in_use(image_id):
                    if not force:
                        raise ImageConflict(
                            f'conflict: unable to remove repository reference "{ref}" (must force) - '
                            f"container is using its referenced image {_short(image_id)}"
                        )
                    return self._untag(going)
                if self._has_children(image_id):
                    return self._untag(going)  # a parent of other images loses its name only, as in dockerd
                self._delete_going(image, out, in_use, prune)
                return out
            if self._has_children(image_id):
                raise ImageConflict(f"conflict: unable to delete {_short(image_id)} (cannot be forced) - "
                                    "image has dependent child images")
            repos = {parse(r.name).name for r in refs if r.kind == "tag"}
            if len(repos) > 1 and not force:
                raise ImageConflict(
                    f"conflict: unable to delete {_short(image_id)} (must be forced) - "
                    "image is referenced in multiple repositories"
                )
            if in_use(image_id):
                if not force:
                    raise ImageConflict(
                        f"conflict: unable to delete {_short(image_id)} (must be forced) - "
                        "image is being used by a container"
                    )
                for row in refs:  # the container keeps its layers: only the names go
                    self._meta.delete_ref(row.name)
                    out.append({"Untagged": familiar(row.name)})
                return out
            self._delete_going(image, out, in_use, prune)
            return out

    def _delete_going(self, image: ImageRecord, out: list[dict[str, Any]], in_use: InUse, prune: bool) -> None:
        if prune:
            self._delete_chain(image, out, in_use)
        else:
            self._delete(image, out)

    def _untag(self, names: list[str]) -> list[dict[str, Any]]:
        for name in names:
            self._meta.delete_ref(name)
        return [{"Untagged": familiar(name)} for name in names]

    def prune(self, dangling_only: bool, spec: filters.Filters, in_use: InUse) -> dict[str, Any]:
        filters.check_keys(spec, filters.PRUNE_KEYS)
        dangling = filters.parse_bool("dangling", spec.get("dangling", []))
        if dangling is not None:
            dangling_only = dangling
        now = time.time()
        until = min((filters.parse_until(v, now) for v in spec.get("until", [])), default=None)
        deleted: list[dict[str, Any]] = []
        freed = 0
        with self._lock:
            images = self._meta.images()
            # As dockerd: an image with children (a build's steps) is never deleted before them, so
            # the parents of a kept image stay; a chain goes from its head down.
            children = Counter(image.parent for image in images if image.parent)
            candidates = [image for image in images if self._prunable(image, dangling_only, until, spec, in_use)]
            going = True
            while going:
                going = False
                for image in candidates:
                    if children[image.id] == 0 and self._meta.image(image.id) is not None:
                        freed += self._delete(image, deleted)
                        children[image.parent] -= 1
                        going = True
                candidates = [image for image in candidates if self._meta.image(image.id) is not None]
            _freed, _removed = self.collect()  # anything an earlier crash orphaned
        return {"ImagesDeleted": deleted, "SpaceReclaimed": freed + _freed}

    def _prunable(self, image: ImageRecord, dangling_only: bool, until: float | None, spec: filters.Filters,
                  in_use: InUse) -> bool:
        if dangling_only and self._meta.refs_of(image.id):
            return False
        if until is not None and (parse_time(image.created) or 0.0) >= until:
            return False
        return match_labels(spec, labels_of(self._config(image.id))) and not in_use(image.id)

    def _config(self, image_id: str) -> dict[str, Any]:
        try:
            data = json.loads(self._blobs.read_bytes(image_id, verify=False))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}
