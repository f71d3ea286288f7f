"""Run a function in a forked child and get its JSON result back: for tests of process-wide kernel state.

Capabilities, seccomp filters and rlimits cannot be undone in a process, so
each test applies them in a throw-away child. The child writes
`json.dumps(fn())` to a pipe and exits 0, or writes the exception and exits 1.
"""

from __future__ import annotations

import json
import os
import select
import signal
import time
import traceback
from collections.abc import Callable
from typing import Any


def run_forked(fn: Callable[[], Any], timeout: float = 20.0) -> Any:
    """fn() in a child; its JSON-able return value, or AssertionError with the child's traceback."""
    status, payload = fork_status(fn, timeout)
    if status != 0:
        raise AssertionError(f"child failed (wait status {status:#x}): {payload}")
    return json.loads(payload)


def fork_status(fn: Callable[[], Any], timeout: float = 20.0) -> tuple[int, str]:
    """fn() in a child; (raw wait status, what it wrote). The child may also be killed."""
    return _fork(fn, timeout, capture=False)


def _fork(fn: Callable[[], Any], timeout: float, capture: bool) -> tuple[int, str]:
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        code = 1
        try:
            os.close(read_end)
            if capture:
                os.dup2(write_end, 1)
                os.dup2(write_end, 2)
            try:
                text, code = json.dumps(fn()), 0
            except BaseException:
                text = traceback.format_exc()
            os.write(write_end, text.encode())
        finally:
            os._exit(code)
    os.close(write_end)
    chunks = []
    deadline = time.monotonic() + timeout
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([read_end], [], [], left)[0]:
                os.kill(pid, signal.SIGKILL)
                raise AssertionError(f"child {pid} did not finish in {timeout}s")
            chunk = os.read(read_end, 65536)
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(read_end)
        _, status = os.waitpid(pid, 0)
    return status, b"".join(chunks).decode(errors="replace")


def fork_exec(setup: Callable[[], None], argv: list[str], timeout: float = 20.0) -> tuple[int, str]:
    """setup() then execv(argv) in a child, stdout+stderr captured; (raw wait status, output)."""

    def child() -> None:
        setup()
        os.execv(argv[0], argv)

    return _fork(child, timeout, capture=True)


def proc_status(pid: str = "self") -> dict[str, str]:
    """/proc/<pid>/status as a dict (CapEff, CapBnd, Seccomp, NoNewPrivs...)."""
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            out[key] = value.strip()
    return out
