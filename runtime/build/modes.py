"""COPY/ADD `--chmod`: an octal mode (`755`, `0640`) or chmod(1)'s symbolic form (`u+x`, `go=rX,u+w`)."""

from __future__ import annotations

import re
import stat
from dataclasses import dataclass

_CLAUSE = re.compile(r"([ugoa]*)((?:[-+=][rwxXstugo]*)+)")
_ACTION = re.compile(r"([-+=])([rwxXstugo]*)")
_WHO_BITS = {"u": 0o4700, "g": 0o2070, "o": 0o1007}  # rwx of each class, with its special bit
_SHIFT = {"u": 6, "g": 3, "o": 0}


class ModeError(ValueError):
    pass


@dataclass(frozen=True)
class Chmod:
    """A parsed --chmod: `apply(mode, is_dir)` gives the new permission bits (with suid/sgid/sticky)."""
    text: str
    octal: int | None
    clauses: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = ()

    def apply(self, mode: int, is_dir: bool) -> int:
        if self.octal is not None:
            return self.octal
        mode &= 0o7777
        for who, actions in self.clauses:
            for op, perms in actions:
                mode = _apply_action(mode, who or "a", op, perms, is_dir)
        return mode


def parse_chmod(text: str) -> Chmod | None:
    """None for no --chmod; a ModeError naming the value when it is neither octal nor symbolic."""
    if not text:
        return None
    if re.fullmatch(r"[0-7]{1,4}", text):
        return Chmod(text, int(text, 8))
    clauses: list[tuple[str, tuple[tuple[str, str], ...]]] = []
    for part in text.split(","):
        found = _CLAUSE.fullmatch(part)
        if found is None:
            raise ModeError(f"invalid chmod parameter: '{text}'. it should be octal string like 0755 "
                            "or symbolic like u+x")
        actions = tuple((a.group(1), a.group(2)) for a in _ACTION.finditer(found.group(2)))
        clauses.append((found.group(1), actions))
    return Chmod(text, None, tuple(clauses))


def _apply_action(mode: int, who: str, op: str, perms: str, is_dir: bool) -> int:
    classes = "ugo" if "a" in who else who
    bits = 0
    for cls in classes:
        bits |= _class_bits(mode, cls, perms, is_dir)
    if op == "+":
        return mode | bits
    if op == "-":
        return mode & ~bits
    clear = 0
    for cls in classes:
        clear |= _WHO_BITS[cls]
    return (mode & ~clear) | bits


def _class_bits(mode: int, cls: str, perms: str, is_dir: bool) -> int:
    shift = _SHIFT[cls]
    rwx = 0
    extra = 0
    for p in perms:
        if p == "r":
            rwx |= 4
        elif p == "w":
            rwx |= 2
        elif p == "x":
            rwx |= 1
        elif p == "X":
            if is_dir or mode & 0o111:
                rwx |= 1
        elif p == "s":
            extra |= {"u": stat.S_ISUID, "g": stat.S_ISGID}.get(cls, 0)
        elif p == "t":
            extra |= stat.S_ISVTX if cls == "o" else 0
        else:  # u, g, o: copy that class's current bits
            rwx |= (mode >> _SHIFT[p]) & 7
    return (rwx << shift) | extra

