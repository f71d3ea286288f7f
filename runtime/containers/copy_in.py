"""`PUT`/`HEAD /containers/{id}/archive` (docker cp into a container): which way the path is reached.

Both ways go through a job the supervisor forks (supervisor/archive.py).
A live container (running, paused, or waiting at its start gate) is
reached through its own mount namespace: the job enters it and chroots
into the container's root, so a file is seen inside at once, and a path
under a volume or bind mount lands in that mount. For a container with no
process the job mounts its overlay and its volume and bind mounts in a
private namespace, as dockerd does, while the engine holds the container's
lock (a start waits). Should the container start or stop between the
choice and the job, the other way is taken.

Docker's refusals first: a path outside every mount of a container with a
read-only root file system (403), a path in a read-only mount (403).
`copyUIDGID` makes every entry the container's user's, when it has one.
"""

from __future__ import annotations

import contextlib
import json
import posixpath
import socket
from typing import TYPE_CHECKING, Any, BinaryIO

import anyio.to_thread

from runtime.containers.supervisor_client import SupervisorError
from runtime.errors import EngineError

if TYPE_CHECKING:
    from runtime.containers.records import Record
    from runtime.containers.table import ContainerTable

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


def _is_live(table: ContainerTable, record: Record) -> bool:
    live = table.live(record)
    return live.in_supervisor and (record.state.status in ("running", "paused") or live.prepared)


def _binds(record: Record) -> tuple[str, ...]:
    """Docker's mount points of the container (volumes and binds): what its file system shows."""
    return tuple(str(p["Destination"]) for p in record.mounts if p.get("Type") in ("volume", "bind"))


async def _job(table: ContainerTable, record: Record, live: bool, action: str, path: str,
               strict: bool, owner: tuple[int, int] | None) -> socket.socket | None:
    """A socket to the job; None when the container is not (live) or no longer (offline) what was thought."""
    extra: dict[str, Any] = {} if live else {"spec": record.spec, "binds": _binds(record)}
    try:
        return await table.supervisor.archive(record.id, action, path, strict=strict, owner=owner, **extra)
    except SupervisorError as exc:
        if exc.kind in ("not_found", "conflict"):
            return None  # it started or exited meanwhile: the other way in
        raise EngineError(500, f"cannot reach the container's file system: {exc}") from exc


async def _run(table: ContainerTable, record: Record, action: str, path: str, stream: BinaryIO | None,
               strict: bool = False, owner: tuple[int, int] | None = None) -> dict[str, Any]:
    live = _is_live(table, record)
    for _attempt in range(3):
        if live:
            sock = await _job(table, record, True, action, path, strict, owner)
            if sock is not None:
                return await anyio.to_thread.run_sync(_exchange, sock, stream)
        else:
            # Its overlay is mounted for the job: no start may mount it meanwhile.
            async with table.live(record).lock:
                sock = await _job(table, record, False, action, path, strict, owner)
                if sock is not None:
                    return await anyio.to_thread.run_sync(_exchange, sock, stream)
        live = not live
    raise EngineError(409, f"container {record.id} is starting or stopping: try again")


async def stat(table: ContainerTable, record: Record, path: str) -> dict[str, Any]:
    """Docker's path stat (name, size, mode, mtime, linkTarget) of `path` in the container."""
    answer = await _run(table, record, "stat", path, None)
    found: dict[str, Any] = answer["stat"]
    return found


async def put(table: ContainerTable, record: Record, path: str, stream: BinaryIO, *,
              strict: bool = False, copy_uid_gid: bool = False) -> None:
    """Extract the tar read from `stream` at the container path `path`."""
    refused = refusal(record, path)
    if refused is not None:
        raise refused
    await _run(table, record, "put", path, stream, strict, owner_of(record, copy_uid_gid))


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
