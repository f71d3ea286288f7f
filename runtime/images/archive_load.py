"""Reading image archives: docker-archive (`docker save`, old and 25+ layouts) and OCI
archives/layouts as tar streams (plain, gzip, bzip2 or xz).

The stream is read once, front to back: every member is hashed; big ones go straight into
the blob store, small ones stay in memory. Then the archive's own index (manifest.json, or
index.json) says which members make which image.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import tarfile
from dataclasses import dataclass, field
from typing import BinaryIO

from runtime.images import oci
from runtime.images.errors import ImageInvalid
from runtime.images.leases import Lease
from runtime.images.reference import Reference, try_parse
from runtime.store.blobs import BlobStore, is_digest

SMALL = 1 << 20
_MAX_LINK_DEPTH = 16
_MAX_INDEX_DEPTH = 4


@dataclass
class Member:
    digest: str
    size: int
    data: bytes | None  # None: the content is in the blob store under `digest`


@dataclass
class Contents:
    members: dict[str, Member] = field(default_factory=dict)
    links: dict[str, str] = field(default_factory=dict)

    def find(self, name: str) -> Member | None:
        name = _clean(name)
        for _ in range(_MAX_LINK_DEPTH):
            if name in self.members:
                return self.members[name]
            if name not in self.links:
                return None
            name = self.links[name]
        return None

    def need(self, name: str, what: str) -> Member:
        member = self.find(name)
        if member is None:
            raise ImageInvalid(f"archive: {what} {name!r} is missing")
        return member

    def read(self, name: str, what: str, blobs: BlobStore) -> bytes:
        member = self.need(name, what)
        return member.data if member.data is not None else blobs.read_bytes(member.digest)

    def blob(self, name: str, what: str, blobs: BlobStore, lease: Lease) -> str:
        """The member as a blob in the store (small members are written there now)."""
        member = self.need(name, what)
        lease.add(member.digest)
        if member.data is not None:
            blobs.put_bytes(member.data, member.digest)
        return member.digest

    def stored(self) -> set[str]:
        return {m.digest for m in self.members.values() if m.data is None}


@dataclass
class Pending:
    """One image to make: its config, its layer members (lowest first) and its names."""

    config: bytes
    layers: list[str]
    tags: list[Reference]
    repo_digests: list[Reference] = field(default_factory=list)
    manifest: bytes | None = None  # kept (as a blob) so save_oci can give the same digest


def _clean(name: str) -> str:
    return posixpath.normpath("/" + name).lstrip("/")


def read_archive(stream: BinaryIO, blobs: BlobStore, lease: Lease) -> Contents:
    contents = Contents()
    try:
        with tarfile.open(fileobj=stream, mode="r|*") as tar:
            for member in tar:
                name = _clean(member.name)
                if member.isreg():
                    contents.members[name] = _ingest(tar, member, name, blobs, lease)
                elif member.issym():
                    contents.links[name] = _clean(posixpath.join(posixpath.dirname(name), member.linkname))
                elif member.islnk():
                    contents.links[name] = _clean(member.linkname)
    except tarfile.TarError as exc:
        raise ImageInvalid(f"archive: not a valid tar stream: {exc}") from None
    return contents


def _ingest(tar: tarfile.TarFile, member: tarfile.TarInfo, name: str, blobs: BlobStore, lease: Lease) -> Member:
    src = tar.extractfile(member)
    assert src is not None
    if member.size <= SMALL:
        data = src.read()
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        result = Member(digest, len(data), data)
    else:
        with blobs.writer() as writer:
            writer.copy_from(src)  # type: ignore[arg-type]
            lease.add(writer.digest)  # before commit: a concurrent GC must not take it
            digest = writer.commit()
        result = Member(digest, writer.size, None)
    parts = name.split("/")
    named = f"{parts[1]}:{parts[2]}" if len(parts) == 3 and parts[0] == "blobs" else ""
    if is_digest(named) and digest != named:
        raise ImageInvalid(f"archive: {name} does not match its digest (content is {digest})")
    return result


def plan(contents: Contents, blobs: BlobStore) -> list[Pending]:
    if contents.find("manifest.json") is not None:
        return _plan_docker(contents, blobs)
    if contents.find("index.json") is not None:
        return _plan_oci(contents, blobs)
    raise ImageInvalid("archive: neither a docker-archive (manifest.json) nor an OCI layout (index.json)")


def _plan_docker(contents: Contents, blobs: BlobStore) -> list[Pending]:
    try:
        items = json.loads(contents.read("manifest.json", "file", blobs))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ImageInvalid(f"archive: manifest.json is not valid JSON: {exc}") from None
    if not isinstance(items, list):
        raise ImageInvalid("archive: manifest.json must be a list")
    out = []
    for i, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("Config"), str):
            raise ImageInvalid(f"archive: manifest.json[{i}] has no Config")
        layers = item.get("Layers") or []
        if not isinstance(layers, list) or not all(isinstance(x, str) for x in layers):
            raise ImageInvalid(f"archive: manifest.json[{i}].Layers must be a list of paths")
        tags = []
        for text in item.get("RepoTags") or []:
            ref = try_parse(str(text))
            if ref is None or ref.digest is not None:
                raise ImageInvalid(f"archive: manifest.json[{i}]: invalid tag {text!r}")
            tags.append(ref.defaulted())
        config = contents.read(item["Config"], "config", blobs)
        for layer in layers:
            contents.need(layer, "layer")
        out.append(Pending(config, list(layers), tags))
    return out


def _blob_name(digest: str) -> str:
    algo, hexpart = digest.split(":", 1)
    return f"blobs/{algo}/{hexpart}"


def _plan_oci(contents: Contents, blobs: BlobStore) -> list[Pending]:
    top = oci.parse_index(contents.read("index.json", "file", blobs), "index.json")
    want = oci.host_platform()
    chosen = [d for d in top if d.platform is None or _same_platform(d.platform, want)]
    if not chosen and top:
        raise ImageInvalid(f"archive: no image for {want} in index.json")
    by_manifest: dict[str, Pending] = {}
    for desc in chosen:
        if oci.is_attestation(desc):
            continue
        manifest_desc = _resolve(contents, blobs, desc, want, 0)
        pending = by_manifest.get(manifest_desc.digest)
        if pending is None:
            raw = contents.read(_blob_name(manifest_desc.digest), "manifest", blobs)
            config_desc, layer_descs = oci.parse_manifest(raw, f"manifest {manifest_desc.digest}")
            config = contents.read(_blob_name(config_desc.digest), "config", blobs)
            pending = Pending(config, [_blob_name(d.digest) for d in layer_descs], [], [], raw)
            for layer in pending.layers:
                contents.need(layer, "layer")
            by_manifest[manifest_desc.digest] = pending
        ref = _oci_name(desc)
        if ref is not None and ref not in pending.tags:
            pending.tags.append(ref)
            pending.repo_digests.append(ref.with_digest(manifest_desc.digest))
    return list(by_manifest.values())


def _same_platform(have: oci.Platform, want: oci.Platform) -> bool:
    return have.os == want.os and have.architecture == want.architecture


def _resolve(
    contents: Contents, blobs: BlobStore, desc: oci.Descriptor, want: oci.Platform, depth: int
) -> oci.Descriptor:
    if desc.media_type not in oci.INDEX_TYPES:
        return desc
    if depth >= _MAX_INDEX_DEPTH:
        raise ImageInvalid("archive: image indexes nested too deep")
    nested = oci.parse_index(contents.read(_blob_name(desc.digest), "index", blobs), f"index {desc.digest}")
    picked = oci.pick_platform(nested, want)
    if picked is None:
        raise ImageInvalid(f"archive: no matching manifest for {want} in the manifest list entries")
    return _resolve(contents, blobs, picked, want, depth + 1)


def _oci_name(desc: oci.Descriptor) -> Reference | None:
    full = desc.annotations.get(oci.ANNOTATION_IMAGE_NAME)
    if full:
        ref = try_parse(full)
        if ref is not None and ref.digest is None:
            return ref.defaulted()
    short = desc.annotations.get(oci.ANNOTATION_REF_NAME, "")
    # A bare tag ("latest") names no repository: such an image loads untagged.
    if ":" in short or "/" in short:
        ref = try_parse(short)
        if ref is not None and ref.digest is None:
            return ref.defaulted()
    return None
