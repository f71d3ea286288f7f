"""Op `archive`: `docker cp` into a live container, done inside its own mount namespace.

The engine has threads and cannot enter a mount namespace, so the
supervisor (single-threaded) opens the container's mount namespace and
root through its PID 1, then forks a child that enters the namespace,
chroots into the container's root and runs the job there (as Docker
does): paths resolve as the container sees them, through its volumes and
bind mounts, the kernel sees every write at once, and nothing the child
does can reach outside the root (`..` stops at it, an absolute symlink
leads to the container's own `/`).

A container with no process has no mount namespace: given its spec and
the targets of its volume and bind mounts (`binds`), the child makes a
private mount namespace, mounts the container's overlay and those mounts as
a start would (and nothing else: no tmpfs to swallow the files), runs the
job on that tree (paths resolved inside it, never through the kernel's
symlink walk), unmounts and answers. The engine holds the container's lock
meanwhile, so no start mounts the same overlay at the same time.

  archive {cid, action: "put"|"stat"|"get"|"export", path, strict, owner: [uid, gid] | null} -> fd
  archive {spec, binds: [target...], action, path, strict, owner} -> fd   (a container with no process)

The answer carries one end of a socket pair: for "put" the engine writes
the tar into it and shuts its write side; the child answers with one JSON
line (archive_job.run's result) and exits. For "get" (docker cp out) and
"export" the child writes one JSON line (the stat, or the error) and then
the tar, always chrooted into the container's root; "export" sees the
root file system alone (a clone of its mount without the submounts, or
the overlay mounted without the volumes), as dockerd exports it. The child is reaped through a
pidfd; the op's answer does not wait for it.
"""

from __future__ import annotations

import contextlib
import gc
import os
import posixpath
import signal
import socket
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, Protocol

from runtime.containers.supervisor import loop as ev
from runtime.containers.supervisor.conn import Conn, Reply
from runtime.containers.supervisor.protocol import OpError, encode
from runtime.linux import mounts
from runtime.linux import syscalls as sc
from runtime.spec import Mount, Rootfs, spec_from_dict

if TYPE_CHECKING:
    from runtime.containers.supervisor.containers import Container


class Supervisor(Protocol):
    """What a copy needs of the supervisor (main.Supervisor): its loop and its containers."""

    loop: ev.Loop
    containers: dict[str, Container]

    def _container(self, request: dict[str, Any]) -> Container: ...

ACTIONS = ("put", "stat", "get", "export")


def op_archive(host: Supervisor, request: dict[str, Any], reply: Reply, conn: Conn) -> None:
    job = {k: request.get(k) for k in ("action", "path", "strict", "owner")}
    if job["action"] not in ACTIONS or not isinstance(job["path"], str):
        raise OpError(f"archive: bad request {job!r}")
    if isinstance(request.get("spec"), dict):
        _offline(host, request, job, reply)
        return
    container = host._container(request)
    if container.phase not in ("created", "starting", "running") or container.record.pid <= 0:
        raise OpError(f"container {container.id} is not running", "conflict")
    pid1 = container.record.pid
    mnt = os.open(f"/proc/{pid1}/ns/mnt", os.O_RDONLY | os.O_CLOEXEC)
    try:
        root = os.open(f"/proc/{pid1}/root", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except BaseException:
        os.close(mnt)
        raise
    try:
        _fork(host, reply, lambda sock: _live_child(sock, mnt, root, job))
    finally:
        os.close(mnt)
        os.close(root)


def _offline(host: Supervisor, request: dict[str, Any], job: dict[str, Any], reply: Reply) -> None:
    spec = spec_from_dict(request["spec"])
    known = host.containers.get(spec.id)
    if known is not None and known.alive:
        raise OpError(f"container {spec.id} is running", "conflict")
    binds = {posixpath.normpath(str(t)) for t in request.get("binds") or ()}
    chosen = tuple(m for m in spec.mounts if m.type == "bind" and posixpath.normpath(m.target) in binds)
    _fork(host, reply, lambda sock: _offline_child(sock, spec.rootfs, spec.bundle, chosen, job))


def _fork(host: Supervisor, reply: Reply, child: Callable[[socket.socket], NoReturn]) -> None:
    """Fork `child` with one end of a socket pair; the other end is the answer."""
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the forked child
            child(ours)
        pidfd = os.pidfd_open(pid)
    except BaseException:
        theirs.close()
        raise
    finally:
        ours.close()
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


def _start_child(keep: set[int]) -> None:
    gc.disable()  # no collection of the supervisor's heap in here
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    sc.close_all_except({0, 1, 2, *keep})
    # Everything the job needs is imported now: after chroot the host's files are gone.
    from runtime.containers import archive_job

    archive_job.preload()


def _answer(sock: socket.socket, result: dict[str, Any], code: int) -> NoReturn:
    try:
        sock.sendall(encode(result))
        sock.shutdown(socket.SHUT_WR)
    except OSError:
        code = 1
    os._exit(code)


def _live_child(sock: socket.socket, mnt: int, root: int, job: dict[str, Any]) -> NoReturn:
    """Enter the container's mount namespace and root, run the job, answer on `sock`. Never returns."""
    code = 0
    result: dict[str, Any]
    try:
        _start_child({sock.fileno(), mnt, root})
        from runtime.containers import archive_job

        sc.setns(mnt, sc.CLONE_NEWNS)
        tree = sc.open_tree_clone(root) if job["action"] == "export" else root
        os.fchdir(tree)
        os.chroot(".")
        os.chdir("/")
        os.close(mnt)
        os.close(root)
        os.umask(0o022)
        if job["action"] in archive_job.SENDING:
            _send(sock, job)
        with sock.makefile("rb") as stream:
            result = archive_job.run(job, stream)
    except BaseException as exc:
        code = 1
        result = {"ok": False, "status": 500, "message": f"cannot enter the container: {exc}"}
    _answer(sock, result, code)


def _send(sock: socket.socket, job: dict[str, Any]) -> NoReturn:
    """Write the job's line and tar onto `sock` (already in the root), then exit."""
    from runtime.containers import archive_job

    with sock.makefile("wb") as out:
        ok = archive_job.send(job, out)
    os._exit(0 if ok else 1)  # the stream ends when the last holder of `sock` is gone


def _send_chrooted(sock: socket.socket, job: dict[str, Any], root: str) -> int:
    """`_send` chrooted into `root` in a grandchild, so this child can unmount after; its exit code."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the forked child
        try:
            os.chroot(root)
            os.chdir("/")
        except BaseException:
            os._exit(1)
        _send(sock, job)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def _offline_child(sock: socket.socket, rootfs: Rootfs, bundle: str, binds: tuple[Mount, ...],
                   job: dict[str, Any]) -> NoReturn:
    """Mount the container's file system in a private namespace, run the job there, answer. Never returns."""
    code = 0
    result: dict[str, Any]
    mounted = ""
    sent = False
    try:
        _start_child({sock.fileno()})
        from runtime.containers import archive_job

        sc.unshare(sc.CLONE_NEWNS)
        mounts.make_rprivate()
        rootfs = mounts.prepare_host_dirs(rootfs, bundle)
        mounts.mount_rootfs(rootfs)
        mounted = rootfs.mountpoint
        for m in binds:
            mounts.apply_mount(mounted, m)
        if job["action"] in archive_job.SENDING:
            code, sent = _send_chrooted(sock, job, mounted), True
            result = {}
        else:
            with sock.makefile("rb") as stream:
                result = archive_job.run(job, stream, Path(mounted))
    except BaseException as exc:
        code = 1
        result = {"ok": False, "status": 500, "message": f"cannot mount the container's file system: {exc}"}
    if sent:  # the tar is sent: unmount, then end the stream
        with contextlib.suppress(OSError):
            mounts.unmount_tree(mounted)
        os._exit(code)
    if mounted:  # before the answer: once the engine has it, a start may mount this overlay again
        try:
            mounts.unmount_tree(mounted)
        except OSError as exc:
            code = 1
            result = {"ok": False, "status": 500, "message": f"cannot unmount the container's file system: {exc}"}
    _answer(sock, result, code)
