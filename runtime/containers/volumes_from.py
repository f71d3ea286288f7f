"""`HostConfig.VolumesFrom` (`--volumes-from`, compose's `volumes_from`): another container's mounts.

Each entry is `container[:ro|:rw]`. The new container gets every bind and volume mount of that
container at the same destination, read-only when the entry says `ro` or the mount already was
(dockerd: RW = the source's RW and the mode's), sharing the same named volume or host path. A
mount the request itself asks for at the same destination wins. Messages are dockerd's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

from runtime.containers.create_mounts import UserMount
from runtime.errors import EngineError, bad_request

T = TypeVar("T")

MODES = ("rw", "ro")


def parse(entry: str) -> tuple[str, str]:
    """`db:ro` -> ("db", "ro"); `db` -> ("db", "rw")."""
    ref, sep, mode = entry.partition(":")
    if not sep:
        return ref, "rw"
    if mode not in MODES:
        raise bad_request(f"invalid mode: {mode}")
    return ref, mode


def inherited(entries: Iterable[str], mounts_of: Callable[[str], Sequence[Mapping[str, Any]]]) -> list[UserMount]:
    """The mounts the entries bring, in order; `mounts_of(ref)` is that container's MountPoint list
    (and raises dockerd's "No such container")."""
    out: dict[str, UserMount] = {}
    for entry in entries:
        ref, mode = parse(str(entry))
        for point in mounts_of(ref):
            mount = _mount(point, readonly=mode == "ro" or not point.get("RW", True))
            if mount is not None:
                out[mount.target] = mount
    return list(out.values())


def _mount(point: Mapping[str, Any], readonly: bool) -> UserMount | None:
    kind, target = str(point.get("Type") or ""), str(point.get("Destination") or "")
    if kind == "volume" and point.get("Name"):
        return UserMount("volume", target, str(point["Name"]), readonly, mode=str(point.get("Mode") or ""))
    if kind == "bind" and point.get("Source"):
        return UserMount("bind", target, str(point["Source"]), readonly, str(point.get("Propagation") or "rprivate"),
                         str(point.get("Mode") or ""))
    return None  # tmpfs: a fresh one per container, not shared


def lender(get: Callable[[str], T], ref: str) -> T:
    """The container `ref` names; a missing one is dockerd's 400 (a 404 would make the docker CLI pull)."""
    try:
        return get(ref)
    except EngineError as exc:
        if exc.status == 404:
            raise bad_request(exc.message) from None
        raise
