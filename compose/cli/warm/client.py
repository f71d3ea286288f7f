"""The client half: hand the command line to a running CLI server, or say it must run here.

`run_warm` returns None whenever the command did not start in a server
(no server, not ours, turned off, a command that needs this very process),
and only then; once the server has answered with the child's pid, the
command is running there and its exit is this process's exit.
"""

from __future__ import annotations

import _signal
import _socket
import os
import sys

from compose.cli.warm import protocol

# The client is on every command line's path: it uses the C modules under `socket` and `signal`
# (whose Python layers import enum, ~8 ms) and not `typing.TYPE_CHECKING` (typing costs ~9 ms).
TYPE_CHECKING = False

if TYPE_CHECKING:
    from collections.abc import Sequence

# Commands that own the terminal (they read it raw, resize it) run here when stdin is one: the
# terminal's job control and foreground process group are this process's.
_INTERACTIVE = frozenset({"exec", "run", "attach", "start"})
# The engine's foreground daemon is a long-lived process of its own, never a server's child.
_NEVER = frozenset({"engine"})
_ENDING = (_signal.SIGINT, _signal.SIGTERM, _signal.SIGHUP, _signal.SIGQUIT)


def eligible(argv: Sequence[str]) -> bool:
    words = set(argv)
    if words & _NEVER or os.environ.get("_PYCOMPOSE_COMPLETE"):  # completion answers here, quietly
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
    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        try:
            sock.connect(path)
        except OSError:
            _start_server_at_exit(directory, key)
            return None
        return _converse(sock, argv, cwd)
    except _NotStarted:
        return None
    finally:
        sock.close()


class _NotStarted(Exception):
    """The server closed before it said the child runs: nothing ran."""


class _Lines:
    """Lines from the server's answer, as they come."""

    def __init__(self, sock: _socket.socket) -> None:
        self.sock, self.buffer = sock, b""

    def readline(self) -> bytes:
        while b"\n" not in self.buffer:
            chunk = self.sock.recv(256)
            if not chunk:
                line, self.buffer = self.buffer, b""
                return line
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        return line + b"\n"


def _converse(sock: _socket.socket, argv: list[str], cwd: str) -> int:
    ignored = [sig for sig in protocol.SIGNALS if _signal.getsignal(sig) == _signal.SIG_IGN]
    request = protocol.encode_request(["pycompose", *argv], cwd, _umask(), dict(os.environ), ignored)
    fds = b"".join(fd.to_bytes(4, sys.byteorder) for fd in (0, 1, 2))
    try:
        sent = sock.sendmsg([request], [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS, fds)])
        if sent < len(request):
            sock.sendall(request[sent:])
    except OSError as exc:
        raise _NotStarted() from exc
    reader = _Lines(sock)
    try:
        first = reader.readline()
    except OSError as exc:  # a server closing its socket (idle, replaced) resets connections it had not accepted
        raise _NotStarted() from exc
    if not first.startswith(b"pid "):
        raise _NotStarted()
    pid = int(first[4:])
    # Every signal goes on, one this process ignores (nohup, a shell's background job) too: the child
    # ignores it as well unless the command handles it, as in a process of its own (`run`, `up` do SIGINT).
    previous = {sig: _signal.signal(sig, lambda number, _frame: _forward(pid, number)) for sig in protocol.SIGNALS}
    try:
        last = reader.readline()
    finally:
        for sig, handler in previous.items():
            _signal.signal(sig, handler)
    return _outcome(last)


def _forward(pid: int, number: int) -> None:
    try:  # noqa: SIM105 - contextlib is one import more on every command line's path
        os.kill(pid, number)
    except ProcessLookupError:
        pass


def _outcome(line: bytes) -> int:
    kind, _, value = line.decode(errors="replace").strip().partition(" ")
    if kind == "exit" and value.lstrip("-").isdigit():
        return int(value)
    if kind == "signal" and value.isdigit():
        number = int(value)
        if number in _ENDING:
            # End the way the child ended, so a shell sees what it would have seen.
            sys.stdout.flush()
            _signal.signal(number, _signal.SIG_DFL)
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
    try:  # noqa: SIM105
        subprocess.Popen([sys.executable, "-m", "compose.cli.warm.server", directory, key],
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         start_new_session=True, close_fds=True, cwd="/")
    except OSError:
        pass
