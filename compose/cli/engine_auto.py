"""Reaching the engine from a CLI command: which socket, and starting it on demand.

Every command that talks to the engine calls `ensure_engine(host)` first.
The default engine (default socket, run as root) starts in the background
when its socket is absent or dead, as `pycompose engine start` would start
it; any other missing engine is a one-line error that says how to start it.
The probe is a bare connect(): cheap enough to run before every command.
The engine's own command module (engine.py, click, subprocess) is imported
only to start one: the CLI's fast path reaches a running engine without it.
"""

from __future__ import annotations

import errno
import os
import socket
import sys
from typing import IO, TYPE_CHECKING

from compose.error_base import ComposeError

if TYPE_CHECKING:
    from pathlib import Path

DEFAULT_HOST = "unix:///run/pycompose/engine.sock"
# Moves the default socket (tests use it to exercise the auto-start without
# touching /run/pycompose); DOCKER_HOST still wins over it.
DEFAULT_HOST_ENV = "PYCOMPOSE_DEFAULT_HOST"
ROOT_ENV = "PYCOMPOSE_ENGINE_ROOT"
START_LOCK = "engine.start.lock"


class EngineUnavailable(ComposeError):
    """No engine answers at the host and none may be started here."""


def default_host() -> str:
    """The engine's default socket: $PYCOMPOSE_DEFAULT_HOST, else /run/pycompose/engine.sock."""
    return os.environ.get(DEFAULT_HOST_ENV) or DEFAULT_HOST


def default_root() -> Path:
    from pathlib import Path

    from compose.cli.engine import DEFAULT_ROOT

    return Path(os.environ.get(ROOT_ENV) or DEFAULT_ROOT).absolute()


def host_path(host: str) -> str:
    path = host[len("unix://") :] if host.startswith("unix://") else host
    if not path.startswith("/"):
        raise EngineUnavailable(f"unsupported engine host {host!r}: only unix:// sockets are supported")
    return path


def probe(path: str) -> int:
    """0 when something listens on the socket at `path`, else the errno of connect()."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        try:
            sock.connect(path)
        except OSError as exc:
            return exc.errno or errno.ECONNREFUSED
    return 0


def ensure_engine(host: str) -> None:
    """Make sure an engine listens at `host`: start the default one, or fail in one line."""
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
    import click

    from compose.cli.engine import EngineSettings, start_background

    root = default_root()
    with _start_lock(root):
        if probe(path) == 0:  # another command started it while we waited
            return
        try:
            start_background(EngineSettings(root, host, "info"))
        except click.ClickException as exc:
            # The first line names the log; the log's tail would break "one line".
            first = exc.message.splitlines()[0].rstrip(":")
            raise EngineUnavailable(f"could not start the engine: {first}") from None
    print(f"pycompose: started the engine (root {root}, socket {path})", file=sys.stderr, flush=True)
