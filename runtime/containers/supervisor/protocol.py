"""The supervisor's wire protocol, shared by the supervisor and its clients.

One AF_UNIX SOCK_STREAM connection carries newline-delimited JSON:
requests `{"id": n, "op": "...", ...}`, responses `{"id": n, "ok": true, ...}`
or `{"id": n, "ok": false, "error": "...", "phase": ...}`, and, on a
subscribed connection, events `{"event": "start"|"exit"|"exec-exit", ...}`.
A response that hands over a stream (attach, exec) says `"fds": 1` and
carries the fd as SCM_RIGHTS on its own bytes, sent in one sendmsg, so the
receiver finds it in the recvmsg that returns the response's first byte.

Attached streams use Docker's framing for non-TTY processes: an 8-byte
header [stream, 0, 0, 0, size (big-endian u32)] then the payload; stream 1
is stdout, 2 stderr. TTY output is raw.

Ops (a container is named by "cid", since "id" is the request's):
  create {spec, log: {driver, max_size, max_file, compress, attrs}, stdin_open, tty, stdin_once} -> {pid}
      answered once PID 1 waits at its start gate (or with the failed phase)
  start {cid} -> {started_at}        answered once the command is exec'd
  kill {cid, signal}                 delete {cid, force}   (force: SIGKILL first)
  freeze {cid, frozen}               (pause/unpause through the cgroup freezer)
  state {cid} -> {state}             list -> {containers: [state...]}
  attach {cid, stdin} -> fd          exec {cid, spec, tty, stdin} -> {exec_pid} + fd
  exec_state {exec_pid} -> {state}   exec_kill {exec_pid, signal}
  resize {target: cid | exec_pid, rows, cols}
  subscribe -> then events {"event": "start"|"exit"|"exec-exit", "id", ...}
  ping -> {pid}                      shutdown {force}  (refused while containers live)
Errors carry "kind": not_found, conflict, invalid, runtime (+ "phase",
"exit_code"), system, internal.
"""

from __future__ import annotations

import json
import os
import struct
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

SOCKET_NAME = "supervisor.sock"
PIDFILE_NAME = "supervisor.pid"
LOCK_NAME = "supervisor.lock"
LOG_NAME = "supervisor.log"
STATE_DIR = "supervisor"

ZERO_TIME = "0001-01-01T00:00:00Z"
STDOUT, STDERR = 1, 2
STREAM_NAMES = {STDOUT: "stdout", STDERR: "stderr"}
MAX_LINE = 16 * 1024 * 1024  # one request, a spec with many mounts and env fits easily
_MAX_SUN_PATH = 107


class ProtocolError(Exception):
    """The peer sent something that is not our protocol."""


class OpError(Exception):
    """A request the supervisor refuses; `kind` is "not_found", "conflict" or "invalid"."""

    def __init__(self, message: str, kind: str = "invalid") -> None:
        super().__init__(message)
        self.kind = kind


def encode(message: dict[str, Any]) -> bytes:
    return json.dumps(message, separators=(",", ":")).encode() + b"\n"


class LineReader:
    """Bytes in, JSON objects out, one per complete line."""

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, data: bytes) -> Iterator[dict[str, Any]]:
        self._buf += data
        while True:
            end = self._buf.find(b"\n")
            if end < 0:
                if len(self._buf) > MAX_LINE:
                    raise ProtocolError(f"message longer than {MAX_LINE} bytes")
                return
            line = bytes(self._buf[:end])
            del self._buf[: end + 1]
            if not line.strip():
                continue
            try:
                message = json.loads(line)
            except ValueError as exc:
                raise ProtocolError(f"not JSON: {exc}") from None
            if not isinstance(message, dict):
                raise ProtocolError("a message must be a JSON object")
            yield message


def frame(stream: int, data: bytes) -> bytes:
    """Docker's multiplexed stream frame: [stream, 0, 0, 0, len BE32] + data."""
    return struct.pack(">BxxxI", stream, len(data)) + data


def parse_frames(data: bytes) -> tuple[list[tuple[int, bytes]], bytes]:
    """Split framed output into (stream, payload) pairs; the incomplete tail is returned."""
    out = []
    while len(data) >= 8:
        stream, size = struct.unpack(">BxxxI", data[:8])
        if len(data) < 8 + size:
            break
        out.append((stream, data[8 : 8 + size]))
        data = data[8 + size :]
    return out, data


def rfc3339nano(ns: int | None = None) -> str:
    """Go's time.RFC3339Nano in UTC: fraction without trailing zeros, none at all when zero."""
    if ns is None:
        ns = time.time_ns()
    seconds, fraction = divmod(ns, 1_000_000_000)
    base = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
    if fraction:
        return f"{base}.{fraction:09d}".rstrip("0") + "Z"
    return base + "Z"


def error_message(request_id: Any, message: str, phase: str | None = None,
                  exit_code: int | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"id": request_id, "ok": False, "error": message}
    if phase:
        out["phase"] = phase
    if exit_code is not None:
        out["exit_code"] = exit_code
    return out


def unix_path(path: Path) -> tuple[str, int]:
    """An address for `path` that fits in sun_path: itself, or /proc/self/fd/N/name through an O_PATH fd.

    The fd (or -1) must stay open while binding/connecting, then be closed.
    """
    raw = os.fspath(path)
    if len(os.fsencode(raw)) <= _MAX_SUN_PATH:
        return raw, -1
    fd = os.open(path.parent, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    return f"/proc/self/fd/{fd}/{path.name}", fd
