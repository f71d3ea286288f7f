"""Images a build names (FROM, COPY --from): the local one, or pulled from its registry with
dockerd's progress lines in the build's stream (always with `--pull`)."""

from __future__ import annotations

import json
from typing import Any

import anyio
import anyio.from_thread
import anyio.to_thread

from runtime.build.state import Build, BuildFailed, Emit
from runtime.images import oci
from runtime.images.errors import ImageNotFound

INDEX_KEYS = ("https://index.docker.io/v1/", "index.docker.io", "docker.io", "registry-1.docker.io")


class _Lines:
    """The file a registry Progress writes to: each JSON line goes out as a build message."""

    def __init__(self, emit: Emit) -> None:
        self._emit = emit
        self._pending = b""

    def write(self, data: bytes) -> int:
        self._pending += bytes(data)
        *lines, self._pending = self._pending.split(b"\n")
        for line in lines:
            if line.strip():
                anyio.from_thread.run(self._emit, json.loads(line))
        return len(data)

    def flush(self) -> None:
        pass


def _auth_for(build: Build, domain: str) -> Any:
    from runtime.registry.auth import AuthConfig, auth_from_json

    auths = build.options.registry_auths
    keys = INDEX_KEYS if domain in ("docker.io", "index.docker.io") else (domain, f"https://{domain}",
                                                                          f"http://{domain}")
    for key in keys:
        if key in auths:
            return auth_from_json(auths[key])
    return AuthConfig()


async def ensure_image(build: Build, ref: str, emit: Emit, *, pull: bool | None = None, platform: str = "") -> str:
    """The image ID `ref` names, pulled when missing (or always when `pull`, default `--pull`);
    `platform` (FROM --platform) overrides the build's for the pull."""
    if pull is None:
        pull = build.options.pull
    if not pull:
        try:
            return await anyio.to_thread.run_sync(build.images.resolve, ref)
        except ImageNotFound:
            pass
    from runtime.registry.config import load_config
    from runtime.registry.manifests import parse_platform
    from runtime.registry.progress import Progress
    from runtime.registry.pull import Puller, PullRequest, target

    try:
        reference = target(ref, "")
        chosen = platform or build.options.platform
        want = parse_platform(chosen) if chosen else oci.host_platform()
    except Exception as exc:
        raise BuildFailed(str(getattr(exc, "message", "") or exc)) from None
    request = PullRequest(reference, want, bool(chosen), _auth_for(build, reference.domain))

    def work() -> str:
        progress = Progress(_Lines(emit))  # type: ignore[arg-type]
        return Puller(build.images, load_config(build.root), progress).pull(request)

    try:
        return await anyio.to_thread.run_sync(work)
    except Exception as exc:
        message = str(getattr(exc, "message", "") or exc)
        raise BuildFailed(message) from None
