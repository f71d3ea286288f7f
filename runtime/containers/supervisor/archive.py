"""Op `archive`: `docker cp` into a live container, done inside its own mount namespace.

The engine has threads and cannot enter a mount namespace, so the
supervisor (single-threaded) opens the container's mount namespace and
root through its PID 1, then forks a child that enters the namespace,
chroots into the container's root and runs the job there (as Docker
does): paths resolve as the container sees them, through its volumes and
bind mounts, the kernel sees every write at once, and nothing the child
does can reach outside the root (`..` stops at it, an absolute symlink
leads to the container's own `/`).

  archive {cid, action: "put"|"stat", path, strict, owner: [uid, gid] | null} -> fd

The answer carries one end of a socket pair: for "put" the engine writes
the tar into it and shuts its write side; the child answers with one JSON
line (archive_job.run's result) and exits. The child is reaped through a
pidfd; the op's answer does not wait for it.
"""

from __future__ import annotations

import contextlib
import gc
import os
import signal
import socket
from typing import TYPE_CHECKING, Any, NoReturn

from runtime.containers.supervisor import loop as ev
from runtime.containers.supervisor.conn import Conn, Reply
from runtime.containers.supervisor.protocol import OpError, encode
from runtime.linux import syscalls as sc

if TYPE_CHECKING:
    from runtime.containers.supervisor.main import Supervisor

ACTIONS = ("put", "stat")


def op_archive(host: Supervisor, request: dict[str, Any], reply: Reply, conn: Conn) -> None:
    container = host._container(request)
    if container.phase not in ("created", "starting", "running") or container.record.pid <= 0:
        raise OpError(f"container {container.id} is not running", "conflict")
    job = {k: request.get(k) for k in ("action", "path", "strict", "owner")}
    if job["action"] not in ACTIONS or not isinstance(job["path"], str):
        raise OpError(f"archive: bad request {job!r}")
    pid1 = container.record.pid
    mnt = os.open(f"/proc/{pid1}/ns/mnt", os.O_RDONLY | os.O_CLOEXEC)
    try:
        root = os.open(f"/proc/{pid1}/root", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except BaseException:
        os.close(mnt)
        raise
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the forked child
            _child(ours, mnt, root, job)
        pidfd = os.pidfd_open(pid)
    except BaseException:
        theirs.close()
        raise
    finally:
        ours.close()
        os.close(mnt)
        os.close(root)
    _reap_later(host.loop, pidfd)
    reply.ok(fds=[theirs.detach()])


def _reap_later(loop: ev.Loop, pidfd: int) -> None:
    def on_exit(mask: int) -> None:
        with contextlib.suppress(ChildProcessError):  # reaped already, as an orphan would be
            if sc.waitid_pidfd(pidfd) is None:
                return
        loop.unwatch(pidfd)
        os.close(pidfd)

    loop.watch(pidfd, ev.IN, on_exit)


def _child(sock: socket.socket, mnt: int, root: int, job: dict[str, Any]) -> NoReturn:
    """Enter the container's mount namespace and root, run the job, answer on `sock`. Never returns."""
    gc.disable()  # no collection of the supervisor's heap in here
    code = 0
    result: dict[str, Any]
    try:
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        sc.close_all_except({0, 1, 2, sock.fileno(), mnt, root})
        # Everything the job needs is imported now: after chroot the host's files are gone.
        from runtime.containers import archive_job

        archive_job.preload()
        sc.setns(mnt, sc.CLONE_NEWNS)
        os.fchdir(root)
        os.chroot(".")
        os.chdir("/")
        os.close(mnt)
        os.close(root)
        os.umask(0o022)
        with sock.makefile("rb") as stream:
            result = archive_job.run(job, stream)
    except BaseException as exc:
        code = 1
        result = {"ok": False, "status": 500, "message": f"cannot enter the container: {exc}"}
    try:
        sock.sendall(encode(result))
        sock.shutdown(socket.SHUT_WR)
    except OSError:
        code = 1
    os._exit(code)
