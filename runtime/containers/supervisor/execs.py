"""Processes started inside a running container (docker exec, health checks).

The supervisor opens the container's namespace files and root first (after
entering its mount namespace the host's /proc is gone), sets its own
pid_for_children to the container's pid namespace, clones once (born in the
container's v2 cgroup leaf, see births.clone_in_cgroup) and returns to its
own namespace at once. The child — already a member of the container's pid
namespace and the supervisor's direct child, so waitid on its pidfd works —
joins the v1 cgroups (the host's cgroupfs is still visible),
enters the other namespaces, chroots into the container's root and becomes
the process (process_setup). One fork, no helper binary.
"""

from __future__ import annotations

import contextlib
import gc
import os
import signal
import socket
from typing import TYPE_CHECKING, Any, NoReturn, Protocol

from runtime.containers.supervisor import birth as births
from runtime.containers.supervisor import loop as ev
from runtime.containers.supervisor import process_setup as ps
from runtime.containers.supervisor.conn import Reply
from runtime.containers.supervisor.protocol import STDERR, STDOUT
from runtime.containers.supervisor.streams import DrainedExit, ProcessIO
from runtime.linux import syscalls as sc
from runtime.spec import ExecSpec

if TYPE_CHECKING:
    from runtime.containers.supervisor.state import ContainerRecord
    from runtime.linux.cgroups import Cgroup
    from runtime.spec import ContainerSpec

# Entered in this order; the mount namespace last, then chroot to the container's root.
NAMESPACE_ORDER = ("cgroup", "ipc", "uts", "net", "mnt")
KEEP_EXITED = 300.0


class ExecHost(Protocol):
    """What an exec needs of the supervisor (main.Supervisor)."""

    loop: ev.Loop

    def publish(self, event: dict[str, Any]) -> None: ...

    def seccomp_bpf(self, spec: ContainerSpec) -> bytes | None: ...

    def forget_exec(self, ex: Exec) -> None: ...

    def exec_exited(self, ex: Exec) -> None: ...


class Container(Protocol):
    """What an exec needs of the container it runs in (containers.Container)."""

    record: ContainerRecord
    spec: ContainerSpec
    cgroup: Cgroup | None

    @property
    def host(self) -> ExecHost: ...

    @property
    def id(self) -> str: ...


def _differs(pid: int, name: str) -> bool:
    theirs, ours = os.stat(f"/proc/{pid}/ns/{name}"), os.stat(f"/proc/self/ns/{name}")
    return (theirs.st_dev, theirs.st_ino) != (ours.st_dev, ours.st_ino)


class Exec(DrainedExit):
    def __init__(self, container: Container, spec: ExecSpec, tty: bool, stdin: bool) -> None:
        self.container, self.spec, self.tty, self.want_stdin = container, spec, tty, stdin
        self.loop = container.host.loop
        self.pid = 0
        self.pidfd = -1
        self.sync: socket.socket | None = None
        self.io: ProcessIO | None = None
        self.exit_code: int | None = None
        self.phase = "creating"
        self.reply: Reply | None = None
        self._outputs: dict[int, int] = {}
        self._stdin = -1
        self._master = -1
        self._ready = False
        self._drain_timer: ev.Timer | None = None

    @property
    def running(self) -> bool:
        return self.phase in ("creating", "running")

    def spawn(self, reply: Reply) -> None:
        c = self.container
        pid1 = c.record.pid
        names = [n for n in NAMESPACE_ORDER if _differs(pid1, n)]
        ns = {n: os.open(f"/proc/{pid1}/ns/{n}", os.O_RDONLY | os.O_CLOEXEC) for n in names}
        pid_ns = os.open(f"/proc/{pid1}/ns/pid", os.O_RDONLY | os.O_CLOEXEC) if _differs(pid1, "pid") else -1
        root = os.open(f"/proc/{pid1}/root", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        parent_sync, child_sync = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        child_ends: list[int] = []
        try:
            if self.tty:
                stdio = births.Stdio(-1, -1, -1, terminal=True)
            else:
                out_r, out_w = os.pipe()
                err_r, err_w = os.pipe()
                if self.want_stdin:
                    in_r, self._stdin = os.pipe()
                else:
                    in_r = os.open("/dev/null", os.O_RDONLY | os.O_CLOEXEC)
                child_ends = [in_r, out_w, err_w]
                self._outputs = {STDOUT: out_r, STDERR: err_r}
                stdio = births.Stdio(in_r, out_w, err_w)
            bpf = c.host.seccomp_bpf(c.spec) if not self.spec.privileged else None
            own_pid_ns = os.open("/proc/self/ns/pid", os.O_RDONLY | os.O_CLOEXEC)
            cgroup_fd = c.cgroup.fd_for_clone() if c.cgroup is not None else None
            try:
                if pid_ns >= 0:
                    sc.setns(pid_ns, sc.CLONE_NEWPID)
                # Born in the container's v2 leaf, as a birth (see births.spawn): no grace period to wait.
                pid, pidfd, born_in = births.clone_in_cgroup(0, cgroup_fd)
                if pid == 0:
                    _child(self.spec, c, ns, root, stdio, child_sync, bpf, born_in)
            finally:
                # Also when the clone failed (the container's PID 1 just died: ENOMEM): a supervisor
                # left with a dead pid_for_children fails every later birth's clone with EINVAL.
                if pid_ns >= 0:
                    sc.setns(own_pid_ns, sc.CLONE_NEWPID)
                os.close(own_pid_ns)
                if cgroup_fd is not None:
                    os.close(cgroup_fd)
            self.pid = pid
            self.pidfd = pidfd
            self.sync = parent_sync
            self.reply = reply
            self.loop.watch(parent_sync.fileno(), ev.IN, self._on_sync)
        except BaseException:
            parent_sync.close()
            for fd in [*self._outputs.values(), self._stdin]:
                if fd >= 0:
                    os.close(fd)
            raise
        finally:
            child_sync.close()
            for fd in [*ns.values(), pid_ns, root, *child_ends]:
                if fd >= 0:
                    os.close(fd)

    def _on_sync(self, mask: int) -> None:
        try:
            self._handle_sync()
        except Exception as exc:  # the exec request must always get its answer
            self._failed(ps.RuntimeFailure(f"supervisor: {exc}", "supervisor"))

    def _handle_sync(self) -> None:
        assert self.sync is not None
        message, fds = births.read_sync(self.sync)
        if message is not None and message.get("ready"):
            self._ready = True
            if fds:
                self._master = fds[0]
            return
        self.loop.unwatch(self.sync.fileno())
        self.sync.close()
        if message is None and self._ready:
            self._started()  # EOF after "ready": the close-on-exec channel went with execve
        else:
            self._failed(births.failure(message))

    def _started(self) -> None:
        if self.tty:
            self._outputs = {STDOUT: self._master}
            self._stdin = self._master if self.want_stdin else -1
        self.io = ProcessIO(self.loop, self._outputs, self._stdin, self.tty, None, self._on_drained,
                            close_stdin_on_eof=True)
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        self.io.attach(ours, self.want_stdin)
        self.phase = "running"
        self.loop.watch(self.pidfd, ev.IN, self._on_pidfd)
        reply, self.reply = self.reply, None
        if reply is not None:
            reply.ok(fds=[theirs.detach()], exec_pid=self.pid)

    def _failed(self, failure: ps.RuntimeFailure) -> None:
        if self.sync is not None and self.sync.fileno() >= 0:
            self.loop.unwatch(self.sync.fileno())
            self.sync.close()
        if self.pidfd >= 0:
            births.kill_and_reap(self.pidfd)
            self.pidfd = -1
        for fd in [*self._outputs.values(), self._stdin, self._master]:
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self.phase = "failed"
        self.exit_code = failure.exit_code if failure.exit_code is not None else 126
        self.container.host.forget_exec(self)
        reply, self.reply = self.reply, None
        if reply is not None:
            reply.fail(failure)

    def _on_pidfd(self, mask: int) -> None:
        code = sc.waitid_pidfd(self.pidfd)
        if code is None:
            return
        self.loop.unwatch(self.pidfd)
        os.close(self.pidfd)
        self.pidfd = -1
        self.exit_code = code
        self._exiting(self.loop)

    def _finished(self) -> None:
        self.phase = "exited"
        host = self.container.host
        host.publish({"event": "exec-exit", "id": self.container.id, "exec_pid": self.pid,
                      "exit_code": self.exit_code})
        # exec_state answers for a while, and for a container's newest few only.
        host.exec_exited(self)
        self.loop.call_later(KEEP_EXITED, lambda: host.forget_exec(self))

    def kill(self, signum: int) -> None:
        if self.pidfd >= 0:
            sc.pidfd_send_signal(self.pidfd, signum)

    def public(self) -> dict[str, object]:
        return {"exec_pid": self.pid, "id": self.container.id, "running": self.running,
                "exit_code": self.exit_code}


def _child(spec: ExecSpec, c: Container, ns: dict[str, int], root: int, stdio: births.Stdio,
           sync: socket.socket, bpf: bytes | None, born_in_cgroup: bool) -> NoReturn:
    """The exec'd process between fork and execve. Never returns."""
    gc.disable()  # as in a birth: no collection of the supervisor's heap in here
    code, phase = 1, "stdio"
    try:
        sc.set_not_dumpable()  # before it is seen in the container's pid namespace
        signal.set_wakeup_fd(-1)
        if stdio.terminal:
            null = os.open("/dev/null", os.O_RDWR)
            for target in (0, 1, 2):
                os.dup2(null, target)
            os.close(null)
        else:
            for fd, target in ((stdio.stdin, 0), (stdio.stdout, 1), (stdio.stderr, 2)):
                os.dup2(fd, target)
        sc.close_all_except({0, 1, 2, sync.fileno(), root, *ns.values()})
        phase = "cgroup"
        if c.cgroup is not None and born_in_cgroup:
            c.cgroup.join_self_v1()
        elif c.cgroup is not None:
            c.cgroup.join(os.getpid())
        phase = "join-namespaces"
        for name in NAMESPACE_ORDER:
            if name in ns:
                sc.setns(ns[name], sc.NAMESPACE_FLAGS[name])
        phase = "root"
        os.fchdir(root)
        os.chroot(".")
        os.setsid()
        master = -1
        if stdio.terminal:
            phase = "console"
            master, slave, _index = ps.open_terminal()
            os.close(slave)
        phase = "rlimits"
        proc = spec.process
        ps.apply_rlimits(proc.rlimits or c.spec.process.rlimits)  # runc gives exec the container's limits
        phase = "process"
        prepared = ps.prepare(proc, proc.args, bpf if c.spec.seccomp and not c.spec.privileged else None,
                              lambda: ps.send_ready(sync, master))
        ps.finish(prepared)
    except BaseException as exc:
        code = ps.report_failure(sync, phase, exc)
    finally:
        os._exit(code)
