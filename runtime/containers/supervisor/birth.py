"""How a container is born: runc's phases as named functions, run in a raw-cloned child.

The parent (the single-threaded supervisor, or `birth_once`) calls `spawn`:
it makes the cgroup, opens what the child must join, makes the start gate (a
pipe) and the sync channel (a SOCK_SEQPACKET pair, close-on-exec), then
clones (clone3 into the cgroup's v2 leaf) with the spec's namespaces so the
child is PID 1 at once. The child runs
`_child` — one phase after another, each named so a failure says where —
sends "ready" on the sync channel (with the pty master when it has a
terminal), blocks on the gate (1 byte = go, EOF = abort), and execs. Any
error before exec goes back on the sync channel as {"error", "phase"}; a
clean exec closes the channel (EOF), which is how the parent knows the
process started.

Seccomp and privileges follow runc: without no_new_privs a filter needs
CAP_SYS_ADMIN, so it is loaded before the capabilities are dropped; with
no_new_privs it is loaded last, right before execve.
"""

from __future__ import annotations

import contextlib
import errno
import gc
import json
import os
import signal
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, NoReturn

from runtime.containers.supervisor import process_setup as ps
from runtime.containers.supervisor.process_setup import RuntimeFailure
from runtime.linux import devices, mounts
from runtime.linux import syscalls as sc
from runtime.spec import ContainerSpec

if TYPE_CHECKING:
    from runtime.linux.cgroups import Cgroup, Mounts

__all__ = ["Birth", "RuntimeFailure", "Stdio", "birth_once", "clone_in_cgroup", "failure", "read_sync", "spawn"]

CGROUP_READY = b"cgroup"


@dataclass(frozen=True)
class Stdio:
    """The fds (in the parent) that become the child's 0, 1, 2; ignored with a terminal."""

    stdin: int
    stdout: int
    stderr: int
    terminal: bool = False


@dataclass
class Birth:
    """The parent's handles on a child waiting at the gate (or failing on its way there)."""

    pid: int
    pidfd: int
    sync: socket.socket
    gate: int  # write end: 1 byte starts the process, closing it aborts
    pty_master: int = -1
    cgroup: Cgroup | None = None

    def release(self) -> None:
        """Open the gate: the child loads its last bits and execs."""
        os.write(self.gate, b"\x01")
        os.close(self.gate)
        self.gate = -1

    def abort(self) -> None:
        if self.gate >= 0:
            os.close(self.gate)
            self.gate = -1

    def destroy(self) -> None:
        """Kill and reap the child, close our ends, remove the cgroup (a failed or aborted create)."""
        self.abort()
        if self.pidfd >= 0:
            kill_and_reap(self.pidfd)
            self.pidfd = -1
        self.sync.close()
        if self.cgroup is not None:
            with contextlib.suppress(OSError):
                self.cgroup.kill()
                self.cgroup.remove()


def kill_and_reap(pidfd: int) -> None:
    """SIGKILL our child behind `pidfd`, reap it and close the pidfd (a birth or an exec that failed half way)."""
    with contextlib.suppress(OSError):
        sc.pidfd_send_signal(pidfd, 9)
    with contextlib.suppress(ChildProcessError, OSError):
        sc.waitid_pidfd(pidfd, block=True)
    os.close(pidfd)


def _namespace_flags(spec: ContainerSpec, joined: set[str]) -> int:
    flags = 0
    for name in spec.namespaces:
        # The cgroup namespace is unshared by the child itself, after it joined
        # its cgroup (else the container would see its cgroup as /..).
        if name != "cgroup" and name not in joined:
            flags |= sc.NAMESPACE_FLAGS[name]
    return flags


def spawn(spec: ContainerSpec, make_cgroup: Callable[[], Cgroup], stdio: Stdio, seccomp_bpf: bytes | None) -> Birth:
    """Clone the container's PID 1 in its cgroup; it sets itself up and waits at the gate. Single-threaded callers only.

    The cgroup is made first. The child is born in its v2 leaf (clone3 with
    CLONE_INTO_CGROUP) and moves itself into the v1 leaves before it
    unshares its cgroup namespace: neither costs the RCU grace period
    (10-15 ms) of moving a process by pid. Without clone3 (kernels before
    5.7) the parent moves it by pid and the child waits for its word. The
    Birth owns the cgroup from then on.
    """
    if any(name == "mnt" for name, _ in spec.join_namespaces):
        raise RuntimeFailure("joining another mount namespace is not supported", "join-namespaces")
    cgroup = make_cgroup()
    try:
        birth = _clone_child(spec, cgroup, stdio, seccomp_bpf)
    except BaseException:
        with contextlib.suppress(OSError):
            cgroup.remove()
        raise
    if birth.cgroup is None:  # cloned the old way: we move it, then tell it
        birth.cgroup = cgroup
        try:
            cgroup.join(birth.pid)
            birth.sync.send(CGROUP_READY)
        except BaseException:
            birth.destroy()
            raise
    return birth


def _clone_child(spec: ContainerSpec, cgroup: Cgroup, stdio: Stdio, seccomp_bpf: bytes | None) -> Birth:
    """The clone itself; the Birth has the cgroup when the child joins it by itself."""
    join = {name: os.open(path, os.O_RDONLY | os.O_CLOEXEC) for name, path in spec.join_namespaces}
    gate_r, gate_w = os.pipe()
    parent_sync, child_sync = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    own_pid_ns = -1
    cgroup_fd = cgroup.fd_for_clone()
    try:
        if "pid" in join:
            # pid_for_children: the clone lands in the other container's pid namespace.
            own_pid_ns = os.open("/proc/self/ns/pid", os.O_RDONLY | os.O_CLOEXEC)
            sc.setns(join["pid"], sc.CLONE_NEWPID)
        try:
            pid, pidfd, born_in = clone_in_cgroup(_namespace_flags(spec, set(join)), cgroup_fd)
        except BaseException:
            _restore_pid_ns(own_pid_ns)
            raise
        if pid == 0:
            _Child(spec, stdio, gate_r, child_sync, join, seccomp_bpf, cgroup if born_in else None).run()
        _restore_pid_ns(own_pid_ns)
    except BaseException:
        os.close(gate_w)
        parent_sync.close()
        raise
    finally:
        for fd in join.values():
            os.close(fd)
        if cgroup_fd is not None:
            os.close(cgroup_fd)
        os.close(gate_r)
        child_sync.close()
    return Birth(pid, pidfd, parent_sync, gate_w, cgroup=cgroup if born_in else None)


def clone_in_cgroup(flags: int, cgroup_fd: int | None) -> tuple[int, int, bool]:
    """(pid, pidfd, born in the cgroup's v2 leaf): clone3 where the kernel has it, else clone(2).

    In the child: (0, -1, same). When the third is true the child moves itself
    into the v1 leaves (Cgroup.join_self_v1); else the parent must join it by pid.
    """
    try:
        pid, pidfd = sc.clone3(flags, -1 if cgroup_fd is None else cgroup_fd)
        return pid, pidfd, True
    except OSError as exc:
        if exc.errno not in (errno.ENOSYS, errno.E2BIG, errno.EINVAL):
            raise
    pid, pidfd = sc.clone(flags)
    return pid, pidfd, False


def _restore_pid_ns(fd: int) -> None:
    if fd >= 0:
        try:
            sc.setns(fd, sc.CLONE_NEWPID)
        finally:
            os.close(fd)


def read_sync(sock: socket.socket) -> tuple[dict[str, object] | None, list[int]]:
    """One message from a child's sync channel: ({"ready": true} | {"error", "phase", ...}, fds), None at EOF."""
    data, fds, _flags, _addr = socket.recv_fds(sock, 65536, 2)
    for fd in fds:
        os.set_inheritable(fd, False)
    if not data:
        for fd in fds:
            os.close(fd)
        return None, []
    message: dict[str, object] = json.loads(data)
    return message, fds


class _Child:
    """The container's PID 1 between clone and exec. Never returns."""

    def __init__(self, spec: ContainerSpec, stdio: Stdio, gate: int, sync: socket.socket,
                 join: dict[str, int], seccomp_bpf: bytes | None, cgroup: Cgroup | None) -> None:
        self.spec, self.stdio = spec, stdio
        self.gate, self.sync, self.join, self.bpf = gate, sync, join, seccomp_bpf
        self.cgroup = cgroup  # set: born in its v2 leaf, joins the v1 ones itself
        self.phase = "init"
        self.master = -1

    def run(self) -> NoReturn:
        # No collection in here: it would touch (copy) the whole inherited heap, and could run
        # finalizers of the supervisor's garbage that close fd numbers we now use.
        gc.disable()
        code = 1
        try:
            sc.set_not_dumpable()  # what a container sees of us until execve is not the host's binary
            self._steps()
        except BaseException as exc:  # the child must never unwind into the supervisor's code
            code = ps.report_failure(self.sync, self.phase, exc)
        finally:
            os._exit(code)

    def _step(self, phase: str, fn: Callable[[], object]) -> None:
        self.phase = phase
        fn()

    def _steps(self) -> None:
        spec, proc = self.spec, self.spec.process
        root = spec.rootfs.mountpoint
        # Mounts that show cgroups need our cgroup namespace: they wait for the parent's cgroup.
        split = next((i for i, m in enumerate(spec.mounts) if m.type in ("cgroup", "cgroup2")), len(spec.mounts))
        self._step("stdio", self._stdio)
        self._step("join-namespaces", self._join_namespaces)
        self._step("hostname", self._hostname)
        self._step("rootfs", self._rootfs)
        self._step("mounts", lambda: mounts.apply_mounts(root, spec.mounts[:split]))
        self._step("cgroup", self._cgroup_namespace)
        self._step("mounts", lambda: mounts.apply_mounts(root, spec.mounts[split:]))
        self._step("devices", lambda: devices.make_nodes(root, spec.devices))  # --device first: they win
        self._step("devices", lambda: mounts.create_devices(root, spec.privileged))
        self._step("cwd", lambda: ps.make_cwd(root, proc.cwd))
        self._step("pivot-root", lambda: mounts.pivot(root))
        self._step("console", self._console)
        self._step("sysctls", lambda: ps.write_sysctls(spec.sysctls))
        self._step("masked-paths", lambda: mounts.mask_paths(spec.masked_paths))
        self._step("readonly-paths", lambda: mounts.readonly_paths(spec.readonly_paths))
        if spec.rootfs.readonly:
            self._step("readonly-rootfs", mounts.remount_root_readonly)
        self._step("rlimits", lambda: ps.apply_rlimits(proc.rlimits))
        self._step("oom-score-adj", lambda: ps.set_oom_score_adj(proc.oom_score_adj))
        bpf = self.bpf if spec.seccomp and not spec.privileged else None
        self.phase = "process"
        argv = ["/sbin/docker-init", "--", *proc.args] if spec.init else list(proc.args)
        prepared = ps.prepare(proc, argv, bpf, self._ready)
        self._step("start-gate", self._wait_gate)
        ps.finish(prepared)  # seccomp (with no_new_privs) then execve; errors carry their own phase

    def _stdio(self) -> None:
        # The supervisor's wakeup fd is about to be closed; a signal must not write into a reused number.
        signal.set_wakeup_fd(-1)
        # Everything not ours is closed: fds of other containers' gates would
        # otherwise keep their write ends open forever.
        if self.stdio.terminal:
            null = os.open("/dev/null", os.O_RDWR)
            for target in (0, 1, 2):
                os.dup2(null, target)
            os.close(null)
        else:
            for fd, target in ((self.stdio.stdin, 0), (self.stdio.stdout, 1), (self.stdio.stderr, 2)):
                os.dup2(fd, target)
        sc.close_all_except({0, 1, 2, self.gate, self.sync.fileno(), *self.join.values()})
        os.setsid()

    def _join_namespaces(self) -> None:
        for name, fd in self.join.items():
            if name != "pid":  # already joined by the parent for the clone
                sc.setns(fd, sc.NAMESPACE_FLAGS[name])
            os.close(fd)

    def _cgroup_namespace(self) -> None:
        # In our cgroup first; only then may the namespace be made (else we would see /..).
        if self.cgroup is not None:
            self.cgroup.join_self_v1()
        elif self.sync.recv(64) != CGROUP_READY:  # the parent moves us
            os._exit(1)  # the parent gave up on us
        if "cgroup" in self.spec.namespaces and "cgroup" not in self.join:
            sc.unshare(sc.CLONE_NEWCGROUP)

    def _hostname(self) -> None:
        if "uts" not in self.spec.namespaces or "uts" in self.join:
            return
        if self.spec.hostname:
            sc.sethostname(self.spec.hostname)
        if self.spec.domainname:
            sc.setdomainname(self.spec.domainname)

    def _rootfs(self) -> None:
        mounts.make_rprivate()
        mounts.mount_rootfs(mounts.prepare_host_dirs(self.spec.rootfs, self.spec.bundle))

    def _console(self) -> None:
        if not self.stdio.terminal:
            return
        self.master, slave, index = ps.open_terminal()
        mounts.setup_console(index)
        os.close(slave)

    def _ready(self) -> None:
        ps.send_ready(self.sync, self.master)
        if self.master >= 0:
            os.close(self.master)
            self.master = -1

    def _wait_gate(self) -> None:
        if not os.read(self.gate, 1):
            os._exit(1)  # the parent closed the gate: aborted before start
        os.close(self.gate)


def birth_once(spec: ContainerSpec, cgroup_mounts: Mounts | None = None) -> int:
    """Create, start and wait for one container with its own cgroup; its exit code. For benches and tests.

    Output goes to this process's stdout/stderr. Must run single-threaded.
    `cgroup_mounts`: the hierarchies to use, when not all of this machine's.
    """
    from runtime.linux import cgroup_place, seccomp

    bpf = seccomp.default_filter_bpf(spec.process.capabilities) if spec.seccomp and not spec.privileged else None
    null = os.open("/dev/null", os.O_RDONLY | os.O_CLOEXEC)
    try:
        birth = spawn(spec, lambda: cgroup_place.create(spec, cgroup_mounts), Stdio(null, 1, 2, spec.process.terminal),
                      bpf)
    finally:
        os.close(null)
    try:
        message, fds = read_sync(birth.sync)
        for fd in fds:
            os.close(fd)
        if message is None or "error" in message:
            raise failure(message)
        birth.release()
        message, _ = read_sync(birth.sync)
        if message is not None:
            raise failure(message)
        code = sc.waitid_pidfd(birth.pidfd, block=True)
        assert code is not None
        os.close(birth.pidfd)
        birth.pidfd = -1
        return code
    finally:
        birth.destroy()


def failure(message: dict[str, object] | None) -> RuntimeFailure:
    if message is None:
        return RuntimeFailure("the process died before it was ready", "init")
    code = message.get("exit_code")
    return RuntimeFailure(str(message["error"]), str(message.get("phase") or "") or None,
                          code if isinstance(code, int) else None)


