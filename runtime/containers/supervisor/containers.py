"""One container under supervision: create -> created -> running -> exited -> deleted.

Internal phases add "creating" (cloned, not yet at the gate), "starting"
(gate opened, exec not yet confirmed) and "exiting" (PID 1 reaped, output
still draining, at most streams.DRAIN_TIMEOUT). The state file and events only
ever show Docker's three: created, running, exited.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from runtime.containers.supervisor import birth as births
from runtime.containers.supervisor import loop as ev
from runtime.containers.supervisor import state
from runtime.containers.supervisor.conn import Reply
from runtime.containers.supervisor.logs import container_log
from runtime.containers.supervisor.process_setup import RuntimeFailure
from runtime.containers.supervisor.protocol import STDERR, STDOUT, OpError, rfc3339nano
from runtime.containers.supervisor.streams import DrainedExit, ProcessIO
from runtime.linux import mounts
from runtime.linux import syscalls as sc
from runtime.spec import ContainerSpec

if TYPE_CHECKING:
    from runtime.containers.supervisor.execs import Exec
    from runtime.linux.cgroups import Cgroup

log = logging.getLogger("pycompose.supervisor")
ADOPTED_EXIT_POLL = 0.05
ADOPTED_EXIT_PATIENCE = 10.0  # host init reaps orphans ~1 s after they exit


class Host(Protocol):
    loop: ev.Loop
    state_dir: Path

    def publish(self, event: dict[str, Any]) -> None: ...

    def seccomp_bpf(self, spec: ContainerSpec) -> bytes | None: ...

    def forget(self, container: Container) -> None: ...

    def keep(self, container: Container) -> None: ...

    def drop(self, cid: str) -> None: ...

    def forget_exec(self, ex: Exec) -> None: ...

    def exec_exited(self, ex: Exec) -> None: ...


class Container(DrainedExit):
    def __init__(self, host: Host, record: state.ContainerRecord, spec: ContainerSpec) -> None:
        self.host, self.record, self.spec = host, record, spec
        self.phase = record.status
        self.cgroup: Cgroup | None = None
        self.birth: births.Birth | None = None
        self.pidfd = -1
        self.io: ProcessIO | None = None
        self.adopted = False  # not our child: its status comes from PIDFD_GET_INFO
        self.pending_create: Reply | None = None
        self.pending_start: Reply | None = None
        self.pending_deletes: list[Reply] = []
        self._child_ends: list[int] = []
        self._outputs: dict[int, int] = {}
        self._stdin = -1
        self._exit_code: int | None = None
        self._exit_ns = 0
        self._drain_timer: ev.Timer | None = None

    @property
    def id(self) -> str:
        return self.record.id

    @property
    def alive(self) -> bool:
        return self.phase in ("creating", "created", "starting", "running")

    # -- create ------------------------------------------------------------------------------

    @classmethod
    def create(cls, host: Host, spec: ContainerSpec, log_opts: dict[str, Any], stdin_open: bool, tty: bool,
               stdin_once: bool, reply: Reply) -> Container:
        spec = dataclasses.replace(spec, process=dataclasses.replace(spec.process, terminal=tty))
        record = state.ContainerRecord(
            id=spec.id, spec=dataclasses.asdict(spec), log_max_size=log_opts.get("max_size"),
            log_max_file=int(log_opts.get("max_file") or 1), log_driver=str(log_opts.get("driver") or "json-file"),
            log_compress=bool(log_opts.get("compress")), log_attrs=dict(log_opts.get("attrs") or {}),
            stdin_open=stdin_open, stdin_once=stdin_once, tty=tty)
        self = cls(host, record, spec)
        self.phase = "creating"
        self.pending_create = reply
        try:
            self._spawn(stdin_open, tty)
        except BaseException:
            self._close_fds()
            raise
        return self

    def _spawn(self, stdin_open: bool, tty: bool) -> None:
        from runtime.linux import cgroup_place

        outputs: dict[int, int] = {}
        stdin = -1
        if tty:
            stdio = births.Stdio(-1, -1, -1, terminal=True)
        else:
            out_r, out_w = os.pipe()
            err_r, err_w = os.pipe()
            if stdin_open:
                in_r, stdin = os.pipe()
            else:
                in_r = os.open("/dev/null", os.O_RDONLY | os.O_CLOEXEC)
            self._child_ends = [in_r, out_w, err_w]
            outputs = {STDOUT: out_r, STDERR: err_r}
            stdio = births.Stdio(in_r, out_w, err_w)
        self._outputs, self._stdin = outputs, stdin
        spec = self.spec
        self.birth = births.spawn(spec, lambda: cgroup_place.create(spec),
                                  stdio, self.host.seccomp_bpf(spec))
        self.cgroup = self.birth.cgroup
        for fd in self._child_ends:
            os.close(fd)
        self._child_ends = []
        self.pidfd = self.birth.pidfd
        self.record.pid = self.birth.pid
        self.host.loop.watch(self.birth.sync.fileno(), ev.IN, self._on_sync)
        # Written while the child sets itself up: a crash from here on leaves a trace to clean up.
        self.record.pid_start = state.process_start_time(self.birth.pid) or 0
        state.save(self.host.state_dir, self.record)

    def _on_sync(self, mask: int) -> None:
        try:
            self._handle_sync()
        except Exception as exc:  # a create or start request must always get its answer
            log.exception("container %s: sync channel", self.id[:12])
            if self.phase == "creating":
                self._creation_failed(RuntimeFailure(f"supervisor: {exc}", "supervisor"))
            elif self.pending_start is not None:
                self.pending_start.fail(exc)
                self.pending_start = None
                self._close_sync()

    def _handle_sync(self) -> None:
        assert self.birth is not None
        message, fds = births.read_sync(self.birth.sync)
        if self.phase == "creating":
            if message is not None and message.get("ready"):
                self._created(fds)
            else:
                for fd in fds:
                    os.close(fd)
                self._creation_failed(births.failure(message))
        elif self.phase == "starting":
            self._settle_start(message)
        else:
            self._close_sync()

    def _created(self, fds: list[int]) -> None:
        outputs, stdin = self._outputs, self._stdin
        if self.record.tty:
            master = fds[0]
            outputs = {STDOUT: master}
            stdin = master if self.record.stdin_open else -1
        logfile = container_log(self.spec.bundle, self.record)
        self.io = ProcessIO(self.host.loop, outputs, stdin, self.record.tty, logfile, self._on_drained,
                            close_stdin_on_eof=self.record.stdin_once)
        self.phase = "created"
        self.host.keep(self)  # before the answer: a supervisor that dies from now on loses nothing
        self.host.loop.watch(self.pidfd, ev.IN, self._on_pidfd)
        if self.pending_create is not None:
            self.pending_create.ok(pid=self.record.pid)
            self.pending_create = None

    def _creation_failed(self, failure: RuntimeFailure) -> None:
        log.info("container %s failed in %s: %s", self.id[:12], failure.phase, failure.message)
        self.host.loop.unwatch(self.pidfd)
        self._close_sync()
        if self.birth is not None:
            self.birth.destroy()  # kills, reaps and removes the cgroup
            self.pidfd = -1
        self._close_fds()
        state.remove(self.host.state_dir, self.id)
        self.phase = "deleted"
        self.host.forget(self)
        if self.pending_create is not None:
            self.pending_create.fail(failure)
            self.pending_create = None

    # -- start -------------------------------------------------------------------------------

    def start(self, reply: Reply) -> None:
        if self.phase != "created" or self.birth is None:
            raise OpError(f"container {self.id} cannot be started: it is {self.record.status}", "conflict")
        self.phase = "starting"
        self.pending_start = reply
        self.record.started_at = rfc3339nano()
        self.birth.release()

    def _settle_start(self, message: dict[str, object] | None) -> None:
        """EOF on the sync channel: execve worked; a message: the error that stopped it."""
        self._close_sync()
        reply, self.pending_start = self.pending_start, None
        if message is None:
            self.phase = "running"
            self.record.status = "running"
            # The answer first: the state file is for a supervisor restart, not for this client.
            if reply is not None:
                reply.ok(started_at=self.record.started_at)
            self.host.publish({"event": "start", "id": self.id, "pid": self.record.pid,
                               "started_at": self.record.started_at})
            state.save(self.host.state_dir, self.record)
            return
        self.phase = "running"  # the process exits at once; its exit is recorded as usual
        if reply is not None:
            reply.fail(births.failure(message))

    # -- signals and exit ----------------------------------------------------------------------

    def kill(self, signum: int) -> None:
        if not self.alive or self.pidfd < 0 or self.phase == "creating":
            raise OpError(f"container {self.id} is not running", "conflict")
        sc.pidfd_send_signal(self.pidfd, signum)

    def set_frozen(self, frozen: bool) -> None:
        """Pause (freeze every process of the cgroup) or unpause: Docker's pause, through the freezer."""
        if self.phase != "running" or self.cgroup is None:
            raise OpError(f"container {self.id} is not running", "conflict")
        try:
            self.cgroup.freeze() if frozen else self.cgroup.thaw()
        except OSError as exc:
            raise OpError(f"cannot {'pause' if frozen else 'unpause'} container {self.id}: {exc}", "system") from exc

    def _on_pidfd(self, mask: int) -> None:
        if self.adopted:
            self._poll_adopted_exit()
            return
        try:
            code = sc.waitid_pidfd(self.pidfd)
        except ChildProcessError:
            self.adopted = True
            self._poll_adopted_exit()
            return
        if code is not None:
            self._exited(code)

    def _poll_adopted_exit(self, waited: float = 0.0) -> None:
        """Not our child: host init reaps it, then the kernel gives its status on the pidfd."""
        self.host.loop.unwatch(self.pidfd)
        code = sc.pidfd_exit_status(self.pidfd)
        if code is None and waited < ADOPTED_EXIT_PATIENCE:
            self.host.loop.call_later(ADOPTED_EXIT_POLL, lambda: self._poll_adopted_exit(waited + ADOPTED_EXIT_POLL))
            return
        self._exited(-1 if code is None else code)

    def _exited(self, code: int) -> None:
        if self.phase == "starting":
            message = None
            if self.birth is not None:
                with contextlib.suppress(OSError):
                    message, _fds = births.read_sync(self.birth.sync)
            self._settle_start(message)
        self.host.loop.unwatch(self.pidfd)
        os.close(self.pidfd)
        self.pidfd = -1
        self._close_sync()
        if self.birth is not None:
            self.birth.abort()
        self._exit_code, self._exit_ns = code, _now_ns()
        if self.cgroup is not None and ("pid" not in self.spec.namespaces or
                                        any(n == "pid" for n, _ in self.spec.join_namespaces)):
            with contextlib.suppress(OSError):
                self.cgroup.kill()  # no pid namespace died with PID 1: the rest goes now
        self._exiting(self.host.loop)

    def _finished(self) -> None:
        oom = False
        if self.cgroup is not None:
            with contextlib.suppress(OSError):
                oom = self.cgroup.oom_killed()
        rec = self.record
        rec.status, rec.exit_code, rec.oom_killed = "exited", int(self._exit_code or 0), oom
        rec.finished_at = rfc3339nano(self._exit_ns)
        self.phase = "exited"
        # Clients read the record in memory; the file is for the next supervisor, so it can come second.
        self.host.publish({"event": "exit", "id": self.id, "exit_code": rec.exit_code, "oom_killed": oom,
                           "finished_at": rec.finished_at})
        state.save(self.host.state_dir, rec)
        self.host.drop(self.id)  # the status is in the state file now
        pending, self.pending_deletes = self.pending_deletes, []
        for reply in pending:
            try:
                self.delete(reply, force=True)
            except Exception as exc:
                reply.fail(exc)

    def kill_and_wait(self, timeout: float = 5.0) -> None:
        """SIGKILL and record the exit synchronously (supervisor shutdown with force)."""
        if self.phase == "creating":
            self._creation_failed(RuntimeFailure("the supervisor shut down", "shutdown"))
            return
        if self.phase == "exiting":
            self._finalize()
            return
        if not self.alive or self.pidfd < 0:
            return
        if self.birth is not None:
            self.birth.abort()
        self._sigkill()
        code = None
        if not self.adopted:
            try:
                code = sc.waitid_pidfd(self.pidfd, block=True)
            except ChildProcessError:
                self.adopted = True
        if code is None:
            import time

            deadline = time.monotonic() + timeout
            while code is None and time.monotonic() < deadline:
                time.sleep(ADOPTED_EXIT_POLL)
                code = sc.pidfd_exit_status(self.pidfd)
        self._exited(-1 if code is None else code)
        self._finalize()

    # -- delete ------------------------------------------------------------------------------

    def delete(self, reply: Reply, force: bool) -> None:
        if self.phase == "deleted":
            reply.ok()
            return
        if self.phase in ("running", "starting") and not force:
            raise OpError(f"container {self.id} is running: kill it first or delete with force", "conflict")
        if self.phase == "creating":
            raise OpError(f"container {self.id} is being created", "conflict")
        if self.phase in ("created", "running", "starting", "exiting"):
            self.pending_deletes.append(reply)
            if self.phase == "created" and self.birth is not None:
                self.birth.abort()
            if self.phase != "exiting":
                self._sigkill()
            return
        self._remove()
        reply.ok()

    def _remove(self) -> None:
        self._close_fds()
        if self.cgroup is not None:
            self.cgroup.remove()
        mounts.unmount_tree(self.spec.rootfs.mountpoint)
        state.remove(self.host.state_dir, self.id)
        self.phase = "deleted"
        self.host.forget(self)

    # -- helpers -----------------------------------------------------------------------------

    def _sigkill(self) -> None:
        with contextlib.suppress(OSError):
            sc.pidfd_send_signal(self.pidfd, 9)
        if self.cgroup is not None:  # a frozen (paused) container dies only once thawed
            with contextlib.suppress(OSError):
                self.cgroup.thaw(timeout=0.5)

    def _close_sync(self) -> None:
        if self.birth is not None and self.birth.sync.fileno() >= 0:
            self.host.loop.unwatch(self.birth.sync.fileno())
            self.birth.sync.close()

    def _close_fds(self) -> None:
        self._close_sync()
        if self.birth is not None:
            self.birth.abort()
        if self.io is not None:
            self.io.close()
        else:
            for fd in [*self._child_ends, *self._outputs.values(), self._stdin]:
                if fd >= 0:
                    with contextlib.suppress(OSError):
                        os.close(fd)
            self._outputs, self._stdin, self._child_ends = {}, -1, []
        if self.pidfd >= 0:
            self.host.loop.unwatch(self.pidfd)
            os.close(self.pidfd)
            self.pidfd = -1


def _now_ns() -> int:
    import time

    return time.time_ns()
