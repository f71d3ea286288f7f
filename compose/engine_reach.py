"""Reaching the engine from a command or the Python API: which socket, and starting it on demand.

Every command that talks to the engine calls `ensure_engine(host)` first, and so does the API.
The default engine (default socket, run as root) starts in the background
when its socket is absent or dead, as `pycompose engine start` would start
it; any other missing engine is a one-line error that says how to start it.
The probe is a bare connect(): cheap enough to run before every command.
What starts one (compose/engine_spawn.py: subprocess, select) is imported
only to start one: the CLI's fast path reaches a running engine without it.
Where the engine lives (default socket, root) is compose/client/place.py.
"""

from __future__ import annotations

import errno
import os
import socket
import sys
from typing import IO, TYPE_CHECKING

from compose.client.errors import EngineConnectionError
from compose.client.place import START_LOCK, default_host, default_root, socket_path
from compose.error_base import ComposeError

if TYPE_CHECKING:
    from pathlib import Path


class EngineUnavailable(ComposeError):
    """No engine answers at the host and none may be started here."""


def host_path(host: str) -> str:
    """The socket path of `host` (compose/client/place.py reads it); unsupported hosts are unavailable."""
    try:
        return socket_path(host)
    except EngineConnectionError as exc:
        raise EngineUnavailable(str(exc)) from None


def probe(path: str) -> int:
    """0 when something listens on the socket at `path`, else the errno of connect()."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        try:
            sock.connect(path)
        except OSError as exc:
            return exc.errno or errno.ECONNREFUSED
    return 0


def ensure_engine(host: str) -> None:
    """Make sure an engine listens at `host`: start the default one, or fail in one line.

    A tcp:// or ssh:// engine is never started here: its client reports it unreachable."""
    if host.startswith(("tcp://", "ssh://")):
        return
    path = host_path(host)
    failure = probe(path)
    if failure == 0:
        return
    if failure in (errno.ENOENT, errno.ECONNREFUSED):
        if _same_host(host, default_host()) and os.geteuid() == 0:
            _auto_start(host, path)
            return
        how = "pycompose engine start" if _same_host(host, default_host()) else f"pycompose engine start --host {host}"
        what = "no such socket" if failure == errno.ENOENT else "nothing listens on the socket"
        raise EngineUnavailable(f"cannot connect to the engine at unix://{path}: {what}; start it with `{how}`")
    raise EngineUnavailable(f"cannot connect to the engine at unix://{path}: {os.strerror(failure)}")


def _same_host(a: str, b: str) -> bool:
    try:
        return os.path.normpath(host_path(a)) == os.path.normpath(host_path(b))
    except EngineUnavailable:
        return False


def _start_lock(root: Path) -> IO[str]:
    """An open, exclusively locked file: two commands at once must not start two engines."""
    import fcntl

    try:
        root.mkdir(parents=True, exist_ok=True)
        lock = open(root / START_LOCK, "a")  # noqa: SIM115 - closed by the caller
    except OSError as exc:
        raise EngineUnavailable(f"could not start the engine: cannot use root {root}: {exc.strerror or exc}") from None
    fcntl.flock(lock, fcntl.LOCK_EX)
    return lock


def _auto_start(host: str, path: str) -> None:
    from compose.engine_spawn import EngineSettings, EngineStartFailed, start_background

    root = default_root()
    with _start_lock(root):
        if probe(path) == 0:  # another command started it while we waited
            return
        try:
            start_background(EngineSettings(root, host, "info"))
        except EngineStartFailed as exc:
            # The first line names the log; the log's tail would break "one line".
            first = str(exc).splitlines()[0].rstrip(":")
            raise EngineUnavailable(f"could not start the engine: {first}") from None
    print(f"pycompose: started the engine (root {root}, socket {path})", file=sys.stderr, flush=True)
