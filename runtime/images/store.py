"""The image store facade the engine codes against.

Layout under `root`: `images.db` (sqlite WAL), `blobs/sha256/<hex>` (configs, manifests,
layer blobs as loaded), `snapshots/<chain id hex>/fs` (one overlay lower dir per layer
chain, shared between images). Heavy work (reading archives, applying layers) runs outside
the write lock under leases; only recording and collecting take the lock.
"""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

from runtime.filters import match_labels
from runtime.images import archive_load, archive_save, docker_json, oci
from runtime.images import filters as image_filters
from runtime.images.changes import apply_changes
from runtime.images.distribution import Distribution
from runtime.images.errors import ImageConflict, ImageInvalid, ImageNotFound
from runtime.images.imports import import_config, ingest_layer
from runtime.images.ingest import Ingest
from runtime.images.layers import Reuse
from runtime.images.leases import Lease, Leases
from runtime.images.reference import Reference, familiar, parse, try_parse, validate_tag
from runtime.images.removal import Removal
from runtime.images.snapshots import Snapshots
from runtime.images.unpack import Prepared, Unpacker
from runtime.store.blobs import BlobStore, is_digest
from runtime.store.metadata import ImageRecord, LayerBlob, Metadata

InUse = Callable[[str], bool]


def _never(_image_id: str) -> bool:
    return False


class ImageStore:
    """Images under one root. Every method blocks and may be called from worker threads."""

    def __init__(self, root: Path) -> None:
        root.mkdir(mode=0o710, parents=True, exist_ok=True)  # modes as dockerd's: runtime/layout.py
        self.root = root
        self._lock = threading.RLock()
        self._blobs = BlobStore(root / "blobs")
        self._snapshots = Snapshots(root / "snapshots")
        self._meta = Metadata(root / "images.db")
        self._leases = Leases(self._lock)
        self._unpacker = Unpacker(self._blobs, self._snapshots, self._meta)
        self._removal = Removal(self._lock, self._blobs, self._snapshots, self._meta, self._leases)
        self._configs: dict[str, dict[str, Any]] = {}
        self.repair()

    def close(self) -> None:
        self._meta.close()

    def repair(self) -> None:
        """Clear what an interrupted write left and drop images whose content is gone."""
        with self._lock:
            self._blobs.repair()
            self._snapshots.repair()
            for image in self._meta.images():
                if not self._blobs.exists(image.id) or any(
                    not self._snapshots.exists(chain) or not self._blobs.exists(blob) for chain, blob in image.layers
                ):
                    self._meta.delete_image(image.id)
            self._removal.collect()

    # lookups

    def resolve(self, ref: str) -> str:
        """Image ID for name[:tag], name@digest, a full or short ID; ImageNotFound otherwise."""
        return self._resolve(ref)[0]

    def _resolve(self, ref: str) -> tuple[str, Reference | None]:
        """(image ID, the reference it was found by, when found by name)."""
        if is_digest(ref) and self._meta.image(ref) is not None:
            return ref, None
        parsed = try_parse(ref)
        if parsed is not None:
            name = str(parsed.with_digest(parsed.digest)) if parsed.digest else str(parsed.defaulted())
            found = self._meta.ref(name)
            if found is not None:
                return found, parse(name)
        hexpart = ref[len("sha256:") :] if ref.startswith("sha256:") else ref
        if hexpart and len(hexpart) <= 64 and all(c in "0123456789abcdef" for c in hexpart):
            ids = self._meta.ids_with_prefix(hexpart)
            if len(ids) == 1:
                return ids[0], None
            if len(ids) > 1:
                raise ImageInvalid(f"multiple IDs found with provided prefix: {ref}")
        raise ImageNotFound(ref)

    def _image(self, image_id: str, ref: str) -> ImageRecord:
        image = self._meta.image(image_id)
        if image is None:
            raise ImageNotFound(ref)
        return image

    def _config(self, image_id: str) -> dict[str, Any]:
        config = self._configs.get(image_id)
        if config is None:
            config = json.loads(self._blobs.read_bytes(image_id, verify=False))
            self._configs[image_id] = config
        return config

    def _names(self, image_id: str) -> tuple[list[str], list[str]]:
        refs = self._meta.refs_of(image_id)
        tags = [familiar(r.name) for r in refs if r.kind == "tag"]
        digests = [familiar(r.name) for r in refs if r.kind == "digest"]
        return tags, digests

    def list_summaries(self, all: bool = False, filters: dict[str, list[str]] | None = None) -> list[dict]:
        # Without `all`, untagged images that are the parent of another (a build's steps) are hidden.
        spec = filters or {}
        image_filters.check_keys(spec, image_filters.LIST_KEYS)
        dangling = image_filters.parse_bool("dangling", spec.get("dangling", []))
        before = min((self._created(self.resolve(r)) for r in spec.get("before", [])), default=None)
        since = max((self._created(self.resolve(r)) for r in spec.get("since", [])), default=None)
        now = time.time()
        until = min((image_filters.parse_until(v, now) for v in spec.get("until", [])), default=None)
        out = []
        seen: set[str] = set()
        images = self._meta.images()
        parents = {image.parent for image in images if image.parent}
        for image in images:
            seen.add(image.id)
            config = self._config(image.id)
            tags, digests = self._names(image.id)
            if not all and image.id in parents and not tags and not digests:
                continue
            created = docker_json.parse_time(image.created) or 0.0
            if dangling is not None and dangling == bool(tags or digests):
                continue
            if "reference" in spec:
                tags = image_filters.matching_refs(spec["reference"], tags)
                digests = image_filters.matching_refs(spec["reference"], digests)
                if not tags and not digests:
                    continue
            if not match_labels(spec, docker_json.labels_of(config)):
                continue
            if (before is not None and created >= before) or (since is not None and created <= since):
                continue
            if until is not None and created >= until:
                continue
            out.append(docker_json.summary(image, config, tags, digests))
        for gone in set(self._configs) - seen:  # configs of removed images
            self._configs.pop(gone, None)
        out.sort(key=lambda s: s["Created"], reverse=True)
        return out

    def image_config(self, ref: str) -> dict[str, Any]:
        """The image's config document (the parsed config blob); do not change it."""
        return self._config(self.resolve(ref))

    def _created(self, image_id: str) -> float:
        return docker_json.parse_time(self._image(image_id, image_id).created) or 0.0

    def inspect(self, ref: str) -> dict:
        image_id = self.resolve(ref)
        image = self._image(image_id, ref)
        tags, digests = self._names(image_id)
        dirs = [self._snapshots.fs(chain) for chain, _ in image.layers]
        return docker_json.inspect(image, self._config(image_id), tags, digests, dirs)

    def history(self, ref: str) -> list[dict]:
        image_id = self.resolve(ref)
        image = self._image(image_id, ref)
        sizes = []
        for chain, _blob in image.layers:
            row = self._meta.snapshot(chain)
            sizes.append(row.size if row is not None else 0)
        return docker_json.history(image, self._config(image_id), self._names(image_id)[0], sizes)

    def layer_sizes(self) -> dict[str, list[tuple[str, int]]]:
        """Each image's layers as (chain ID, unpacked size), lowest first: what GET /system/df sums."""
        out = {}
        for image in self._meta.images():
            rows = [(chain, self._meta.snapshot(chain)) for chain, _ in image.layers]
            out[image.id] = [(chain, row.size if row is not None else 0) for chain, row in rows]
        return out

    def rootfs_layers(self, ref: str) -> list[Path]:
        """Snapshot dirs, lowest first (overlay wants them reversed in lowerdir=). They stay
        while the image exists: pass `in_use` to remove/prune for images containers use."""
        image = self._image(self.resolve(ref), ref)
        return [self._snapshots.fs(chain) for chain, _ in image.layers]

    # references

    def tag(self, ref: str, repo: str, tag: str = "latest") -> None:
        """Point repo:tag at the image (`repo` may carry the tag itself, as `docker tag` has it)."""
        image_id = self.resolve(ref)
        target = parse(repo)
        if target.digest is not None:
            raise ImageInvalid("refusing to create a tag with a digest reference")
        name = target.with_tag(validate_tag(target.tag if target.tag and tag in ("", "latest") else tag or "latest"))
        if name.path.split("/")[-1] == "sha256" and len(name.tag or "") == 64:
            raise ImageInvalid("refusing to create an ambiguous tag using digest algorithm as name")
        self._meta.set_ref(str(name), image_id, "tag", time.time())

    # removal

    def remove(
        self, ref: str, force: bool = False, noprune: bool = False, in_use: InUse = _never
    ) -> list[dict]:
        """`docker rmi`: [{"Untagged": ...}, {"Deleted": image ID}, {"Deleted": chain ID}...]; the
        untagged parents nothing else holds go too (a build's steps) unless `noprune`."""
        with self._lock:
            image_id, by_name = self._resolve(ref)
            return self._removal.remove(image_id, ref, by_name, force, in_use, prune=not noprune)

    def prune(
        self, dangling_only: bool = True, filters: dict[str, list[str]] | None = None, in_use: InUse = _never
    ) -> dict:
        """`docker image prune [-a]`: filters dangling, until, label, label!."""
        with self._lock:
            return self._removal.prune(dangling_only, filters or {}, in_use)

    # sources

    @contextmanager
    def _ingesting(self) -> Iterator[Lease]:
        """A lease for an operation that adds content; what it added but did not record
        (old-format json members, a failed load's blobs) is collected at the end."""
        keys: set[str] = set()
        try:
            with self._leases.hold() as lease:
                try:
                    yield lease
                finally:
                    keys = set(lease.keys)
        finally:
            self._removal.collect(keys)

    @contextmanager
    def ingest(self) -> Iterator[Ingest]:
        """Add an image piece by piece (a registry pull); see runtime/images/ingest.py."""
        with self._ingesting() as lease:
            yield Ingest(self._lock, self._blobs, self._snapshots, self._meta, lease)

    def distribution(self) -> Distribution:
        """What push needs of the store (runtime/images/distribution.py)."""
        return Distribution(self._lock, self._blobs, self._meta, self.resolve)

    def load(self, stream: BinaryIO) -> list[str]:
        """`docker load`: a docker-archive or OCI archive/layout tar (maybe compressed).

        Returns Docker's messages ("Loaded image: busybox:latest", "Loaded image ID: ...").
        Raises ImageInvalid (LayerError for unsafe layers) and keeps nothing of a failed load."""
        messages: list[str] = []
        with self._ingesting() as lease:
            contents = archive_load.read_archive(stream, self._blobs, lease)
            for pending in archive_load.plan(contents, self._blobs):
                blobs = [contents.blob(name, "layer", self._blobs, lease) for name in pending.layers]
                manifest = None
                if pending.manifest is not None:
                    manifest = self._put(pending.manifest, lease)
                prepared = self._unpacker.prepare(pending.config, blobs, lease, time.time(), manifest)
                refs = [(str(t), "tag") for t in pending.tags]
                refs += [(str(d), "digest") for d in pending.repo_digests]
                messages += self._commit(prepared, refs, pending.tags)
        return messages

    def _put(self, data: bytes, lease: Lease) -> str:
        digest = oci.sha256_digest(data)
        lease.add(digest)
        return self._blobs.put_bytes(data, digest)

    def _commit(self, prepared: Prepared, refs: list[tuple[str, str]], tags: list[Reference]) -> list[str]:
        with self._lock:
            moved = self._meta.add_image(prepared.record, prepared.blobs, prepared.snapshots, refs, time.time())
        messages = [
            f"The image {familiar(name)} already exists, renaming the old one with ID {old} to empty string"
            for name, old in moved
            if "@" not in name
        ]
        if tags:
            messages += [f"Loaded image: {t.familiar()}" for t in tags]
        else:
            messages.append(f"Loaded image ID: {prepared.record.id}")
        return messages

    def import_rootfs(
        self, stream: BinaryIO, repo: str | None, tag: str | None, changes: list[str], message: str = ""
    ) -> str:
        """`docker import -`: a rootfs tar (plain, gzip, bzip2, xz, zstd) as a one-layer image,
        with `--change` instructions; returns the image ID."""
        target = _target(repo, tag, "import")
        now = time.time()
        apply_changes(changes)  # refuse bad changes before reading the stream
        with self._ingesting() as lease:
            layer = ingest_layer(stream, self._blobs, lease)
            config = import_config(layer.diff_id, changes, message, docker_json.format_time(now))
            prepared = self._unpacker.prepare(config, [layer.blob], lease, now)
            refs = [(str(target), "tag")] if target is not None else []
            with self._lock:
                self._meta.add_image(prepared.record, prepared.blobs, prepared.snapshots, refs, time.time())
        return prepared.record.id

    def commit(self, parent: str, write_layer: Callable[[BinaryIO], int],
               make_config: Callable[[dict[str, Any], str | None], bytes], repo: str | None, tag: str | None,
               *, parent_link: str = "", reuse: Reuse | None = None) -> str:
        """`docker commit`: `parent`'s layers and the one `write_layer` writes (none if it wrote no
        entry), with the config `make_config(parent's config, new diff ID)`; returns the image ID.
        `parent` "" starts from nothing (a build's `FROM scratch`); `parent_link` is recorded as
        the image's Parent (the builder's steps: dockerd hides untagged parents in `docker images`);
        `reuse` offers identical files to link into the new layer's snapshot (a COPY's sources)."""
        target = _target(repo, tag, "commit")
        image_id = self.resolve(parent) if parent else ""
        layers = self._image(image_id, parent).layers if parent else ()
        now = time.time()
        with self._ingesting() as lease:
            for chain, blob in layers:
                lease.add(chain)
                lease.add(blob)
            with self._blobs.writer() as writer:
                entries = write_layer(writer)  # type: ignore[arg-type]
                lease.add(writer.digest)
                layer = writer.commit()
            config = make_config(self._config(image_id) if parent else {}, layer if entries else None)
            blobs = [blob for _chain, blob in layers] + ([layer] if entries else [])
            prepared = self._unpacker.prepare(config, blobs, lease, now, reuse=reuse, written=layer if entries else "")
            if parent_link:
                prepared.record = dataclasses.replace(prepared.record, parent=parent_link)
            refs = [(str(target), "tag")] if target is not None else []
            with self._lock:
                self._meta.add_image(prepared.record, prepared.blobs, prepared.snapshots, refs, time.time())
        return prepared.record.id

    def blob_path(self, digest: str) -> Path:
        """Where the blob `digest` lies (it may be gone by the time it is opened)."""
        return self._blobs.path(digest)

    # saving

    def save(self, refs: list[str], out: BinaryIO) -> None:
        """`docker save`: a docker-archive (Docker 25+ layout: OCI layout plus manifest.json).
        A bare repository name saves all its tags; an ID saves the image without names."""
        with self._leases.hold() as lease:
            items, source = self._save_items(refs, lease)
            archive_save.write_docker_archive(items, source, out)

    def save_oci(self, refs: list[str], out: BinaryIO) -> None:
        """An OCI image-layout archive: layer blobs as stored, original manifests kept."""
        with self._leases.hold() as lease:
            items, source = self._save_items(refs, lease)
            archive_save.write_oci_archive(items, source, out)

    def _save_items(self, refs: list[str], lease: Lease) -> tuple[list[archive_save.SaveItem], _Source]:
        """What to save, captured under the lock and leased: a concurrent `rm` cannot pull
        the content from under the stream being written."""
        chosen: dict[str, list[Reference]] = {}
        source = _Source(self._blobs)
        with self._lock:
            for ref in refs:
                parsed = try_parse(ref)
                if parsed is not None and parsed.tag is None and parsed.digest is None:
                    # A bare repository name saves every tag of it, as `docker save busybox` does.
                    same = [parse(r.name) for r in self._meta.all_refs() if r.kind == "tag"]
                    same = [r for r in same if r.name == parsed.name]
                    for r in same:
                        chosen.setdefault(self.resolve(str(r)), []).append(r)
                    if same:
                        continue
                image_id, by_name = self._resolve(ref)
                names = chosen.setdefault(image_id, [])
                if by_name is not None and by_name.tag and by_name not in names:
                    names.append(by_name)
            for image_id in chosen:
                image = self._image(image_id, image_id)
                lease.add(image_id)
                rows = []
                for _chain, blob in image.layers:
                    lease.add(blob)
                    row = self._meta.layer_blob(blob)
                    if row is None:
                        raise ImageInvalid(f"image {image_id}: layer blob {blob} is not recorded (store damaged?)")
                    rows.append(row)
                if image.manifest:
                    lease.add(image.manifest)
                source.images[image_id] = (
                    self._blobs.read_bytes(image_id),
                    rows,
                    self._blobs.read_bytes(image.manifest) if image.manifest else None,
                )
        return [archive_save.SaveItem(i, tuple(dict.fromkeys(n))) for i, n in chosen.items()], source


def _target(repo: str | None, tag: str | None, what: str) -> Reference | None:
    """The repo:tag an import or a commit names, if any."""
    if not repo:
        return None
    parsed = parse(repo)
    if parsed.digest is not None:
        raise ImageInvalid(f"cannot {what} with a digest reference")
    return parsed.with_tag(validate_tag(tag or parsed.tag or "latest"))


class _Source:
    """`archive_save.Source` over what `_save_items` captured."""

    def __init__(self, blobs: BlobStore) -> None:
        self._blobs = blobs
        self.images: dict[str, tuple[bytes, list[LayerBlob], bytes | None]] = {}

    def config_bytes(self, image_id: str) -> bytes:
        return self.images[image_id][0]

    def layer_blobs(self, image_id: str) -> list[LayerBlob]:
        return self.images[image_id][1]

    def blob_path(self, digest: str) -> Path:
        return self._blobs.path(digest)

    def manifest_bytes(self, image_id: str) -> bytes | None:
        return self.images[image_id][2]


__all__ = ["ImageConflict", "ImageInvalid", "ImageNotFound", "ImageStore"]
