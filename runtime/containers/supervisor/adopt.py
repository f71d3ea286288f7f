"""Taking over containers after a supervisor restart, from their state files.

With descriptors the holder kept (keep.py): PID 1 is watched through the
very pidfd the last supervisor had, so its exit status is known even if it
exited meanwhile (the holder reaped it: PIDFD_GET_INFO), and its output is
drained from the same pipes (or TTY master) into the same log.

Without them, a PID 1 that still runs (same pid, same start time: never a
recycled pid) is watched through a new pidfd; it is not our child any
more, so its exit status comes from PIDFD_GET_INFO once its new parent has
reaped it. Its stdout/stderr pipes are reopened through /proc/<pid>/fd (a
pipe can be opened from either end there); a TTY master cannot be had back."""

from __future__ import annotations

import contextlib
import logging
import os
import stat
from collections.abc import Callable

from runtime.containers.supervisor import loop as ev
from runtime.containers.supervisor import state
from runtime.containers.supervisor.containers import Container, Host
from runtime.containers.supervisor.keep import close_all
from runtime.containers.supervisor.logs import container_log
from runtime.containers.supervisor.protocol import STDERR, STDOUT, ZERO_TIME, rfc3339nano
from runtime.containers.supervisor.streams import ProcessIO
from runtime.linux import syscalls as sc
from runtime.spec import ContainerSpec, spec_from_dict

log = logging.getLogger("pycompose.supervisor")


def from_record(host: Host, record: state.ContainerRecord, kept: dict[str, int] | None = None) -> Container:
    """A container known from its state file (supervisor restart): re-adopt PID 1 if it still runs,
    with the descriptors the holder `kept` (role -> fd, ours now) when there are any."""
    from runtime.linux import cgroup_place

    spec = spec_from_dict(record.spec)
    self = Container(host, record, spec)
    with contextlib.suppress(OSError, ValueError):
        self.cgroup = cgroup_place.open_cgroup(spec)
    if record.status == "exited" or (kept and "pidfd" not in kept):
        close_all((kept or {}).values())
        return self if record.status == "exited" else _lost(host, self)
    if kept:
        return _from_kept(host, self, kept)
    pidfd = -1
    with contextlib.suppress(OSError):
        pidfd = sc.pidfd_open(record.pid)
    if pidfd >= 0 and state.process_start_time(record.pid) == record.pid_start and record.pid_start:
        self.pidfd, self.adopted = pidfd, True
        self.phase = "running" if record.status == "running" else "created"
        self.io = _reopen_io(host, record, spec, self._on_drained)
        host.loop.watch(pidfd, ev.IN, self._on_pidfd)
        log.info("re-adopted container %s (pid %d)", record.id[:12], record.pid)
        return self
    if pidfd >= 0:
        os.close(pidfd)
    return _lost(host, self)


def _lost(host: Host, self: Container) -> Container:
    """It died while no supervisor watched it and nobody kept its pidfd: its status is lost."""
    record = self.record
    record.status, record.exit_code, record.finished_at = "exited", -1, rfc3339nano()
    self.phase = "exited"
    state.save(host.state_dir, record)
    return self


def _from_kept(host: Host, self: Container, kept: dict[str, int]) -> Container:
    record = self.record
    self.pidfd, self.adopted = kept["pidfd"], True
    # Started is what counts: the last supervisor may have died between handing over and saving "running".
    self.phase = "running" if record.status == "running" or record.started_at != ZERO_TIME else "created"
    record.status = "running" if self.phase == "running" else record.status
    if "master" in kept:
        master = kept["master"]
        outputs, stdin = {STDOUT: master}, (master if record.stdin_open else -1)
    else:
        outputs = {stream: kept[name] for stream, name in ((STDOUT, "stdout"), (STDERR, "stderr")) if name in kept}
        stdin = kept.get("stdin", -1)
    self.io = ProcessIO(host.loop, outputs, stdin, "master" in kept, container_log(self.spec.bundle, record),
                        self._on_drained, close_stdin_on_eof=record.stdin_once)
    host.keep(self)  # draining resumes the careful way; the holder still has its own copies
    host.loop.watch(self.pidfd, ev.IN, self._on_pidfd)
    log.info("re-adopted container %s (pid %d) with the holder's descriptors", record.id[:12], record.pid)
    return self


def _reopen_io(host: Host, record: state.ContainerRecord, spec: ContainerSpec,
               on_drained: Callable[[], None]) -> ProcessIO | None:
    """Reconnect to PID 1's stdout/stderr pipes through /proc/<pid>/fd (a TTY master cannot be had back)."""
    if record.tty:
        return None
    outputs = {}
    for stream, fd in ((STDOUT, 1), (STDERR, 2)):
        path = f"/proc/{record.pid}/fd/{fd}"
        with contextlib.suppress(OSError):
            if stat.S_ISFIFO(os.stat(path).st_mode):
                outputs[stream] = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    stdin = -1
    if record.stdin_open:
        with contextlib.suppress(OSError):
            if stat.S_ISFIFO(os.stat(f"/proc/{record.pid}/fd/0").st_mode):
                stdin = os.open(f"/proc/{record.pid}/fd/0", os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    logfile = container_log(spec.bundle, record)
    return ProcessIO(host.loop, outputs, stdin, False, logfile, on_drained, close_stdin_on_eof=record.stdin_once)
