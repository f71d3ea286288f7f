"""Cgroup control files: one value written in one write(2), and `key value` files read as numbers.

Kept apart from cgroups.py so that every cgroup writer (limits, devices, block I/O, updates,
stats) shares one way to write and one error naming the file, without importing the manager
of the hierarchies.
"""

from __future__ import annotations

import contextlib
import os


class CgroupError(OSError):
    """A cgroup file system operation failed; the message names the path."""


def write_value(path: str, value: str) -> None:
    """`value` into the control file at `path` in one write, as the kernel parses one write at a time."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
        try:
            os.write(fd, value.encode())
        finally:
            os.close(fd)
    except OSError as exc:
        raise CgroupError(exc.errno, f"cgroup: writing {value!r} to {path}: {exc.strerror}") from exc


def keyed(text: str) -> dict[str, int]:
    """`key value` lines (memory.stat, cpu.stat, cpuacct.stat, memory.events...) as a dict."""
    out: dict[str, int] = {}
    for line in text.splitlines():
        key, _, value = line.partition(" ")
        with contextlib.suppress(ValueError):
            out[key] = int(value)
    return out
