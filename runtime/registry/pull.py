"""`docker pull`: resolve a reference to one platform's manifest, fetch the config and the
layers (concurrently, extracting as they stream, skipping what is stored), record the image.

Errors before the first progress line reach the client as a status code (404 unknown
manifest, 401 denied…); later ones end the stream with an `errorDetail`, as dockerd does.
"""

from __future__ import annotations

import dataclasses
import functools
import threading
from dataclasses import dataclass
from pathlib import Path

from runtime.images import oci
from runtime.images.errors import LayerError
from runtime.images.ingest import Ingest, LayerDone
from runtime.images.reference import Reference, check_digest, parse, validate_tag
from runtime.images.store import ImageStore
from runtime.registry.auth import AuthConfig, repository_scope
from runtime.registry.client import RegistryClient
from runtime.registry.config import RegistryConfig
from runtime.registry.errors import InvalidContent, NotFound, RegistryError, Unauthorized
from runtime.registry.fetch import BlobSource, Fetched, fetch_layer
from runtime.registry.manifests import (
    ACCEPT,
    MAX_MANIFEST,
    SCHEMA1_TYPES,
    Resolved,
    check_config_platform,
    choose,
    media_type_of,
    parse_image_manifest,
    verify_manifest,
)
from runtime.registry.progress import Progress, run_all, short_id
from runtime.store.metadata import LayerBlob, SnapshotRow


class Cancelled(Exception):
    """Another layer failed or the client went away: stop this one."""


@dataclass(frozen=True)
class PullRequest:
    reference: Reference  # with a tag or a digest
    platform: oci.Platform
    explicit_platform: bool
    auth: AuthConfig
    all_tags: bool = False  # `fromImage` without a tag and `tag` empty: every tag, as dockerd


def list_tags(client: RegistryClient, ref: Reference) -> list[str]:
    """The repository's tags (`/tags/list`, following `Link: <…>; rel="next"` pages)."""
    scope = repository_scope(ref.path, "pull")
    url, tags = f"/v2/{ref.path}/tags/list", []
    while url:
        response = client.request("GET", url, scope)
        client.check(response, f"listing tags of {ref.familiar_name}")
        tags += [t for t in (response.json().get("tags") or []) if isinstance(t, str)]
        link = response.headers.get("Link", "")
        url = link.split(";")[0].strip().strip("<>") if 'rel="next"' in link else ""
    if not tags:
        raise NotFound(f"repository {ref.familiar_name} has no tags")
    return tags


def target(from_image: str, tag: str) -> Reference:
    """`fromImage` plus `tag` (a tag or a digest) as dockerd combines them; `latest` by default."""
    ref = parse(from_image)
    if tag:  # replaces what fromImage said, as dockerd's TrimNamed + WithTag/WithDigest
        ref = ref.with_digest(check_digest(tag)) if ":" in tag else ref.with_tag(validate_tag(tag))
    return ref.defaulted()


def fetch_manifest(client: RegistryClient, ref: Reference, reference: str, scope: str) -> tuple[bytes, str, str]:
    repo = ref.path
    response = client.request("GET", f"/v2/{repo}/manifests/{reference}", scope, headers={"Accept": ACCEPT})
    try:
        client.check(response, f"manifest for {ref.familiar()}")
    except NotFound as exc:
        said = exc.message.split(": ", 1)[-1]
        if said.startswith("name unknown"):  # dockerd's translatePullError, by the registry's error code
            raise NotFound(f"repository {ref.familiar_name} not found: {said}") from None
        raise NotFound(f"manifest for {ref.familiar()} not found: {said}") from None
    except Unauthorized as exc:
        # dockerd's statuses: an untyped error (500) and NotFound (404); a 401 would make the CLI ask to log in.
        if client.challenge is not None and client.challenge.scheme == "basic" and not client.auth.username:
            raise RegistryError(f'Head "{client.base}/v2/{repo}/manifests/{reference}": no basic auth credentials'
                                ) from None
        raise NotFound(f"pull access denied for {ref.familiar_name}, repository does not exist or may require "
                           f"'docker login': {exc.message}") from None
    data = response.content
    if len(data) > MAX_MANIFEST:
        raise InvalidContent(f"manifest for {ref.familiar()} is larger than {MAX_MANIFEST} bytes")
    asked = reference if reference.startswith("sha256:") else None
    digest = verify_manifest(data, asked, response.headers.get("Docker-Content-Digest"), f"{ref.familiar()}")
    return data, digest, media_type_of(data, response.headers.get("Content-Type", ""))


def resolve(client: RegistryClient, ref: Reference, want: oci.Platform) -> Resolved:
    scope = repository_scope(ref.path, "pull")
    data, digest, media = fetch_manifest(client, ref, ref.digest or ref.tag or "latest", scope)
    top = digest
    if media in oci.INDEX_TYPES:
        entries = oci.parse_index(data, f"manifest list {digest}")
        picked = choose(entries, want)
        data, digest, media = fetch_manifest(client, ref, picked.digest, scope)
        if digest != picked.digest:
            raise InvalidContent(f"manifest verification failed for digest {picked.digest}")
    if media in SCHEMA1_TYPES:
        raise InvalidContent(
            "[DEPRECATION NOTICE] Docker Image Format v1 and Docker Image manifest version 2, schema 1 support has "
            f"been removed. Suggest the author of {ref.familiar()} to upgrade the image to the OCI Format or Docker "
            "Image manifest v2, schema 2."
        )
    config, layers = parse_image_manifest(data, media, f"manifest {digest}")
    return Resolved(top, data, digest, media, config, tuple(layers))


def open_client(ref: Reference, auth: AuthConfig, config: RegistryConfig,
                want: oci.Platform) -> tuple[RegistryClient, Resolved]:
    """A client and the resolved image: through a mirror for docker.io when one answers."""
    if ref.domain == "docker.io":
        for mirror in config.mirrors:
            client = RegistryClient(ref.domain, AuthConfig(), config, mirror=mirror)  # no credentials to mirrors
            try:
                return client, resolve(client, ref, want)
            except RegistryError:
                client.close()
    client = RegistryClient(ref.domain, auth, config)
    try:
        return client, resolve(client, ref, want)
    except BaseException:
        client.close()
        raise


class Puller:
    def __init__(self, store: ImageStore, config: RegistryConfig, progress: Progress) -> None:
        self.store, self.config, self.progress = store, config, progress
        self._cancel = threading.Event()

    def pull(self, request: PullRequest) -> str:
        ref = request.reference
        if request.all_tags:
            with RegistryClient(ref.domain, request.auth, self.config) as client:
                image_id = ""
                for tag in list_tags(client, ref):
                    one = dataclasses.replace(request, reference=ref.with_tag(tag), all_tags=False)
                    image_id = self._pull(client, one, resolve(client, one.reference, request.platform))
                return image_id
        client, resolved = open_client(ref, request.auth, self.config, request.platform)
        with client:
            return self._pull(client, request, resolved)

    def _pull(self, client: RegistryClient, request: PullRequest, resolved: Resolved) -> str:
        ref, p = request.reference, self.progress
        scope = repository_scope(ref.path, "pull")
        # dockerd names the repository by its path on the registry (`library/busybox`, `t/app`): the
        # classic puller's repository is made with the hostname trimmed (registry.newRepository).
        p.status(f"Pulling from {ref.path}", ref.digest or ref.tag)
        refs = [(str(ref.with_digest(resolved.digest)), "digest")]
        if ref.tag:
            refs.append((str(ref.with_tag(ref.tag)), "tag"))
        shown = ref.familiar()
        with self.store.ingest() as ing:
            existing = ing.image_by_ref(refs[0][0])
            if existing is not None and resolved.config.digest == existing[0]:
                before = ing.image_by_ref(refs[-1][0])
                for name, kind in refs:
                    ing.set_ref(name, existing[0], kind)
                p.status(f"Digest: {resolved.digest}")
                news = "Image is up to date" if before is not None and before[0] == existing[0] else (
                    "Downloaded newer image")
                p.status(f"Status: {news} for {shown}")
                return existing[0]
            config = self._config(client, ref, resolved, scope, ing)
            if request.explicit_platform and resolved.digest == resolved.manifest_digest:
                check_config_platform(oci.parse_object(config, "image config"), request.platform, ref.familiar())
            diff_ids = oci.config_diff_ids(oci.parse_object(config, "image config"))
            if len(diff_ids) != len(resolved.layers):
                raise InvalidContent(f"manifest {resolved.manifest_digest}: {len(resolved.layers)} layers, "
                                     f"config lists {len(diff_ids)}")
            layers = self._layers(client, ref.path, scope, resolved, diff_ids, ing)
            ing.put(resolved.manifest, resolved.manifest_digest)
            image_id = ing.commit(config, resolved.manifest_digest, layers, refs)
        p.status(f"Digest: {resolved.digest}")
        p.status(f"Status: Downloaded newer image for {shown}")
        return image_id

    def _config(self, client: RegistryClient, ref: Reference, resolved: Resolved, scope: str, ing: Ingest) -> bytes:
        desc = resolved.config
        stored = ing.read_blob(desc.digest)
        if stored is not None:
            return stored
        response = client.request("GET", f"/v2/{ref.path}/blobs/{desc.digest}", scope)
        client.check(response, f"fetching image config {desc.digest}")
        data = response.content
        if oci.sha256_digest(data) != desc.digest:
            raise InvalidContent(f"image config verification failed for digest {desc.digest}")
        return data

    def _layers(self, client: RegistryClient, repo: str, scope: str, resolved: Resolved, diff_ids: list[str],
                ing: Ingest) -> list[LayerDone]:
        p = self.progress
        chains = oci.chain_ids(diff_ids)
        done: dict[int, LayerDone] = {}
        todo: list[int] = []
        for i, desc in enumerate(resolved.layers):
            known = ing.known_layer(chains[i], desc.digest)
            if known is not None:
                p.status("Already exists", short_id(desc.digest))
                done[i] = known
            else:
                p.status("Pulling fs layer", short_id(desc.digest))
                todo.append(i)
        for i in todo[self.config.max_downloads:]:
            p.status("Waiting", short_id(resolved.layers[i].digest))
        jobs = [functools.partial(self._layer, client, repo, scope, resolved.layers[i], diff_ids[i], chains[i],
                                  chains[i - 1] if i else "", ing, f"layer {i + 1}/{len(diff_ids)}") for i in todo]
        for i, layer in zip(todo, run_all(p, jobs, self.config.max_downloads, self._cancel), strict=True):
            done[i] = layer
        return [done[i] for i in range(len(resolved.layers))]

    def _layer(self, client: RegistryClient, repo: str, scope: str, desc: oci.Descriptor, diff_id: str, chain: str,
               parent: str, ing: Ingest, what: str) -> LayerDone:
        p, sid = self.progress, short_id(desc.digest)

        def on_bytes(count: int) -> None:
            if self._cancel.is_set():
                raise Cancelled(what)
            p.progress("Downloading", sid, count, desc.size)

        def on_retry(attempt: int, delay: float) -> None:
            p.status(f"Retrying in {int(delay)} second{'s' if int(delay) != 1 else ''}", sid)

        def fetch(dest: Path | None) -> Fetched:
            with ing.blob_writer(desc.digest) as writer:
                source = BlobSource(client, repo, desc, scope, writer, self.config.max_attempts,
                                    self.config.retry_delay, on_bytes, on_retry)
                fetched = fetch_layer(source, writer, desc, dest, what)
            if fetched.diff_id != diff_id:
                raise LayerError(f"{what}: content has DiffID {fetched.diff_id}, config says {diff_id}")
            p.status("Verifying Checksum", sid)
            p.status("Download complete", sid)
            return fetched

        snapshot_row = None
        fetched = None if ing.snapshot_exists(chain) else ing.create_snapshot(chain, fetch)
        if fetched is None:  # the snapshot is there (from another image): the blob alone is missing
            fetched = fetch(None)
            size = ing.snapshot_size(chain)
        else:
            assert fetched.result is not None
            size = fetched.result.size
            snapshot_row = SnapshotRow(chain, diff_id, parent, size)
        p.progress("Extracting", sid, desc.size, desc.size, force=True)
        p.status("Pull complete", sid)
        blob_row = LayerBlob(desc.digest, diff_id, desc.media_type or oci.layer_media_type(fetched.compression),
                             desc.size, fetched.tar_size)
        return LayerDone(chain, desc.digest, blob_row, snapshot_row, size)
