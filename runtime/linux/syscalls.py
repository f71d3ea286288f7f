"""Thin ctypes wrappers for the syscalls Python 3.11 does not expose.

Every wrapper raises OSError(errno, "<call>(<args>): <strerror>") so a failed
birth names what failed. Syscalls without a glibc wrapper go through
`syscall(2)` with the number for this machine.

`clone` is the raw clone(2), not fork: the child starts as PID 1 of its new
pid namespace with all its other namespaces, in one syscall (RUNTIME-FACTS:
3.3 ms a birth against 6 ms for fork + unshare + fork). The cost is that
Python's after-fork hooks do not run in the child, so a caller must be
single-threaded and the child must only run its setup and then exec or
`os._exit` (the supervisor's birth child does exactly that).
"""

from __future__ import annotations

import ctypes
import os
import struct
from typing import Final

# Namespace flags (sched.h).
CLONE_NEWTIME: Final = 0x00000080
CLONE_PIDFD: Final = 0x00001000
CLONE_NEWNS: Final = 0x00020000
CLONE_NEWCGROUP: Final = 0x02000000
CLONE_NEWUTS: Final = 0x04000000
CLONE_NEWIPC: Final = 0x08000000
CLONE_NEWUSER: Final = 0x10000000
CLONE_NEWPID: Final = 0x20000000
CLONE_NEWNET: Final = 0x40000000
SIGCHLD: Final = 17
CLONE_INTO_CGROUP: Final = 0x200000000  # clone3 only

NAMESPACE_FLAGS: Final = {
    "mnt": CLONE_NEWNS, "uts": CLONE_NEWUTS, "ipc": CLONE_NEWIPC, "pid": CLONE_NEWPID,
    "net": CLONE_NEWNET, "cgroup": CLONE_NEWCGROUP, "user": CLONE_NEWUSER, "time": CLONE_NEWTIME,
}  # fmt: skip

# mount(2) flags.
MS_RDONLY: Final = 1
MS_NOSUID: Final = 2
MS_NODEV: Final = 4
MS_NOEXEC: Final = 8
MS_SYNCHRONOUS: Final = 16
MS_REMOUNT: Final = 32
MS_MANDLOCK: Final = 64
MS_DIRSYNC: Final = 128
MS_NOSYMFOLLOW: Final = 256
MS_NOATIME: Final = 1024
MS_NODIRATIME: Final = 2048
MS_BIND: Final = 4096
MS_MOVE: Final = 8192
MS_REC: Final = 16384
MS_SILENT: Final = 32768
MS_UNBINDABLE: Final = 1 << 17
MS_PRIVATE: Final = 1 << 18
MS_SLAVE: Final = 1 << 19
MS_SHARED: Final = 1 << 20
MS_RELATIME: Final = 1 << 21
MS_STRICTATIME: Final = 1 << 24
MS_LAZYTIME: Final = 1 << 25
MNT_FORCE: Final = 1
MNT_DETACH: Final = 2
UMOUNT_NOFOLLOW: Final = 8

# prctl(2) options.
PR_SET_PDEATHSIG: Final = 1
PR_SET_DUMPABLE: Final = 4
PR_SET_KEEPCAPS: Final = 8
PR_SET_NAME: Final = 15
PR_SET_CHILD_SUBREAPER: Final = 36
PR_SET_NO_NEW_PRIVS: Final = 38

# tty ioctls (asm-generic/ioctls.h).
TIOCSCTTY: Final = 0x540E
TIOCSWINSZ: Final = 0x5414
TIOCGPTN: Final = 0x80045430
TIOCSPTLCK: Final = 0x40045431
TIOCGPTPEER: Final = 0x5441

# pidfd ioctl (linux/pidfd.h, 6.15+): struct pidfd_info, version 0 is 64 bytes.
_PIDFD_INFO_SIZE: Final = 64
PIDFD_INFO_EXIT: Final = 1 << 3
PIDFD_GET_INFO: Final = (3 << 30) | (_PIDFD_INFO_SIZE << 16) | (0xFF << 8) | 11

_NUMBERS: Final = {
    # name: (x86_64, aarch64 and the other "generic" tables)
    "clone": (56, 220),
    "pivot_root": (155, 41),
    "pidfd_send_signal": (424, 424),
    "pidfd_open": (434, 434),
    "close_range": (436, 436),
    "clone3": (435, 435),
    "pidfd_getfd": (438, 438),
    "bpf": (321, 280),
    "open_tree": (428, 428),
}
_X86_64 = os.uname().machine == "x86_64"

_libc = ctypes.CDLL(None, use_errno=True)
# The raw clone runs with the GIL held (PyDLL), exactly like os.fork(): the
# child resumes owning it, whatever the parent does next.
_pylibc = ctypes.PyDLL(None, use_errno=True)
_syscall = _libc.syscall
_syscall.restype = ctypes.c_long
_raw_clone = _pylibc.syscall
_raw_clone.restype = ctypes.c_long


def _nr(name: str) -> int:
    x86, generic = _NUMBERS[name]
    return x86 if _X86_64 else generic


def _fail(call: str) -> OSError:
    err = ctypes.get_errno()
    return OSError(err, f"{call}: {os.strerror(err)}")


def _b(value: str | bytes | os.PathLike[str] | None) -> bytes | None:
    return None if value is None else os.fsencode(value)


# -- processes and namespaces ------------------------------------------------------------------


def clone(flags: int) -> tuple[int, int]:
    """Raw clone(2) with CLONE_PIDFD: (pid, pidfd) in the parent, (0, -1) in the child.

    `flags` are CLONE_NEW* bits; SIGCHLD is the exit signal. The child shares
    nothing but the copied memory (like fork) and must end in exec or _exit.
    """
    pidfd = ctypes.c_int(-1)
    full = flags | CLONE_PIDFD | SIGCHLD
    args: tuple[object, ...]
    if _X86_64:  # clone(flags, stack, parent_tid, child_tid, tls)
        args = (ctypes.c_ulong(full), ctypes.c_void_p(0), ctypes.byref(pidfd), ctypes.c_void_p(0), ctypes.c_ulong(0))
    else:  # the generic order: clone(flags, stack, parent_tid, tls, child_tid)
        args = (ctypes.c_ulong(full), ctypes.c_void_p(0), ctypes.byref(pidfd), ctypes.c_ulong(0), ctypes.c_void_p(0))
    pid = _raw_clone(ctypes.c_long(_nr("clone")), *args)
    if pid < 0:
        raise _fail(f"clone({flags:#x})")
    if pid == 0:
        return 0, -1
    os.set_inheritable(pidfd.value, False)
    return pid, pidfd.value


class _CloneArgs(ctypes.Structure):
    """struct clone_args up to `cgroup` (CLONE_ARGS_SIZE_VER2, 88 bytes)."""

    _fields_ = [(name, ctypes.c_uint64) for name in (
        "flags", "pidfd", "child_tid", "parent_tid", "exit_signal", "stack", "stack_size", "tls", "set_tid",
        "set_tid_size", "cgroup")]


def clone3(flags: int, cgroup_fd: int = -1) -> tuple[int, int]:
    """clone3(2) as `clone`, and with `cgroup_fd` >= 0 born in that v2 cgroup (CLONE_INTO_CGROUP).

    Being born in the cgroup costs nothing, where moving a process in
    afterwards through cgroup.procs waits for an RCU grace period (often
    10 ms or more). OSError ENOSYS/E2BIG on kernels before 5.7: use `clone`.
    """
    pidfd = ctypes.c_int(-1)
    full = flags | CLONE_PIDFD | (CLONE_INTO_CGROUP if cgroup_fd >= 0 else 0)
    args = _CloneArgs(flags=full, pidfd=ctypes.addressof(pidfd), exit_signal=SIGCHLD, cgroup=max(cgroup_fd, 0))
    pid = _raw_clone(ctypes.c_long(_nr("clone3")), ctypes.byref(args), ctypes.c_size_t(ctypes.sizeof(args)))
    if pid < 0:
        raise _fail(f"clone3({full:#x})")
    if pid == 0:
        return 0, -1
    os.set_inheritable(pidfd.value, False)
    return pid, pidfd.value


def unshare(flags: int) -> None:
    if _libc.unshare(ctypes.c_int(flags)) != 0:
        raise _fail(f"unshare({flags:#x})")


def setns(fd: int, nstype: int = 0) -> None:
    if _libc.setns(ctypes.c_int(fd), ctypes.c_int(nstype)) != 0:
        raise _fail(f"setns({fd}, {nstype:#x})")


def sethostname(name: str) -> None:
    raw = name.encode()
    if _libc.sethostname(raw, ctypes.c_size_t(len(raw))) != 0:
        raise _fail(f"sethostname({name!r})")


def setdomainname(name: str) -> None:
    raw = name.encode()
    if _libc.setdomainname(raw, ctypes.c_size_t(len(raw))) != 0:
        raise _fail(f"setdomainname({name!r})")


def prctl(option: int, arg2: int = 0, arg3: int = 0, arg4: int = 0, arg5: int = 0) -> int:
    res: int = _libc.prctl(ctypes.c_int(option), ctypes.c_ulong(arg2), ctypes.c_ulong(arg3),
                           ctypes.c_ulong(arg4), ctypes.c_ulong(arg5))
    if res < 0:
        raise _fail(f"prctl({option}, {arg2})")
    return res


def set_child_subreaper() -> None:
    prctl(PR_SET_CHILD_SUBREAPER, 1)


def set_pdeathsig(signum: int) -> None:
    prctl(PR_SET_PDEATHSIG, signum)


def set_no_new_privs() -> None:
    prctl(PR_SET_NO_NEW_PRIVS, 1)


def set_not_dumpable() -> None:
    """Until execve, /proc/<pid>/exe (the host's interpreter) and the rest of our /proc entry are closed to
    processes without CAP_SYS_PTRACE, such as the container's own (CVE-2019-5736); execve reopens them."""
    prctl(PR_SET_DUMPABLE, 0)


def set_keepcaps() -> None:
    prctl(PR_SET_KEEPCAPS, 1)


def close_range(first: int, last: int = 0xFFFFFFFF, flags: int = 0) -> None:
    """Close every fd in [first, last]; a no-op when first > last."""
    if first > last:
        return
    if _syscall(ctypes.c_long(_nr("close_range")), ctypes.c_uint(first), ctypes.c_uint(last), ctypes.c_uint(flags)):
        raise _fail(f"close_range({first}, {last})")


def close_all_except(keep: set[int] | frozenset[int], first: int = 0) -> None:
    """Close every fd >= `first` except `keep`, a few close_range calls."""
    start = first
    for fd in sorted(k for k in keep if k >= first):
        close_range(start, fd - 1)
        start = fd + 1
    close_range(start)


def set_groups(gids: tuple[int, ...] | list[int]) -> None:
    os.setgroups(list(gids))


def set_ids(uid: int, gid: int) -> None:
    """setresgid then setresuid: group first, while we may still change it."""
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)


# -- pidfds ------------------------------------------------------------------------------------


def pidfd_open(pid: int) -> int:
    return os.pidfd_open(pid)


def pidfd_send_signal(pidfd: int, signum: int) -> None:
    if _syscall(ctypes.c_long(_nr("pidfd_send_signal")), ctypes.c_int(pidfd), ctypes.c_int(signum),
                ctypes.c_void_p(0), ctypes.c_uint(0)):
        raise _fail(f"pidfd_send_signal({pidfd}, {signum})")


def waitid_pidfd(pidfd: int, block: bool = False) -> int | None:
    """The exit code of the child behind `pidfd` once it exited (128+N for signal N), else None.

    Reaps it. ECHILD (not our child) propagates as ChildProcessError.
    """
    flags = os.WEXITED | (0 if block else os.WNOHANG)
    result = os.waitid(os.P_PIDFD, pidfd, flags)
    if result is None or result.si_pid == 0:
        return None
    return exit_code(result.si_code, result.si_status)


def exit_code(si_code: int, si_status: int) -> int:
    """Docker's exit code from a waitid result: the status, or 128 + the signal."""
    if si_code == os.CLD_EXITED:
        return si_status
    return 128 + si_status


def pidfd_exit_status(pidfd: int) -> int | None:
    """The exit code of a process someone else reaped (PIDFD_GET_INFO, 6.15+), None if not known yet.

    Works for processes that are not our children: the kernel keeps the
    status on the pidfd once the real parent has reaped it.
    """
    import fcntl

    buf = bytearray(_PIDFD_INFO_SIZE)
    struct.pack_into("=Q", buf, 0, PIDFD_INFO_EXIT)
    try:
        fcntl.ioctl(pidfd, PIDFD_GET_INFO, buf, True)
    except OSError:
        return None
    mask = struct.unpack_from("=Q", buf, 0)[0]
    if not mask & PIDFD_INFO_EXIT:
        return None
    status = struct.unpack_from("=i", buf, 60)[0]
    if os.WIFEXITED(status):
        return os.WEXITSTATUS(status)
    if os.WIFSIGNALED(status):
        return 128 + os.WTERMSIG(status)
    return None


def pidfd_getfd(pidfd: int, targetfd: int) -> int:
    fd = int(_syscall(ctypes.c_long(_nr("pidfd_getfd")), ctypes.c_int(pidfd), ctypes.c_int(targetfd),
                      ctypes.c_uint(0)))
    if fd < 0:
        raise _fail(f"pidfd_getfd({pidfd}, {targetfd})")
    os.set_inheritable(fd, False)
    return fd


def bpf(cmd: int, attr: ctypes.Structure, what: str) -> int:
    """bpf(2) with `attr` (a union bpf_attr member); its result (a new fd for loads, else 0)."""
    size = ctypes.c_uint(ctypes.sizeof(attr))
    result = _syscall(ctypes.c_long(_nr("bpf")), ctypes.c_int(cmd), ctypes.byref(attr), size)
    if result < 0:
        raise _fail(what)
    return int(result)


# -- mounts ------------------------------------------------------------------------------------


def mount(source: str | None, target: str, fstype: str | None, flags: int = 0, data: str | None = None) -> None:
    if _libc.mount(_b(source), _b(target), _b(fstype), ctypes.c_ulong(flags), _b(data)) != 0:
        raise _fail(f"mount({source!r}, {target!r}, {fstype!r}, {flags:#x}, {data!r})")


def umount2(target: str, flags: int = 0) -> None:
    if _libc.umount2(_b(target), ctypes.c_int(flags)) != 0:
        raise _fail(f"umount2({target!r}, {flags})")


def open_tree_clone(dirfd: int) -> int:
    """A detached copy of the mount at `dirfd` alone (no submounts): open_tree(OPEN_TREE_CLONE)."""
    flags = 1 | os.O_CLOEXEC | 0x1000  # OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH
    fd = int(_syscall(ctypes.c_long(_nr("open_tree")), ctypes.c_int(dirfd), b"", ctypes.c_uint(flags)))
    if fd < 0:
        raise _fail(f"open_tree({dirfd}, OPEN_TREE_CLONE)")
    return fd


def pivot_root(new_root: str, put_old: str) -> None:
    if _syscall(ctypes.c_long(_nr("pivot_root")), _b(new_root), _b(put_old)):
        raise _fail(f"pivot_root({new_root!r}, {put_old!r})")


# -- terminals ---------------------------------------------------------------------------------


def open_pty_master(ptmx: str = "/dev/ptmx") -> tuple[int, int, int]:
    """A new pty from `ptmx`: (master, slave, index), unlocked, both O_NOCTTY.

    Opening the slave through TIOCGPTPEER keeps it in the same devpts
    instance as the master, whatever /dev/pts is mounted on.
    """
    import fcntl

    master = os.open(ptmx, os.O_RDWR | os.O_NOCTTY | os.O_CLOEXEC)
    try:
        fcntl.ioctl(master, TIOCSPTLCK, struct.pack("i", 0))
        index = struct.unpack("I", fcntl.ioctl(master, TIOCGPTN, b"\0\0\0\0"))[0]
        slave = fcntl.ioctl(master, TIOCGPTPEER, os.O_RDWR | os.O_NOCTTY)
    except BaseException:
        os.close(master)
        raise
    return master, int(slave), int(index)


def set_controlling_tty(fd: int) -> None:
    import fcntl

    fcntl.ioctl(fd, TIOCSCTTY, 0)


def set_window_size(fd: int, rows: int, cols: int) -> None:
    import fcntl

    fcntl.ioctl(fd, TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


SPLICE_F_NONBLOCK: Final = 2


def tee(fd_in: int, fd_out: int, size: int) -> int:
    """Copy up to `size` bytes from pipe `fd_in` into pipe `fd_out` without consuming them (tee(2)).

    0 means `fd_in` is empty and has no writer left (EOF); BlockingIOError when it is just empty.
    """
    res = int(_libc.tee(ctypes.c_int(fd_in), ctypes.c_int(fd_out), ctypes.c_size_t(size),
                        ctypes.c_uint(SPLICE_F_NONBLOCK)))
    if res < 0:
        raise _fail(f"tee({fd_in}, {fd_out})")
    return res
