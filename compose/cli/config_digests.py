"""`config --resolve-image-digests` and `--lock-image-digests`: images pinned to their registry digests.

As Docker Compose's: each service's `image:` that has no digest becomes the
full reference with the descriptor digest the registry answers
(`GET /distribution/{name}/json`), `docker.io/library/busybox:latest@sha256:…`;
an image the registry cannot be asked about but that is present locally with
a RepoDigest of the same repository takes that digest. `--lock-image-digests`
prints only the override file: every service with its pinned `image:`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from compose.registry.reference import parse, with_default_tag

if TYPE_CHECKING:
    from compose.client import EngineClient
    from compose.model import Project


def pinned_reference(image: str, digest: str) -> str:
    """`busybox` + digest -> `docker.io/library/busybox:latest@digest` (compose-go's ParseDockerRef + WithDigest)."""
    ref = with_default_tag(parse(image))
    return f"{ref.repository}:{ref.tag}@{digest}"


def _local_digest(inspect: Mapping[str, Any], image: str) -> str | None:
    repository = parse(image).repository
    for entry in inspect.get("RepoDigests") or ():
        name, _, digest = str(entry).partition("@")
        if digest and parse(name).repository == repository:
            return digest
    return None


async def _digest_of(client: EngineClient, image: str, headers: Mapping[str, str]) -> str:
    from compose.client.errors import EngineError

    try:
        answer = await (await client.get(f"/distribution/{image}/json", headers=headers)).json()
        return str(answer["Descriptor"]["digest"])
    except EngineError as exc:
        try:
            local = await (await client.get(f"/images/{image}/json")).json()
        except EngineError:
            raise exc from None
        digest = _local_digest(local, image)
        if digest is None:
            raise
        return digest


async def resolve_digests(client: EngineClient, project: Project) -> dict[str, str]:
    """service -> its image pinned to a digest, for each service with an `image:`."""
    from compose.registry.credentials import CredentialStore, auth_headers

    store = CredentialStore.from_environ(os.environ)
    pinned: dict[str, str] = {}
    for name in sorted(project.services):
        image = project.services[name].image
        if not image:
            continue
        if parse(image).digest:
            ref = parse(image)
            pinned[name] = f"{ref.repository}{':' + ref.tag if ref.tag else ''}@{ref.digest}"
            continue
        pinned[name] = pinned_reference(image, await _digest_of(client, image, auth_headers(store, image)))
    return pinned


def pin_document(doc: Any, pinned: Mapping[str, str]) -> None:
    """Set each pinned service's `image:` in the loaded document (in place)."""
    services = doc.get("services") or {}
    for name, image in pinned.items():
        if name in services:
            services[name]["image"] = image


def lock_document(project: Project, pinned: Mapping[str, str]) -> dict[str, Any]:
    """The override file `--lock-image-digests` prints: each service with only its pinned image."""
    return {"services": {name: ({"image": pinned[name]} if name in pinned else {})
                         for name in sorted(project.services)}}
