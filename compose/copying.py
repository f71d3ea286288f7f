"""Copies between the host and a container, as `docker cp` makes them, over the archive routes.

Into a container: the host path is packed as a tar whose top entry is the
destination's base name, and `PUT /containers/{id}/archive?path=<parent>`
unpacks it there (a running container too: no restart). Out of one:
`GET /containers/{id}/archive?path=` answers a tar of the path, unpacked
under the host destination. The tar work is pure and in memory.
"""

from __future__ import annotations

import io
import posixpath
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from compose.errors import ComposeError

if TYPE_CHECKING:
    from compose.client import EngineClient


@dataclass(frozen=True)
class ContainerPath:
    """`service:path` (or `service:index:path` is not a thing: the index is given apart)."""

    service: str
    path: str


def parse_location(text: str) -> ContainerPath | None:
    """`web:/etc/hosts` -> ContainerPath; a host path (with no `name:` before a `/`) -> None."""
    head, sep, tail = text.partition(":")
    if not sep or not head or "/" in head or head.startswith("."):
        return None
    return ContainerPath(head, tail or "/")


def pack(source: Path, name: str, arcroot: str = "") -> bytes:
    """A tar of `source` (a file or a folder, recursively) under the entry name `name`."""
    if not source.exists():
        raise ComposeError(f"no such file or directory: {source}")
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        tar.add(str(source), arcname=posixpath.join(arcroot, name) if arcroot else name, recursive=True)
    return out.getvalue()


def unpack(archive: bytes, destination: Path, rename: str | None) -> None:
    """Unpack a container's tar at `destination`; its top entry takes the name `rename` when given."""
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r") as tar:
        members = tar.getmembers()
        if rename is not None and members:
            top = members[0].name.split("/", 1)[0]
            for member in members:
                rest = member.name[len(top):]
                member.name = rename + rest
        tar.extractall(destination, members=members, filter="tar")


async def copy_in(client: EngineClient, container: str, source: Path, destination: str) -> None:
    """`docker cp SOURCE CONTAINER:DESTINATION`: into an existing folder keeps the name, else renames."""
    from compose.client import EngineError

    target_dir, name = destination.rstrip("/") or "/", source.name
    try:
        is_dir = await _stat(client, container, target_dir)
    except EngineError as exc:
        if exc.status != 404:
            raise
        is_dir = False
    if not is_dir:
        target_dir, name = posixpath.dirname(destination.rstrip("/")) or "/", posixpath.basename(destination)
    archive = pack(source, name)
    await (await client.put(f"/containers/{container}/archive", {"path": target_dir}, body=archive,
                            headers={"Content-Type": "application/x-tar"})).read()


async def _stat(client: EngineClient, container: str, path: str) -> bool:
    """Whether `path` in the container is a folder (the X-Docker-Container-Path-Stat header)."""
    import base64
    import json

    response = await client.head(f"/containers/{container}/archive", {"path": path})
    await response.read()
    raw = response.header("x-docker-container-path-stat")
    if not raw:
        return False
    stat = json.loads(base64.b64decode(raw))
    return bool(int(stat.get("mode", 0)) & (1 << 31))  # Go's os.ModeDir


async def copy_out(client: EngineClient, container: str, source: str, destination: Path) -> None:
    """`docker cp CONTAINER:SOURCE DESTINATION`: into an existing folder keeps the name, else renames."""
    archive = await (await client.get(f"/containers/{container}/archive", {"path": source})).read()
    if destination.is_dir():
        unpack(archive, destination, None)
    else:
        if not destination.parent.is_dir():
            raise ComposeError(f"no such directory: {destination.parent}")
        unpack(archive, destination.parent, destination.name)
