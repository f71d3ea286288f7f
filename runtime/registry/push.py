"""`docker push`: layers (HEAD first, then a cross-repository mount, then an upload: one PUT for a
small blob, PATCH chunks for a big one), the config, then the manifest, which keeps the media
types the image came with (the manifest it was pulled or loaded with, when it still fits)."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from runtime.images import oci
from runtime.images.errors import ImageNotFound
from runtime.images.reference import Reference, parse, validate_tag
from runtime.images.store import ImageStore
from runtime.registry.auth import AuthConfig, repository_scope
from runtime.registry.client import RegistryClient
from runtime.registry.config import RegistryConfig
from runtime.registry.errors import RegistryError
from runtime.registry.progress import Progress, run_all, short_id
from runtime.store.metadata import LayerBlob

MONOLITHIC_LIMIT = 8 << 20  # bigger blobs go up in PATCH chunks
CHUNK = 8 << 20
READ = 1 << 20


class PushCancelled(Exception):
    pass


def push_targets(store: ImageStore, name: str, tag: str) -> list[Reference]:
    """The tags to push: `name:tag`, or every tag of the repository when `tag` is empty."""
    ref = parse(name)
    if ref.digest is not None:
        raise ImageNotFound(name)
    if tag or ref.tag:
        target = ref.with_tag(validate_tag(tag or ref.tag or "latest"))
        store.resolve(str(target))
        return [target]
    tags = store.distribution().tags_of(ref.name)
    if not tags:
        raise ImageNotFound(f"An image does not exist locally with the tag: {ref.familiar_name}")
    return [ref.with_tag(t) for t in tags]


@dataclass(frozen=True)
class _Blob:
    digest: str
    size: int
    diff_id: str


class Pusher:
    def __init__(self, store: ImageStore, config: RegistryConfig, progress: Progress) -> None:
        self.store, self.config, self.progress = store.distribution(), config, progress
        self._cancel = threading.Event()

    def push(self, targets: list[Reference], auth: AuthConfig) -> None:
        first = targets[0]
        self.progress.status(f"The push refers to repository [{first.name}]")
        with RegistryClient(first.domain, auth, self.config) as client:
            for ref in targets:
                self._push_one(client, ref)

    def _push_one(self, client: RegistryClient, ref: Reference) -> None:
        p = self.progress
        scope = repository_scope(ref.path, "pull", "push")
        record, config, rows, manifest = self.store.image_parts(str(ref))
        shown = list(reversed(rows))
        for row in shown:
            p.status("Preparing", short_id(row.diff_id))
        for row in shown[self.config.max_uploads:]:
            p.status("Waiting", short_id(row.diff_id))
        jobs = [functools.partial(self._layer, client, ref, scope, row) for row in shown]
        run_all(p, jobs, self.config.max_uploads, self._cancel)
        self._upload_blob(client, ref, scope, record.id, len(config), lambda: iter([config]), None)
        media, body = self._manifest(config, record.id, rows, manifest)
        response = client.request("PUT", f"/v2/{ref.path}/manifests/{ref.tag}", scope, content=body,
                                  headers={"Content-Type": media})
        client.check(response, f"pushing manifest for {ref.familiar()}")
        digest = oci.sha256_digest(body)
        self.store.add_digest_ref(str(ref.with_digest(digest)), record.id)
        p.status(f"{ref.tag}: digest: {digest} size: {len(body)}")
        p.aux({"Tag": ref.tag, "Digest": digest, "Size": len(body)})

    def _manifest(self, config: bytes, image_id: str, rows: list[LayerBlob], kept: bytes | None) -> tuple[str, bytes]:
        if kept is not None:
            try:
                obj = oci.parse_object(kept, "manifest")
                config_desc, descs = oci.parse_manifest(kept)
                if config_desc.digest == image_id and [d.digest for d in descs] == [r.digest for r in rows]:
                    return str(obj.get("mediaType") or oci.OCI_MANIFEST), kept
            except Exception:  # a kept manifest that does not fit is rebuilt
                pass
        docker = all(r.media_type.startswith("application/vnd.docker.") for r in rows) and bool(rows)
        layers = [{"mediaType": r.media_type, "size": r.size, "digest": r.digest} for r in rows]
        body = oci.canonical_json({
            "schemaVersion": 2,
            "mediaType": oci.DOCKER_MANIFEST if docker else oci.OCI_MANIFEST,
            "config": {"mediaType": oci.DOCKER_CONFIG if docker else oci.OCI_CONFIG, "size": len(config),
                       "digest": image_id},
            "layers": layers,
        })
        return oci.DOCKER_MANIFEST if docker else oci.OCI_MANIFEST, body

    def _layer(self, client: RegistryClient, ref: Reference, scope: str, row: LayerBlob) -> None:
        p, sid = self.progress, short_id(row.diff_id)
        response = client.request("HEAD", f"/v2/{ref.path}/blobs/{row.digest}", scope)
        response.close()
        if response.status_code == 200:
            p.status("Layer already exists", sid)
            return
        for source in self.store.repositories_with_blob(row.digest, ref.domain):
            if source == ref.path:
                continue
            if self._mount(client, ref, source, row.digest):
                p.status(f"Mounted from {source}", sid)
                return

        def chunks() -> Iterator[bytes]:
            sent = 0
            with open(self.store.blob_path(row.digest), "rb") as f:
                while data := f.read(READ):
                    if self._cancel.is_set():
                        raise PushCancelled(row.digest)
                    sent += len(data)
                    p.progress("Pushing", sid, sent, row.size)
                    yield data

        self._upload_blob(client, ref, scope, row.digest, row.size, chunks, sid)
        p.status("Pushed", sid)

    def _mount(self, client: RegistryClient, ref: Reference, source: str, digest: str) -> bool:
        scope = f"{repository_scope(ref.path, 'pull', 'push')} {repository_scope(source, 'pull')}"
        try:
            response = client.request("POST", f"/v2/{ref.path}/blobs/uploads/?mount={digest}&from={source}", scope)
        except RegistryError:
            return False
        response.close()
        if response.status_code == 202:  # mount refused, an upload started: cancel it
            location = response.headers.get("Location")
            if location:
                client.request("DELETE", location, scope).close()
        return response.status_code == 201

    def _upload_blob(self, client: RegistryClient, ref: Reference, scope: str, digest: str, size: int,
                     chunks: Callable[[], Iterator[bytes]], sid: str | None) -> None:
        head = client.request("HEAD", f"/v2/{ref.path}/blobs/{digest}", scope)
        head.close()
        if head.status_code == 200:
            return
        started = client.request("POST", f"/v2/{ref.path}/blobs/uploads/", scope)
        client.check(started, f"starting upload of {digest}")
        location = started.headers.get("Location", "")
        if not location:
            raise RegistryError(f"registry gave no upload location for {digest}")
        make = chunks
        if size <= MONOLITHIC_LIMIT:
            response = client.request("PUT", _with_digest(location, digest), scope, content=b"".join(make()),
                                      headers={"Content-Type": "application/octet-stream"})
            client.check(response, f"uploading {digest}")
            return
        offset, buffer = 0, bytearray()
        for data in make():
            buffer += data
            while len(buffer) >= CHUNK:
                location = self._patch(client, location, scope, bytes(buffer[:CHUNK]), offset, digest)
                offset += CHUNK
                del buffer[:CHUNK]
        if buffer:
            location = self._patch(client, location, scope, bytes(buffer), offset, digest)
        response = client.request("PUT", _with_digest(location, digest), scope)
        client.check(response, f"completing upload of {digest}")

    def _patch(self, client: RegistryClient, location: str, scope: str, data: bytes, offset: int,
               digest: str) -> str:
        response = client.request("PATCH", location, scope, content=data, headers={
            "Content-Type": "application/octet-stream", "Content-Range": f"{offset}-{offset + len(data) - 1}",
            "Content-Length": str(len(data))})
        client.check(response, f"uploading {digest}")
        return response.headers.get("Location", location)


def _with_digest(location: str, digest: str) -> str:
    return f"{location}{'&' if '?' in location else '?'}digest={digest}"
