"""Read the text files the loader takes in (compose files, env files) with bounds.

A file is read only up to a size cap (a few MiB of env file, more for compose
files), and only as UTF-8 text: invalid UTF-8 and NUL bytes are errors at
their line:col. Env files must be regular files (`/dev/zero` or a FIFO would
never end, or never start); a compose file may also be a FIFO (`-f <(...)`).
Messages name the file and the problem, never its content.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from typing import BinaryIO

from compose.errors import ComposeFileError, Mark

MiB = 1 << 20
ENV_FILE_LIMIT = 4 * MiB
COMPOSE_FILE_LIMIT = 32 * MiB


def read_text(path: str | os.PathLike[str], name: str, what: str, limit: int, *, allow_fifo: bool = False) -> str:
    """The text of the file at `path`; `name` is how messages call it, `what` what it is ("env file")."""
    # O_NONBLOCK: opening a FIFO must not wait for a writer when FIFOs are refused anyway.
    flags = os.O_RDONLY | os.O_CLOEXEC | (0 if allow_fifo else os.O_NONBLOCK)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise ComposeFileError(f"{what} not found: {name}") from None
    except OSError as exc:
        raise ComposeFileError(f"cannot read {what} {name}: {exc.strerror or exc}") from None
    try:
        info = os.fstat(fd)
        mode = info.st_mode
        if stat.S_ISDIR(mode):
            raise ComposeFileError(f"{what} {name} is a directory")
        if not (stat.S_ISREG(mode) or (allow_fifo and stat.S_ISFIFO(mode))):
            raise ComposeFileError(f"{what} {name} is not a regular file")
        if stat.S_ISREG(mode) and info.st_size > limit:
            raise _too_big(name, what, limit)
        if not allow_fifo:
            os.set_blocking(fd, True)
        data = _read_capped(lambda n: os.read(fd, n), limit, name, what)
    except OSError as exc:
        raise ComposeFileError(f"cannot read {what} {name}: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    return decode_text(data, name, what)


def read_stream(stream: BinaryIO, name: str, what: str, limit: int) -> str:
    """`read_text` for an open stream (standard input)."""
    return decode_text(_read_capped(stream.read, limit, name, what), name, what)


def _read_capped(read: Callable[[int], bytes], limit: int, name: str, what: str) -> bytes:
    chunks: list[bytes] = []
    total = 0
    while total <= limit:
        chunk = read(min(MiB, limit + 1 - total))
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        total += len(chunk)
    raise _too_big(name, what, limit)


def _too_big(name: str, what: str, limit: int) -> ComposeFileError:
    return ComposeFileError(f"{what} {name} is larger than {_size(limit)}, the most pycompose reads")


def decode_text(data: bytes, name: str, what: str) -> str:
    """`data` as UTF-8 text without a leading BOM; invalid UTF-8 or a NUL byte is an error at its position."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ComposeFileError(f"{what} is not valid UTF-8 text", _mark(data, exc.start, name)) from None
    nul = data.find(b"\0")
    if nul >= 0:
        raise ComposeFileError(f"{what} is not text: it contains a NUL byte", _mark(data, nul, name))
    return text.removeprefix("\ufeff")  # editors on Windows like to add a BOM


def _mark(data: bytes, offset: int, name: str) -> Mark:
    line_start = data.rfind(b"\n", 0, offset) + 1
    col = len(data[line_start:offset].decode("utf-8", "replace")) + 1
    return Mark(name, data.count(b"\n", 0, offset) + 1, col)


def _size(limit: int) -> str:
    return f"{limit // MiB} MiB" if limit % MiB == 0 else f"{limit} bytes"
