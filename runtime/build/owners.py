"""COPY/ADD `--chown` and RUN cache mounts' ids: names looked up in the step's root.

`--chown=user[:group]`: numbers are taken as they are; names are looked up in the
root's /etc/passwd and /etc/group (as BuildKit does, with runc's messages). A user
alone gets the user's primary group, or the same number for a numeric user.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from runtime.build.selection import resolve_in

Lookup = Callable[[str], "bytes | None"]
MAX_ID = (1 << 32) - 2


class OwnerError(ValueError):
    pass


def resolve(chown: str, etc_lookup: Lookup) -> tuple[int, int]:
    """(uid, gid) for a `--chown` value; `etc_lookup("/etc/passwd")` reads a file of the root (None if absent)."""
    parts = chown.split(":")
    if len(parts) > 2:
        raise OwnerError(f"invalid chown string format: {chown}")
    user_text = parts[0]
    group_text = parts[1] if len(parts) == 2 else ""
    if not user_text:
        raise OwnerError(f"invalid chown string format: {chown}")
    uid, primary = _user(user_text, etc_lookup)
    if not group_text:
        return uid, primary
    return uid, _group(group_text, etc_lookup)


def _number(text: str) -> int | None:
    if not text.isdigit():
        return None
    value = int(text)
    if value > MAX_ID:
        raise OwnerError(f"invalid id {text}: out of range")
    return value


def _user(text: str, etc_lookup: Lookup) -> tuple[int, int]:
    number = _number(text)
    if number is not None:
        return number, number
    for fields in _records(etc_lookup("/etc/passwd")):
        if len(fields) >= 4 and fields[0] == text:
            uid, gid = _number(fields[2]), _number(fields[3])
            if uid is not None and gid is not None:
                return uid, gid
    raise OwnerError(f"unable to find user {text}: no matching entries in passwd file")


def _group(text: str, etc_lookup: Lookup) -> int:
    number = _number(text)
    if number is not None:
        return number
    for fields in _records(etc_lookup("/etc/group")):
        if len(fields) >= 3 and fields[0] == text:
            gid = _number(fields[2])
            if gid is not None:
                return gid
    raise OwnerError(f"unable to find group {text}: no matching entries in group file")


def _records(data: bytes | None) -> list[list[str]]:
    if not data:
        return []
    out = []
    for line in data.decode("utf-8", "surrogateescape").splitlines():
        line = line.strip()
        if not line or line.startswith(("#", "+", "-")):
            continue
        out.append(line.split(":"))
    return out


def rootfs_lookup(root: Path) -> Lookup:
    """An `etc_lookup` reading a root directory, its symlinks followed inside it."""
    def lookup(path: str) -> bytes | None:
        found = resolve_in(root, path.lstrip("/"))
        if found is None:
            return None
        try:
            return (root / found).read_bytes()
        except (IsADirectoryError, FileNotFoundError, NotADirectoryError):
            return None
    return lookup
