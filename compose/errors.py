"""The compose layer's error type and warnings channel.

Every problem a user can cause in a compose file becomes one `ComposeFileError`
whose `str()` is a single line: `file:line:col: key.path: message`.
"""

from __future__ import annotations

import logging
import os
from typing import NamedTuple

from compose.error_base import ComposeError as ComposeError

log = logging.getLogger("pycompose")


class Mark(NamedTuple):
    """A position in a source file; line and col are 1-based.

    A named tuple: the loader makes one for every node of every file, and a tuple is the cheapest
    immutable record to build (a frozen dataclass costs several times more per instance)."""

    file: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


class ComposeFileError(ComposeError):
    """A problem in a compose (or env) file, with where it is."""

    def __init__(self, message: str, mark: Mark | None = None, path: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.mark = mark
        self.path = path

    def __str__(self) -> str:
        where = f"{self.mark}: " if self.mark else ""
        key = f"{self.path}: " if self.path else ""
        return f"{where}{key}{self.message}"


def display_path(path: str | os.PathLike[str], base: str | os.PathLike[str] | None = None) -> str:
    """How a file is named in messages: relative to `base` (the current folder) when below it."""
    text = os.fspath(path)
    try:
        rel = os.path.relpath(text, base)
    except ValueError:
        return text
    return text if rel.startswith("..") else rel


def warn(message: str, mark: Mark | None = None) -> None:
    """Report something the user should fix but that does not stop loading."""
    log.warning("%s%s", f"{mark}: " if mark else "", message)


def format_path(path: tuple[str | int, ...] | list[str | int]) -> str:
    """`('services', 'web', 'ports', 0)` -> `services.web.ports[0]`."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out
