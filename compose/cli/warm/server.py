"""The server half: import the compose layer once, then fork a child per command line.

`python -m compose.cli.warm.server DIR KEY`. One server per socket: the
first to hold `KEY.lock` serves, others leave at once. The socket is bound
before the imports so that clients arriving meanwhile queue up instead of
starting servers of their own. The loop is single-threaded (a fork from a
threaded process could copy a held lock) and waits on the listening
socket, each child's pidfd, and each client's connection: a client that
goes away takes its child along (SIGKILL), as when a process is killed.
"""

from __future__ import annotations

import contextlib
import fcntl
import gc
import importlib
import os
import selectors
import signal
import socket
import sys
import time

from compose.cli.warm import protocol
from compose.cli.warm.child import child, spare

# What a command line would import anyway; importing it here is the point of the server.
PRELOAD = (
    "compose.cli.app", "compose.cli.project_cmd", "compose.cli.up", "compose.cli.down", "compose.cli.ps",
    "compose.cli.logs", "compose.cli.config", "compose.cli.lifecycle", "compose.cli.container",
    "compose.cli.image", "compose.cli.network", "compose.cli.volume", "compose.cli.fastpath",
    "compose.cli.container_pull",  # the fast path's `run`/`exec` import it: 2-3 ms a command line otherwise
    "compose.loader.project", "compose.plan", "compose.graph", "compose.scheduler", "compose.engine_calls",
    "compose.session", "compose.waiting", "compose.pulling",
    "compose.progress", "compose.logstream", "compose.client", "networkx", "anyio", "anyio._backends._asyncio",
    "h11", "yaml", "fastjsonschema", "click",
)


def main(argv: list[str]) -> int:
    directory, key = argv[0], argv[1]
    path = protocol.socket_path(directory, key)
    if path is None:
        return 1
    lock = os.open(os.path.join(directory, f"{key}.lock"), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return 0  # another server has this key
    os.ftruncate(lock, 0)
    os.write(lock, f"{os.getpid()}\n".encode())
    _sweep(directory, key)
    signal.signal(signal.SIGTERM, _leave)
    # A SIGTERM between binding and the cleanup below would leave the socket behind: hold it back.
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
    listener = _listen(path)
    bound = os.stat(path).st_ino
    try:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})
        for name in PRELOAD:
            # A module that fails here only costs its import later, in the child, which reports the error.
            with contextlib.suppress(Exception):
                importlib.import_module(name)
        with contextlib.suppress(Exception):
            _warm_caches()
        gc.collect()
        gc.freeze()  # children leave the preloaded objects' pages shared instead of touching them in collections
        idle = float(os.environ.get(protocol.IDLE_ENV) or protocol.DEFAULT_IDLE)
        server = Server(listener, idle)
        try:
            server.loop()
        finally:
            server.end_spare()
    finally:
        # Only the holder of the lock removes the socket; the next server binds a fresh one.
        try:
            if os.stat(path).st_ino == bound:
                os.unlink(path)
        except OSError:
            pass
        listener.close()
        os.close(lock)
    return 0


# Touches most of the loader's paths once, so the caches they fill on first use (the compiled schema
# check, parsers, rule tables) are filled in the server, not in every child.
_SAMPLE = """
services:
  web:
    image: busybox
    command: ["sh", "-c", "echo ${GREETING:-hi}"]
    environment: {A: "1"}
    ports: ["8080:80"]
    volumes: ["data:/data", "./src:/src:ro"]
    depends_on: {db: {condition: service_healthy}}
    labels: [a=b]
  db:
    image: busybox
    healthcheck: {test: ["CMD", "true"], interval: 1s}
volumes: {data: {}}
"""


def _warm_caches() -> None:
    import tempfile
    from pathlib import Path

    from compose.loader.project import LoadOptions, load_project
    from compose.observed import ObservedState
    from compose.plan import plan_up

    with tempfile.TemporaryDirectory(prefix="pyc-warm-") as folder:
        Path(folder, "compose.yaml").write_text(_SAMPLE)
        loaded = load_project(LoadOptions(working_dir=Path(folder), environ={}))
        plan_up(loaded.project, ObservedState(loaded.project.name))


def _sweep(directory: str, key: str) -> None:
    """Remove what servers of other code versions left (a killed server keeps its socket and lock)."""
    for name in os.listdir(directory):
        if not name.endswith(".lock") or name == f"{key}.lock":
            continue
        path = os.path.join(directory, name)
        try:
            fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # held: that server lives, leave it be
            for stale in (path[:-5] + ".sock", path):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(stale)
        except OSError:
            pass
        finally:
            os.close(fd)


_LEAVING: list[bool] = []  # set by SIGTERM; the loop ends at its next turn, then main's cleanup runs


def _leave(_number: int, _frame: object) -> None:
    # A flag, not an exception: a handler that raises inside one of Python's at-fork callbacks (a fork
    # for the spare at the moment the SIGTERM came) has its exception swallowed, and the server lived on.
    _LEAVING.append(True)


def running_servers(directory: str) -> list[int]:
    """The pids of the live servers whose sockets are in `directory`."""
    pids = []
    for name in os.listdir(directory) if os.path.isdir(directory) else ():
        if not name.endswith(".lock") or not os.path.exists(os.path.join(directory, name[:-5] + ".sock")):
            continue
        try:
            with open(os.path.join(directory, name)) as f:
                try:
                    fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                    continue  # nobody holds it: that server is gone, and its pid may be someone else's now
                except OSError:
                    pids.append(int(f.read().split()[0]))
        except (OSError, ValueError, IndexError):
            continue
    return pids


def wait_for_server(directory: str, timeout: float = 20.0) -> int | None:
    """The pid of `directory`'s server once one is up (a first command line leaves it behind)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pids = running_servers(directory)
        if pids:
            return pids[0]
        time.sleep(0.02)
    return None


def stop_servers(directory: str, wait: float = 5.0) -> None:
    """End the servers whose sockets are in `directory` (a test session's, at its end)."""
    pids = running_servers(directory)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + wait
    for pid in pids:
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.02)


def _listen(path: str) -> socket.socket:
    # A dead server's socket: we hold the lock, so no live server is bound there.
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    os.chmod(path, 0o600)
    listener.listen(64)
    return listener


class Server:
    def __init__(self, listener: socket.socket, idle: float) -> None:
        self.listener = listener
        self.idle = idle
        self.selector = selectors.DefaultSelector()
        self.selector.register(listener, selectors.EVENT_READ, ("accept", None))
        self.children: dict[int, tuple[socket.socket, int]] = {}  # pid -> (client connection, pidfd)
        self.gone: set[int] = set()  # children whose client left
        self.last_active = time.monotonic()
        self.spare: tuple[int, socket.socket] | None = None  # a child forked ahead, waiting (child.spare)
        self.comm = _comm()

    def loop(self) -> None:
        wake_r, wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        signal.set_wakeup_fd(wake_w)  # a SIGTERM wakes the select below
        self.selector.register(wake_r, selectors.EVENT_READ, ("wake", None))
        self.make_spare()
        while not _LEAVING:
            timeout = None if self.children else max(0.0, self.last_active + self.idle - time.monotonic())
            events = self.selector.select(timeout)
            if not events and not self.children and time.monotonic() >= self.last_active + self.idle:
                return
            for selected, _mask in events:
                kind, pid = selected.data
                try:
                    if kind == "accept":
                        self.accept()
                    elif kind == "exit":
                        self.reap(pid)
                    elif kind == "client":
                        self.client_spoke(pid)
                    elif kind == "wake":
                        os.read(wake_r, 512)
                except Exception:  # one command line's trouble must not end the server for the others
                    pass
            self.last_active = time.monotonic()

    def accept(self) -> None:
        try:
            conn, _ = self.listener.accept()
        except OSError:
            return
        try:
            if not _same_user(conn):
                conn.close()
                return
            message, fds, _flags, _addr = socket.recv_fds(conn, 4096, 3)
            if len(fds) != 3 or len(message) < 4:
                raise ValueError("a request without its three streams")
            size = int.from_bytes(message[:4], "big")
            payload = message[4:] + _read_exact(conn, size - (len(message) - 4))
            request = protocol.decode_request(payload)
        except (OSError, ValueError, EOFError):
            conn.close()
            return
        pid = self.hand_to_spare(payload, fds, conn)
        if pid is None:
            pid = os.fork()
            if pid == 0:
                child(request, fds, conn.fileno())  # never returns
        for fd in fds:
            os.close(fd)
        pidfd = os.pidfd_open(pid)
        self.children[pid] = (conn, pidfd)
        self.selector.register(pidfd, selectors.EVENT_READ, ("exit", pid))
        self.selector.register(conn, selectors.EVENT_READ, ("client", pid))

    def make_spare(self) -> None:
        """Fork the next command line's process now, while nobody waits for it."""
        if self.spare is not None:
            return
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            pid = os.fork()
        except OSError:
            ours.close()
            theirs.close()
            return
        if pid == 0:
            spare(theirs, self.comm)  # never returns
        theirs.close()
        self.spare = (pid, ours)

    def hand_to_spare(self, payload: bytes, fds: list[int], conn: socket.socket) -> int | None:
        """The spare's pid once it has the command line; None when there is no spare (fork one then)."""
        if self.spare is None:
            return None
        pid, channel = self.spare
        self.spare = None
        try:
            socket.send_fds(channel, [payload], [*fds, conn.fileno()])
        except OSError:  # it died, or the request does not fit a message: the fork path takes it
            _end(pid, channel)
            return None
        channel.close()
        return pid

    def end_spare(self) -> None:
        if self.spare is not None:
            _end(*self.spare)
            self.spare = None

    def reap(self, pid: int) -> None:
        conn, pidfd = self.children.pop(pid)
        self.selector.unregister(pidfd)
        if pid in self.gone:
            self.gone.discard(pid)
        else:
            self.selector.unregister(conn)
        os.close(pidfd)
        _, status = os.waitpid(pid, 0)
        if os.WIFSIGNALED(status):
            _send(conn, f"signal {os.WTERMSIG(status)}\n")
        else:
            _send(conn, f"exit {os.waitstatus_to_exitcode(status)}\n")
        conn.close()
        self.make_spare()  # the command line is over: the next one's process, ahead of it

    def client_spoke(self, pid: int) -> None:
        conn, _ = self.children[pid]
        try:
            data = conn.recv(64)
        except OSError:
            data = b""
        if not data:  # the client is gone: so is its command
            self.selector.unregister(conn)
            self.gone.add(pid)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def _end(pid: int, channel: socket.socket) -> None:
    channel.close()
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)


def _comm() -> str:
    try:
        with open("/proc/self/comm") as f:
            return f.read().strip()
    except OSError:
        return "python"


def _read_exact(sock: socket.socket, size: int) -> bytes:
    chunks = []
    while size:
        chunk = sock.recv(size)
        if not chunk:
            raise EOFError("connection closed")
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def _same_user(conn: socket.socket) -> bool:
    import struct

    creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    _pid, uid, _gid = struct.unpack("3i", creds)
    return uid == os.getuid()


def _send(conn: socket.socket, text: str) -> None:
    with contextlib.suppress(OSError):
        conn.sendall(text.encode())


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
