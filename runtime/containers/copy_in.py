"""`PUT`/`HEAD /containers/{id}/archive` (docker cp into a container): which way the path is reached.

A live container (running, paused, or waiting at its start gate) is
reached through its own mount namespace: the supervisor forks a job that
enters it and chroots into the container's root (supervisor/archive.py),
so a file is seen inside at once, and a path under a volume or bind mount
lands in that mount. A container with no process is reached through its
overlay layers (archive.py); a destination under one of its volume or
bind mounts goes into the mount's host directory, resolved inside it.

Docker's refusals first: a path outside every mount of a container with a
read-only root file system (403), a path in a read-only mount (403).
`copyUIDGID` makes every entry the container's user's, when it has one.
"""

from __future__ import annotations

import contextlib
import json
import posixpath
import socket
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import anyio.to_thread

from runtime.api.errors import EngineError
from runtime.containers.supervisor_client import SupervisorError

if TYPE_CHECKING:
    from runtime.containers.manager import ContainerManager
    from runtime.containers.records import Record

CHUNK = 64 * 1024
MAX_ANSWER = 1 << 20


def _under(path: str, destination: str) -> str | None:
    """`path` relative to the mount at `destination` ("" for the mount point itself), None if outside."""
    rel = posixpath.relpath(path, posixpath.normpath("/" + destination))
    if rel == ".." or rel.startswith("../"):
        return None
    return "" if rel == "." else rel


def mount_of(record: Record, path: str) -> tuple[dict[str, Any], str] | None:
    """The innermost of the container's mounts that holds `path`, and the path inside it."""
    absolute = posixpath.normpath("/" + path)
    best: tuple[dict[str, Any], str] | None = None
    for point in record.mounts:
        rel = _under(absolute, str(point.get("Destination") or ""))
        if rel is not None and (best is None or len(rel) < len(best[1])):
            best = (point, rel)
    return best


def refusal(record: Record, path: str) -> EngineError | None:
    """Docker's read-only checks for extracting at `path` (a container path, not yet resolved)."""
    found = mount_of(record, path)
    if found is not None:
        return None if found[0].get("RW", True) else EngineError(403, "mounted volume is marked read-only")
    if record.spec["rootfs"].get("readonly") or record.host_config.get("ReadonlyRootfs"):
        return EngineError(403, "container rootfs is marked read-only")
    return None


def owner_of(record: Record, copy_uid_gid: bool) -> tuple[int, int] | None:
    """copyUIDGID: the container's user (resolved at create), when Config.User names one."""
    if not copy_uid_gid or not record.config.get("User"):
        return None
    user = record.spec["process"].get("user") or {}
    return int(user.get("uid", 0)), int(user.get("gid", 0))


def _is_live(manager: ContainerManager, record: Record) -> bool:
    live = manager.live(record)
    return live.in_supervisor and (record.state.status in ("running", "paused") or live.prepared)


async def _job(manager: ContainerManager, record: Record, action: str, path: str,
               strict: bool = False, owner: tuple[int, int] | None = None) -> socket.socket | None:
    """A socket to the job in the live container, or None when it has no process (any more)."""
    if not _is_live(manager, record):
        return None
    try:
        return await manager.supervisor.archive(record.id, action, path, strict=strict, owner=owner)
    except SupervisorError as exc:
        if exc.kind in ("not_found", "conflict"):
            return None  # it exited meanwhile: its layers are the way in
        raise EngineError(500, f"cannot reach the container's file system: {exc}") from exc


def _layers(record: Record) -> tuple[Path, list[Path]]:
    rootfs = record.spec["rootfs"]
    return Path(rootfs["upperdir"]), [Path(p) for p in rootfs["lowerdirs"]]


def _in_mount(record: Record, path: str) -> tuple[Path, str] | None:
    """(host directory, path inside it) when `path` of a stopped container is in a volume or bind mount."""
    found = mount_of(record, path)
    if found is None or found[0].get("Type") not in ("volume", "bind") or not found[0].get("Source"):
        return None
    source = Path(str(found[0]["Source"]))
    return (source, "/" + found[1]) if source.is_dir() else None


async def stat(manager: ContainerManager, record: Record, path: str) -> dict[str, Any]:
    """Docker's path stat (name, size, mode, mtime, linkTarget) of `path` in the container."""
    from runtime.containers.archive import stat_path

    sock = await _job(manager, record, "stat", path)
    if sock is not None:
        answer = await anyio.to_thread.run_sync(lambda: _exchange(sock, None))
        found: dict[str, Any] = answer["stat"]
        return found
    mounted = _in_mount(record, path)
    if mounted is not None:
        return await anyio.to_thread.run_sync(lambda: stat_path(mounted[0], [], mounted[1]))
    upper, lowers = _layers(record)
    return await anyio.to_thread.run_sync(lambda: stat_path(upper, lowers, path))


async def put(manager: ContainerManager, record: Record, path: str, stream: BinaryIO, *,
              strict: bool = False, copy_uid_gid: bool = False) -> None:
    """Extract the tar read from `stream` at the container path `path`."""
    from runtime.containers.archive import put_archive

    refused = refusal(record, path)
    if refused is not None:
        raise refused
    owner = owner_of(record, copy_uid_gid)
    sock = await _job(manager, record, "put", path, strict, owner)
    if sock is not None:
        await anyio.to_thread.run_sync(lambda: _exchange(sock, stream))
        return
    mounted = _in_mount(record, path)
    if mounted is not None:
        where, inside = mounted
        await anyio.to_thread.run_sync(lambda: put_archive(where, [], inside, stream, strict, owner))
        return
    upper, lowers = _layers(record)
    await anyio.to_thread.run_sync(lambda: put_archive(upper, lowers, path, stream, strict, owner))


def _exchange(sock: socket.socket, stream: BinaryIO | None) -> dict[str, Any]:
    """Send `stream` (if any) to the job, then read its one-line answer; its error as an EngineError."""
    with sock:
        sock.settimeout(None)
        if stream is not None:
            try:
                while chunk := stream.read(CHUNK):
                    sock.sendall(chunk)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the job stopped reading (done, or failed): its answer says which
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_WR)
        data = b""
        with contextlib.suppress(ConnectionResetError):  # it may leave the tar's padding unread
            while not data.endswith(b"\n") and len(data) < MAX_ANSWER:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
    try:
        answer: dict[str, Any] = json.loads(data)
    except ValueError:
        raise EngineError(500, "the copy into the container ended without an answer") from None
    if not answer.get("ok"):
        raise EngineError(int(answer.get("status") or 500), str(answer.get("message") or "copy failed"))
    return answer
