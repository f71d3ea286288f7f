"""ctypes syscalls: each test runs in a forked child (namespaces and mounts are process-wide)."""

from __future__ import annotations

import os
import signal
import socket
import time

import pytest

from runtime.linux import syscalls as sc
from tests.runtime.linux.forkrun import run_forked

pytestmark = [pytest.mark.root, pytest.mark.timeout(60)]


def test_clone_makes_pid_1_of_a_new_pid_namespace_with_a_pidfd() -> None:
    def fn() -> dict[str, object]:
        r, w = os.pipe()
        pid, pidfd = sc.clone(sc.CLONE_NEWPID | sc.CLONE_NEWUTS | sc.CLONE_NEWNS)
        if pid == 0:
            os.write(w, str(os.getpid()).encode())
            os._exit(7)
        os.close(w)
        inner = os.read(r, 16).decode()
        code = sc.waitid_pidfd(pidfd, block=True)
        return {"inner": inner, "code": code, "pidfd_cloexec": not os.get_inheritable(pidfd), "pid": pid}

    out = run_forked(fn)
    assert out["inner"] == "1"
    assert out["code"] == 7
    assert out["pidfd_cloexec"] is True
    assert out["pid"] > 1


def test_exit_code_of_a_signalled_child_is_128_plus_signal() -> None:
    def fn() -> list[int | None]:
        pid, pidfd = sc.clone(0)
        if pid == 0:
            time.sleep(30)
            os._exit(0)
        first = sc.waitid_pidfd(pidfd)  # still running
        sc.pidfd_send_signal(pidfd, signal.SIGTERM)
        return [first, sc.waitid_pidfd(pidfd, block=True)]

    assert run_forked(fn) == [None, 128 + signal.SIGTERM]


def test_exit_code_mapping() -> None:
    assert sc.exit_code(os.CLD_EXITED, 3) == 3
    assert sc.exit_code(os.CLD_KILLED, 9) == 137
    assert sc.exit_code(os.CLD_DUMPED, 11) == 139


def test_hostname_in_a_new_uts_namespace_only() -> None:
    def fn() -> list[str]:
        pid, pidfd = sc.clone(sc.CLONE_NEWUTS)
        if pid == 0:
            sc.sethostname("pyc-inside")
            sc.setdomainname("pyc.example")
            ok = os.uname().nodename == "pyc-inside"
            os._exit(0 if ok else 1)
        return [str(sc.waitid_pidfd(pidfd, block=True)), os.uname().nodename]

    code, host_name = run_forked(fn)
    assert code == "0"
    assert host_name == os.uname().nodename != "pyc-inside"


def test_close_all_except_keeps_only_the_given_fds() -> None:
    def fn() -> list[int]:
        before = {int(n) for n in os.listdir("/proc/self/fd")}  # forkrun's result pipe is among them
        fds = [os.open("/dev/null", os.O_RDONLY) for _ in range(6)]
        sc.close_all_except((before - set(fds)) | {fds[1], fds[4]})
        alive = []
        for fd in fds:
            try:
                os.fstat(fd)
                alive.append(fd)
            except OSError:
                pass
        return [len(alive), int(fds[1] in alive), int(fds[4] in alive)]

    assert run_forked(fn) == [2, 1, 1]


def test_close_range_with_an_empty_range_is_a_no_op() -> None:
    sc.close_range(10, 5)


def test_mount_and_unmount_in_a_private_mount_namespace(tmp_path: os.PathLike[str]) -> None:
    target = os.path.join(tmp_path, "m")
    os.mkdir(target)

    def fn() -> list[str]:
        sc.unshare(sc.CLONE_NEWNS)
        sc.mount(None, "/", None, sc.MS_REC | sc.MS_PRIVATE)
        sc.mount("tmpfs", target, "tmpfs", sc.MS_NOSUID, "size=1m,mode=700")
        with open(os.path.join(target, "f"), "w") as f:
            f.write("x")
        inside = sorted(os.listdir(target))
        sc.umount2(target, sc.MNT_DETACH)
        return [*inside, "|", *sorted(os.listdir(target))]

    assert run_forked(fn) == ["f", "|"]
    assert os.listdir(target) == []  # nothing reached the host


def test_mount_error_names_the_call() -> None:
    with pytest.raises(OSError) as info:
        sc.mount("none", "/nonexistent-pyc-dir", "tmpfs")
    assert "mount(" in str(info.value) and "/nonexistent-pyc-dir" in str(info.value)


def test_setns_back_into_our_own_namespace() -> None:
    def fn() -> bool:
        fd = os.open("/proc/self/ns/uts", os.O_RDONLY)
        sc.setns(fd, sc.CLONE_NEWUTS)
        return True

    assert run_forked(fn) is True


def test_prctl_no_new_privs_and_subreaper() -> None:
    def fn() -> list[str]:
        sc.set_no_new_privs()
        sc.set_child_subreaper()
        with open("/proc/self/status") as f:
            status = f.read()
        return [line for line in status.splitlines() if line.startswith("NoNewPrivs")]

    assert run_forked(fn) == ["NoNewPrivs:\t1"]


def test_subreaper_adopts_orphans_and_can_wait_for_them() -> None:
    def fn() -> int | None:
        sc.set_child_subreaper()
        r, w = os.pipe()
        middle = os.fork()
        if middle == 0:
            grandchild = os.fork()
            if grandchild == 0:
                time.sleep(0.2)
                os._exit(5)
            os.write(w, str(grandchild).encode())
            os._exit(0)
        os.waitpid(middle, 0)
        grandchild = int(os.read(r, 16))
        return sc.waitid_pidfd(sc.pidfd_open(grandchild), block=True)

    assert run_forked(fn) == 5


def test_pidfd_exit_status_of_a_process_someone_else_reaped() -> None:
    # Our grandchild is reparented to host init, which reaps it: only PIDFD_GET_INFO knows its status.
    r, w = os.pipe()
    middle = os.fork()
    if middle == 0:  # pragma: no cover - child
        grandchild = os.fork()
        if grandchild == 0:
            time.sleep(0.1)
            os._exit(9)
        os.write(w, str(grandchild).encode())
        os._exit(0)
    os.close(w)
    os.waitpid(middle, 0)
    grandchild = int(os.read(r, 16))
    os.close(r)
    pidfd = sc.pidfd_open(grandchild)
    try:
        with pytest.raises(ChildProcessError):
            sc.waitid_pidfd(pidfd)
        deadline = time.monotonic() + 20
        status = None
        while status is None and time.monotonic() < deadline:
            status = sc.pidfd_exit_status(pidfd)
            time.sleep(0.05)
        assert status == 9
    finally:
        os.close(pidfd)


def test_pty_pair_and_window_size() -> None:
    import fcntl
    import struct
    import termios

    master, slave, index = sc.open_pty_master()
    try:
        assert os.ttyname(slave) == f"/dev/pts/{index}"
        sc.set_window_size(master, 40, 132)
        rows, cols = struct.unpack("HHHH", fcntl.ioctl(slave, termios.TIOCGWINSZ, b"\0" * 8))[:2]
        assert (rows, cols) == (40, 132)
        os.write(slave, b"out")
        assert os.read(master, 16) == b"out"
    finally:
        os.close(master)
        os.close(slave)


def test_pidfd_getfd_takes_a_copy_of_another_process_fd() -> None:
    a, b = socket.socketpair()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        time.sleep(5)
        os._exit(0)
    pidfd = sc.pidfd_open(pid)
    try:
        copy = sc.pidfd_getfd(pidfd, a.fileno())
        os.write(copy, b"x")
        assert b.recv(1) == b"x"
        os.close(copy)
    finally:
        sc.pidfd_send_signal(pidfd, signal.SIGKILL)
        sc.waitid_pidfd(pidfd, block=True)
        os.close(pidfd)
        a.close()
        b.close()
