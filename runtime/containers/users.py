"""`User` and `GroupAdd` as Docker reads them: names resolved through the image's /etc/passwd and /etc/group.

The files come from the image's snapshot layers, top-most first (the first
layer that has the path wins; a whiteout there hides it). The rules follow
runc's: a name that is not in passwd is an error, a number that is not there
is used as is (gid 0, home "/"), and the user's supplementary groups are the
groups that list it as a member.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from runtime.errors import bad_request
from runtime.spec import User

ReadFile = Callable[[str], str | None]


@dataclass(frozen=True)
class ResolvedUser:
    user: User
    home: str


def layer_reader(layers_top_first: Sequence[Path]) -> ReadFile:
    """A reader of files of the image's root filesystem (`etc/passwd`, no leading slash)."""

    def read(relative: str) -> str | None:
        for layer in layers_top_first:
            path = layer / relative
            try:
                st = os.lstat(path)
            except OSError:
                if _whited_out(layer, relative):
                    return None
                continue
            if stat.S_ISCHR(st.st_mode) and st.st_rdev == 0:
                return None  # overlay whiteout: a higher layer deleted the file
            if not stat.S_ISREG(st.st_mode):
                return None
            try:
                return path.read_text(errors="replace")
            except OSError:
                return None
        return None

    return read


def _whited_out(layer: Path, relative: str) -> bool:
    """Whether a parent directory of `relative` is a whiteout in `layer`."""
    parent = Path(relative).parent
    while str(parent) not in (".", "/", ""):
        try:
            st = os.lstat(layer / parent)
        except OSError:
            parent = parent.parent
            continue
        return stat.S_ISCHR(st.st_mode) and st.st_rdev == 0
    return False


def _entries(text: str | None) -> list[list[str]]:
    if not text:
        return []
    return [line.split(":") for line in text.splitlines() if line.strip() and not line.startswith("#")]


def _number(text: str) -> int | None:
    return int(text) if text.isdigit() else None


def resolve_user(spec: str, group_add: Sequence[str], read: ReadFile) -> ResolvedUser:
    """`"name"`, `"uid"`, `"name:group"`, `"uid:gid"` (and "" for root) plus GroupAdd -> numeric ids and home."""
    user_part, _, group_part = (spec or "").partition(":")
    passwd = _entries(read("etc/passwd"))
    groups = _entries(read("etc/group"))
    uid, gid, home, name = 0, 0, "/", ""
    if user_part:
        uid_number = _number(user_part)
        entry = next((e for e in passwd if len(e) >= 7 and (e[0] == user_part or (
            uid_number is not None and e[2] == user_part))), None)
        if entry is not None:
            name, uid, gid, home = entry[0], int(entry[2]), int(entry[3]), entry[5] or "/"
        elif uid_number is None:
            raise bad_request(f"unable to find user {user_part}: no matching entries in passwd file")
        else:
            uid = uid_number
    else:
        entry = next((e for e in passwd if len(e) >= 7 and e[2] == "0"), None)
        if entry is not None:
            name, home = entry[0], entry[5] or "/"
    if group_part:
        gid = _group_id(group_part, groups)
    extra: list[int] = []
    if name and not group_part:
        extra = [int(e[2]) for e in groups if len(e) >= 4 and name in e[3].split(",") and e[2].isdigit()]
    extra += [_group_id(g, groups) for g in group_add]
    additional = tuple(dict.fromkeys(g for g in extra if g != gid))
    return ResolvedUser(User(uid, gid, additional), home)


def _group_id(group: str, groups: list[list[str]]) -> int:
    number = _number(group)
    if number is not None:
        return number
    entry = next((e for e in groups if len(e) >= 3 and e[0] == group), None)
    if entry is None or not entry[2].isdigit():
        raise bad_request(f"unable to find group {group}: no matching entries in group file")
    return int(entry[2])
