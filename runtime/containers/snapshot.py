"""`docker diff` and `docker commit`: what a container changed, and that change as a new image.

Both read the container's overlay upper dir on the host (upper.py walks it
without following anything the container planted). Commit pauses a running
container while it reads (dockerd's default, `pause=0` to skip), and adds
the layer and an image through the image store; the container keeps
running on its own layers.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import anyio.to_thread

from runtime.containers import pausing, upper
from runtime.errors import EngineError
from runtime.images import docker_json
from runtime.images.commit import commit_config, merged_config

if TYPE_CHECKING:
    from runtime.containers.records import Record
    from runtime.containers.table import ContainerTable
    from runtime.images.store import ImageStore


@dataclass(frozen=True)
class CommitRequest:
    repo: str | None
    tag: str | None
    comment: str
    author: str
    pause: bool
    changes: tuple[str, ...]
    config: Mapping[str, Any] | None  # the request body's ContainerConfig, if any


def _skip(record: Record) -> set[str]:
    """The mount points the engine made in the upper dir (dockerd keeps them in its init layer)."""
    return {str(m.get("target") or "") for m in record.spec.get("mounts") or ()} | {
        str(m.get("Destination") or "") for m in record.mounts}


def _upper(record: Record) -> Path:
    return Path(str(record.spec["rootfs"]["upperdir"]))


def write_changes(record: Record, out: BinaryIO) -> int:
    """The container's changes as a layer tar onto `out` (what a commit stores); the entries written."""
    return upper.write_layer(_upper(record), out, _skip(record))


async def changes(table: ContainerTable, ref: str) -> list[dict[str, object]]:
    record = table.records.get(ref)
    lowers = [Path(p) for p in record.spec["rootfs"].get("lowerdirs") or ()]
    return await anyio.to_thread.run_sync(upper.changes, _upper(record), lowers, _skip(record))


async def commit(table: ContainerTable, images: ImageStore, ref: str, request: CommitRequest) -> str:
    """The new image's ID ("sha256:...")."""
    record = table.records.get(ref)
    config = merged_config(record.config, request.config, request.changes)  # bad changes: 400 before anything
    paused = False
    if request.pause and record.state.status == "running":
        with contextlib.suppress(EngineError):
            await pausing.pause(table, record.id)
            paused = True
    try:
        image_id = await anyio.to_thread.run_sync(_commit, images, record, config, request)
    finally:
        if paused:
            with contextlib.suppress(EngineError):
                await pausing.unpause(table, record.id)
    table.emit(record, "commit")
    return image_id


def _commit(images: ImageStore, record: Record, config: dict[str, Any], request: CommitRequest) -> str:
    created = docker_json.format_time(time.time())
    cmd: Sequence[str] = record.config.get("Cmd") or []

    def write(out: BinaryIO) -> int:
        return write_changes(record, out)

    def make(parent: dict[str, Any], diff_id: str | None) -> bytes:
        return commit_config(parent, config, diff_id, author=request.author, comment=request.comment,
                             created=created, created_by=" ".join(cmd))

    return images.commit(record.image_id, write, make, request.repo, request.tag)
