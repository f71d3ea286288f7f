"""The supervisor process: one per engine state root, parent of every container's PID 1.

Single-threaded on purpose (it clones containers and setns's for exec): an
epoll loop serves the engine's connections on `root/supervisor.sock`,
waits on every PID 1 and exec process through pidfds, drains their output
and keeps each container's state file current.

If the supervisor itself is killed, the containers live on: they are not
in its pid namespace and carry no PDEATHSIG. Started by a holder
(holder.py, the normal case), it hands the holder duplicates of each
running container's pidfd and stdio (`keep`, before answering its create): the
holder becomes the containers' parent and reaps them, keeps their pipes
open, and starts the next supervisor, which gets those descriptors back
(`Keeper.handover`) and re-adopts each container with them: the same
pidfd (its exit status through PIDFD_GET_INFO, even if it exited while no
supervisor ran) and the same pipes, drained into the same log from where
the last one stopped (peek.py). Containers still waiting at their start
gate see EOF and exit. Without a holder (it was killed too), the state
files are the only trace: a PID 1 still alive (same pid and start time) is
re-adopted through a new pidfd and its pipes reopened through
/proc/<pid>/fd (what was written while nobody read was lost), and one that
died unobserved is recorded as exited with code -1. Exec sessions die
with their streams.
"""

from __future__ import annotations

import collections
import contextlib
import errno
import fcntl
import logging
import os
import signal
import socket
from pathlib import Path
from typing import Any

from runtime.containers.supervisor import adopt, protocol, state
from runtime.containers.supervisor import archive as archive_op
from runtime.containers.supervisor import containers as ct
from runtime.containers.supervisor import loop as ev
from runtime.containers.supervisor.conn import Conn, Reply
from runtime.containers.supervisor.execs import Exec
from runtime.containers.supervisor.keep import Keeper, close_all
from runtime.containers.supervisor.peek import Peeker
from runtime.containers.supervisor.protocol import (
    LOCK_NAME,
    PIDFILE_NAME,
    SOCKET_NAME,
    STATE_DIR,
    OpError,
    unix_path,
)
from runtime.linux import syscalls as sc
from runtime.spec import ContainerSpec, exec_from_dict, spec_from_dict

log = logging.getLogger("pycompose.supervisor")
# The engine asks for an exec's state right after its exit event; a health check every 100 ms makes
# 3,000 exited execs in the 300 s they are kept for: the newest per container are enough.
KEEP_EXITED_PER_CONTAINER = 32


class AlreadyRunning(Exception):
    pass


class Supervisor:
    def __init__(self, root: Path, prefix: str, holder_fd: int | None = None) -> None:
        self.root, self.prefix = root, prefix
        self.state_dir = root / STATE_DIR
        self.loop = ev.Loop()
        self.keeper = Keeper(holder_fd, self.loop) if holder_fd is not None else None
        self.peeker = Peeker() if holder_fd is not None else None
        self.containers: dict[str, ct.Container] = {}
        self.execs: dict[int, Exec] = {}
        self.exited_execs: dict[str, collections.deque[Exec]] = {}  # container id -> oldest first
        self.conns: set[Conn] = set()
        self.listener: socket.socket | None = None
        self._lock_fd = -1
        self._wakeup_r = self._wakeup_w = -1

    # -- life cycle ----------------------------------------------------------------------------

    def open(self) -> None:
        """Lock the root, adopt what the state files describe, listen. Raises AlreadyRunning."""
        self.root.mkdir(mode=0o711, parents=True, exist_ok=True)
        self.state_dir.mkdir(mode=0o700, exist_ok=True)
        self._lock_fd = os.open(self.root / LOCK_NAME, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._lock_fd)
            raise AlreadyRunning(f"a supervisor already runs for {self.root}") from None
        sc.set_child_subreaper()
        self._watch_children()
        handed = self.keeper.handover() if self.keeper is not None else {}
        for record in state.load_all(self.state_dir):
            fds = handed.pop(record.id, {})
            try:
                self.containers[record.id] = container = adopt.from_record(self, record, fds)
            except Exception:
                log.exception("cannot take over container %s", record.id[:12])
                close_all(fds.values())
                continue
            if not container.alive and fds:
                self.drop(record.id)
            elif container.alive and not fds:
                self.keep(container)  # adopted without a holder's help: the holder has it from now on
        for cid, fds in handed.items():  # kept for a container whose state file is gone
            close_all(fds.values())
            self.drop(cid)
        self.listener = self._listen()
        (self.root / PIDFILE_NAME).write_text(f"{os.getpid()}\n")

    def _listen(self) -> socket.socket:
        path = self.root / SOCKET_NAME
        path.unlink(missing_ok=True)  # we hold the lock: whatever socket file is there is stale
        address, dirfd = unix_path(path)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old = os.umask(0o177)
        try:
            sock.bind(address)
        finally:
            os.umask(old)
            if dirfd >= 0:
                os.close(dirfd)
        sock.listen(128)
        sock.setblocking(False)
        self.loop.watch(sock.fileno(), ev.IN, self._accept)
        return sock

    def _watch_children(self) -> None:
        """Orphans reparented to us (we are a subreaper) are reaped; ours are left to their pidfds."""
        self._wakeup_r, self._wakeup_w = os.pipe()
        os.set_blocking(self._wakeup_w, False)
        os.set_blocking(self._wakeup_r, False)
        signal.set_wakeup_fd(self._wakeup_w, warn_on_full_buffer=False)
        signal.signal(signal.SIGCHLD, lambda signum, frame: None)
        self.loop.watch(self._wakeup_r, ev.IN, self._reap_orphans)

    def _reap_orphans(self, mask: int) -> None:
        with contextlib.suppress(BlockingIOError):
            os.read(self._wakeup_r, 4096)
        known = {c.record.pid for c in self.containers.values()} | set(self.execs)
        try:
            with open(f"/proc/self/task/{os.getpid()}/children") as f:
                children = [int(p) for p in f.read().split()]
        except OSError:
            return
        for pid in children:
            if pid not in known:
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(pid, os.WNOHANG)

    def serve(self) -> None:
        self.loop.call_later(0, self._warm_up)
        self.loop.run()

    def _warm_up(self) -> None:
        """Compile the default seccomp filter now rather than in the first create (~10 ms)."""
        from runtime.linux import caps, seccomp

        with contextlib.suppress(Exception):
            seccomp.default_filter_bpf(caps.DOCKER_DEFAULT)

    def close(self) -> None:
        for conn in list(self.conns):
            conn.close()
        if self.listener is not None:
            self.loop.unwatch(self.listener.fileno())
            self.listener.close()
            (self.root / SOCKET_NAME).unlink(missing_ok=True)
        (self.root / PIDFILE_NAME).unlink(missing_ok=True)
        self.loop.close()
        if self._lock_fd >= 0:
            os.close(self._lock_fd)

    # -- Host protocol (used by containers and execs) -------------------------------------------------

    def publish(self, event: dict[str, Any]) -> None:
        for conn in list(self.conns):
            if conn.subscribed:
                conn.send(event)

    def seccomp_bpf(self, spec: ContainerSpec) -> bytes | None:
        if not spec.seccomp or spec.privileged:
            return None
        from runtime.linux import seccomp

        return seccomp.default_filter_bpf(spec.process.capabilities)

    def forget(self, container: ct.Container) -> None:
        if self.containers.get(container.id) is container:
            del self.containers[container.id]
            self.drop(container.id)
        for pid in [p for p, e in self.execs.items() if e.container is container]:
            del self.execs[pid]
        self.exited_execs.pop(container.id, None)

    def keep(self, container: ct.Container) -> None:
        """Give the holder duplicates of a container's pidfd and stdio (keep.py), before its create is
        answered, and drain its output from now on only once logged (peek.py)."""
        io = container.io
        if self.keeper is None or self.peeker is None or io is None or container.pidfd < 0:
            return
        fds = {"pidfd": container.pidfd}
        if io.tty:
            fds.update({"master": io.master} if io.master >= 0 else {})
        else:
            fds.update({protocol.STREAM_NAMES[stream]: fd for stream, fd in io.outputs.items()})
            fds.update({"stdin": io.stdin} if io.stdin >= 0 else {})
        io.make_durable(self.peeker, lambda: self.drop(container.id, ["stdin"]))
        self.keeper.keep(container.id, fds)

    def drop(self, cid: str, roles: list[str] | None = None) -> None:
        if self.keeper is not None:
            self.keeper.drop(cid, roles)

    def forget_exec(self, ex: Exec) -> None:
        if self.execs.get(ex.pid) is ex:
            del self.execs[ex.pid]

    def exec_exited(self, ex: Exec) -> None:
        """Keep a container's newest exited execs only: health checks every 100 ms must not pile up."""
        kept = self.exited_execs.setdefault(ex.container.id, collections.deque())
        kept.append(ex)
        while len(kept) > KEEP_EXITED_PER_CONTAINER:
            self.forget_exec(kept.popleft())

    # -- connections ---------------------------------------------------------------------------

    def _accept(self, mask: int) -> None:
        assert self.listener is not None
        try:
            sock, _ = self.listener.accept()
        except (BlockingIOError, InterruptedError):
            return
        self.conns.add(Conn(self.loop, sock, self._on_request, self.conns.discard))

    def _on_request(self, conn: Conn, request: dict[str, Any]) -> None:
        reply = Reply(conn, request.get("id"))
        op = request.get("op")
        handler = getattr(self, f"op_{op}", None) if isinstance(op, str) and op.isidentifier() else None
        try:
            if handler is None:
                raise OpError(f"unknown op {op!r}")
            handler(request, reply, conn)
        except Exception as exc:
            if not isinstance(exc, (OpError, OSError)) and type(exc).__name__ != "RuntimeFailure":
                log.exception("op %s failed", op)
            reply.fail(exc)

    def _container(self, request: dict[str, Any]) -> ct.Container:
        cid = request.get("cid")
        container = self.containers.get(cid) if isinstance(cid, str) else None
        if container is None or container.phase == "deleted":
            raise OpError(f"no such container: {cid}", "not_found")
        return container

    # -- ops -----------------------------------------------------------------------------------

    op_archive = archive_op.op_archive  # docker cp into a live container, in its mount namespace

    def op_create(self, request: dict[str, Any], reply: Reply, conn: Conn) -> None:
        spec = spec_from_dict(request["spec"])
        if spec.id in self.containers:
            raise OpError(f"container {spec.id} already exists", "conflict")
        container = ct.Container.create(self, spec, request.get("log") or {}, bool(request.get("stdin_open")),
                                        bool(request.get("tty")), bool(request.get("stdin_once")), reply)
        self.containers[spec.id] = container

    def op_start(self, request: dict[str, Any], reply: Reply, conn: Conn) -> None:
        self._container(request).start(reply)

    def op_kill(self, request: dict[str, Any], reply: Reply, conn: Conn) -> None:
        self._container(request).kill(int(request.get("signal", signal.SIGKILL)))
        reply.ok()

    def op_freeze(self, request: dict[str, Any], reply: Reply, conn: Conn) -> None:
        self._container(request).set_frozen(bool(request.get("frozen")))
        reply.ok()

    def op_delete(self, request: dict[str, Any], reply: Reply, conn: Conn) -> None:
        self._container(request).delete(reply, bool(request.get("force")))

    def op_state(self, request: dict[str, Any], reply: Reply, conn: Conn) -> None:
        reply.ok(state=self._container(request).record.public())

    def op_list(self, request: dict[str, Any], reply: Reply, conn: Conn) -> None:
        reply.ok(containers=[c.record.public() for c in self.containers.values() if c.phase not in
                             ("creating", "deleted")])

    def op_attach(self, request: dict[str, Any], reply: Reply, conn: Conn) -> None:
        container = self._container(request)
        if container.io is None or container.phase not in ("created", "starting", "running"):
            raise OpError(f"container {container.id} is not running: cannot attach", "conflict")
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        container.io.attach(ours, bool(request.get("stdin")) and container.record.stdin_open)
        reply.ok(fds=[theirs.detach()])

    def op_exec(self, request: dict[str, Any], reply: Reply, conn: Conn) -> None:
        container = self._container(request)
        if container.phase != "running":
            raise OpError(f"container {container.id} is not running", "conflict")
        ex = Exec(container, exec_from_dict(request["spec"]), bool(request.get("tty")), bool(request.get("stdin")))
        ex.spawn(reply)
        self.execs[ex.pid] = ex

    def op_exec_state(self, request: dict[str, Any], reply: Reply, conn: Conn) -> None:
        ex = self.execs.get(int(request.get("exec_pid", 0)))
        if ex is None:
            raise OpError(f"no such exec process: {request.get('exec_pid')}", "not_found")
        reply.ok(state=ex.public())

    def op_exec_kill(self, request: dict[str, Any], reply: Reply, conn: Conn) -> None:
        ex = self.execs.get(int(request.get("exec_pid", 0)))
        if ex is None or not ex.running:
            raise OpError(f"no running exec process: {request.get('exec_pid')}", "not_found")
        ex.kill(int(request.get("signal", signal.SIGKILL)))
        reply.ok()

    def op_resize(self, request: dict[str, Any], reply: Reply, conn: Conn) -> None:
        target = request.get("target")
        io = None
        if isinstance(target, int):
            ex = self.execs.get(target)
            io = ex.io if ex is not None else None
        else:
            io = self._container({"cid": target}).io
        if io is None:
            raise OpError(f"no running process {target!r}", "not_found")
        io.resize(int(request["rows"]), int(request["cols"]))
        reply.ok()

    def op_subscribe(self, request: dict[str, Any], reply: Reply, conn: Conn) -> None:
        conn.subscribed = True
        reply.ok()

    def op_ping(self, request: dict[str, Any], reply: Reply, conn: Conn) -> None:
        reply.ok(pid=os.getpid(), containers=len(self.containers))

    def op_shutdown(self, request: dict[str, Any], reply: Reply, conn: Conn) -> None:
        """Stop the supervisor; refused while containers live unless `force` (then they are killed)."""
        live = [c for c in self.containers.values() if c.alive]
        if live and not request.get("force"):
            raise OpError(f"{len(live)} container(s) still running", "conflict")
        for container in list(self.containers.values()):
            container.kill_and_wait()  # also settles one that exited but was still draining
        from runtime.linux.cgroups import Cgroup

        with contextlib.suppress(OSError):
            Cgroup.cleanup_prefix(self.prefix, kill=False)
        reply.ok()
        # The answer goes out before we stop; a client that already left is fine.
        with contextlib.suppress(OSError):
            conn.sock.setblocking(True)
            conn._flush()
        self.loop.stopped = True


def errno_name(code: int) -> str:
    return errno.errorcode.get(code, str(code))
