"""The client half: hand the command line to a running CLI server, or say it must run here.

`run_warm` returns None whenever the command did not start in a server
(no server, not ours, turned off, a command that needs this very process),
and only then; once the server has answered with the child's pid, the
command is running there and its exit is this process's exit.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sys
from typing import TYPE_CHECKING

from compose.cli.warm import protocol

if TYPE_CHECKING:
    from collections.abc import Sequence

# Commands that own the terminal (they read it raw, resize it) run here when stdin is one: the
# terminal's job control and foreground process group are this process's.
_INTERACTIVE = frozenset({"exec", "run", "attach", "start"})
# The engine's foreground daemon is a long-lived process of its own, never a server's child.
_NEVER = frozenset({"engine"})
_FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGWINCH,
              signal.SIGUSR1, signal.SIGUSR2)


def eligible(argv: Sequence[str]) -> bool:
    words = set(argv)
    if words & _NEVER:
        return False
    return not (words & _INTERACTIVE and _isatty(0))


def _isatty(fd: int) -> bool:
    try:
        return os.isatty(fd)
    except OSError:
        return False


def run_warm(argv: list[str]) -> int | None:
    """The command's exit status from a server's child, or None: run it in this process."""
    if not protocol.enabled() or not eligible(argv):
        return None
    try:
        cwd = os.getcwd()
    except OSError:
        return None  # a removed working directory: let the command itself say what it makes of that
    directory = protocol.socket_dir()
    if directory is None:
        return None
    key = protocol.server_key()
    path = protocol.socket_path(directory, key)
    if path is None:
        return None
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(path)
    except OSError:
        sock.close()
        _start_server_at_exit(directory, key)
        return None
    with sock:
        try:
            return _converse(sock, argv, cwd)
        except _NotStarted:
            return None


class _NotStarted(Exception):
    """The server closed before it said the child runs: nothing ran."""


def _converse(sock: socket.socket, argv: list[str], cwd: str) -> int:
    request = protocol.encode_request(["pycompose", *argv], cwd, _umask(), dict(os.environ))
    try:
        socket.send_fds(sock, [request[:4096]], [0, 1, 2])
        if len(request) > 4096:
            sock.sendall(request[4096:])
    except OSError as exc:
        raise _NotStarted() from exc
    reader = sock.makefile("rb")
    first = reader.readline()
    if not first.startswith(b"pid "):
        raise _NotStarted()
    pid = int(first[4:])
    # A signal this process ignores (nohup, a shell's background job) stays ignored for the command too.
    previous = {sig: signal.signal(sig, lambda number, _frame: _forward(pid, number))
                for sig in _FORWARDED if signal.getsignal(sig) != signal.SIG_IGN}
    try:
        last = reader.readline()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return _outcome(last)


def _forward(pid: int, number: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, number)


def _outcome(line: bytes) -> int:
    kind, _, value = line.decode(errors="replace").strip().partition(" ")
    if kind == "exit" and value.lstrip("-").isdigit():
        return int(value)
    if kind == "signal" and value.isdigit():
        number = int(value)
        if number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT):
            # End the way the child ended, so a shell sees what it would have seen.
            sys.stdout.flush()
            signal.signal(number, signal.SIG_DFL)
            os.kill(os.getpid(), number)
        return 128 + number
    sys.stderr.write("pycompose: the CLI server ended without the command's exit status\n")
    return 1


def _umask() -> int:
    current = os.umask(0o022)
    os.umask(current)
    return current


def _start_server_at_exit(directory: str, key: str) -> None:
    """Leave a server behind for the next command line; started after this one, not competing with it."""
    import atexit

    atexit.register(_spawn_server, directory, key)


def _spawn_server(directory: str, key: str) -> None:
    import subprocess

    # Without a server every command line runs in its own process, as before.
    with contextlib.suppress(OSError):
        subprocess.Popen([sys.executable, "-m", "compose.cli.warm.server", directory, key],
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         start_new_session=True, close_fds=True, cwd="/")
