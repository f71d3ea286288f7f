"""Linux capabilities: which set a container gets (pure) and applying it in the child (ctypes).

`resolve` follows Docker's rules for --cap-add/--cap-drop/--privileged.
`apply` runs in the container's child after the user switch and before
exec. It makes bounding = permitted = effective = the container's set and
leaves inheritable and ambient empty, as Docker (moby + runc) does. What a
process then holds after exec is the kernel's business:

- uid 0: the full set comes back through exec (root's file caps count as
  all-ones, limited by the bounding set), so CapEff = the container's set.
- any other uid: the permitted/effective sets are emptied by exec (no
  ambient caps), so CapEff = 0 and only setcap'ed binaries gain caps, up to
  the bounding set. This is Docker's behaviour for `USER 1000`.

`apply(..., keep_ambient=True)` also raises inheritable + ambient (podman's
behaviour for a non-root user with added caps): the caps survive exec.
"""

from __future__ import annotations

import ctypes
import os
from collections.abc import Iterable, Sequence

# Kernel numbering (include/uapi/linux/capability.h); only the ones the running
# kernel knows end up in ALL_CAPS.
_NAMES = (
    "CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID",
    "SETPCAP", "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW",
    "IPC_LOCK", "IPC_OWNER", "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT",
    "SYS_ADMIN", "SYS_BOOT", "SYS_NICE", "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD",
    "LEASE", "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP", "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG",
    "WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF", "CHECKPOINT_RESTORE",
)  # fmt: skip

_LINUX_CAPABILITY_VERSION_3 = 0x20080522
_PR_CAPBSET_READ = 23
_PR_CAPBSET_DROP = 24
_PR_SET_KEEPCAPS = 8
_PR_CAP_AMBIENT = 47
_PR_CAP_AMBIENT_RAISE = 2
_PR_CAP_AMBIENT_CLEAR_ALL = 4


def _last_cap() -> int:
    try:
        with open("/proc/sys/kernel/cap_last_cap") as f:
            return int(f.read())
    except (OSError, ValueError):
        return len(_NAMES) - 1


LAST_CAP: int = _last_cap()
ALL_CAPS: dict[str, int] = {"CAP_" + n: i for i, n in enumerate(_NAMES) if i <= LAST_CAP}

DOCKER_DEFAULT: tuple[str, ...] = (
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
    "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
)  # fmt: skip

_ALL = "ALL"


def normalize(name: str) -> str:
    """`net_admin` / `CAP_NET_ADMIN` -> `CAP_NET_ADMIN`; `all` -> `ALL`; unknown -> ValueError."""
    upper = name.strip().upper()
    if upper == _ALL:
        return _ALL
    full = upper if upper.startswith("CAP_") else "CAP_" + upper
    if full not in ALL_CAPS:
        raise ValueError(f"unknown capability: {name!r} (this kernel knows CAP_CHOWN..{_last_name()})")
    return full


def _last_name() -> str:
    return max(ALL_CAPS, key=ALL_CAPS.__getitem__)


def _ordered(names: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted(set(names), key=ALL_CAPS.__getitem__))


def resolve(cap_add: Iterable[str], cap_drop: Iterable[str], privileged: bool) -> tuple[str, ...]:
    """The container's final capability set, in kernel order, by Docker's rules.

    privileged: every cap (add/drop ignored); "ALL" in add: every cap but the
    dropped ones (wins over "ALL" in drop); "ALL" in drop: only the added ones;
    otherwise the 14 defaults minus drop plus add. Names are validated even
    when they do not matter, as Docker does.
    """
    adds = [normalize(n) for n in cap_add]
    drops = [normalize(n) for n in cap_drop]
    if privileged:
        return _ordered(ALL_CAPS)
    if _ALL in adds:
        return _ordered(c for c in ALL_CAPS if c not in drops)
    if _ALL in drops:
        return _ordered(adds)
    return _ordered([c for c in DOCKER_DEFAULT if c not in drops and c in ALL_CAPS] + adds)


def effective_mask(names: Iterable[str]) -> int:
    """The bit mask of `names` as /proc/PID/status shows it (CapEff/CapBnd, hex)."""
    mask = 0
    for name in names:
        mask |= 1 << ALL_CAPS[normalize(name)]
    return mask


# -- effects (the child, before exec) ---------------------------------------------------------


class _Header(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _Data(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


_libc = ctypes.CDLL(None, use_errno=True)
_libc.prctl.argtypes = (ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong)
_libc.prctl.restype = ctypes.c_int


def _prctl(option: int, arg2: int = 0, arg3: int = 0) -> int:
    res: int = _libc.prctl(option, arg2, arg3, 0, 0)
    if res < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"prctl({option}, {arg2}, {arg3}): {os.strerror(err)}")
    return res


def _capget() -> tuple[int, int, int]:
    header = _Header(_LINUX_CAPABILITY_VERSION_3, 0)
    data = (_Data * 2)()
    if _libc.capget(ctypes.byref(header), data) < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"capget: {os.strerror(err)}")
    low, high = data[0], data[1]
    return (low.effective | high.effective << 32, low.permitted | high.permitted << 32,
            low.inheritable | high.inheritable << 32)


def _capset(effective: int, permitted: int, inheritable: int) -> None:
    header = _Header(_LINUX_CAPABILITY_VERSION_3, 0)
    data = (_Data * 2)()
    for i in (0, 1):
        shift = 32 * i
        data[i].effective = (effective >> shift) & 0xFFFFFFFF
        data[i].permitted = (permitted >> shift) & 0xFFFFFFFF
        data[i].inheritable = (inheritable >> shift) & 0xFFFFFFFF
    if _libc.capset(ctypes.byref(header), data) < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"capset(effective={effective:#x}, permitted={permitted:#x}): {os.strerror(err)}")


def available() -> tuple[str, ...]:
    """The caps in this process's bounding set: the most a container can get here."""
    return tuple(name for name, number in ALL_CAPS.items() if _prctl(_PR_CAPBSET_READ, number) == 1)


def keep_across_setuid() -> None:
    """PR_SET_KEEPCAPS: keep the permitted set through setuid() to a non-root uid.

    Call before setresuid() when `apply` comes after the user switch (the
    kernel clears the flag at exec).
    """
    _prctl(_PR_SET_KEEPCAPS, 1)


def apply(names: Sequence[str], keep_ambient: bool = False) -> None:
    """Make bounding = permitted = effective = `names`; inheritable/ambient empty (or = names with keep_ambient).

    Caps this process does not hold are left out (see `available()`). Runs
    in the container's child after setgroups/setgid/setuid (with
    `keep_across_setuid()` before them when the uid is not 0) and before
    exec. A seccomp filter loaded earlier must allow capget/capset/prctl
    (ours does).
    """
    _eff, permitted, inheritable = _capget()
    # A cap this process does not hold can never be granted (this VM has no
    # CAP_SYS_RESOURCE at all): privileged containers get what exists.
    target = effective_mask(names) & permitted
    # Dropping from the bounding set needs CAP_SETPCAP in the effective set;
    # a setuid() with keepcaps leaves it only in the permitted set.
    setpcap = 1 << ALL_CAPS["CAP_SETPCAP"]
    if permitted & setpcap:
        _capset(permitted, permitted, inheritable)
    for number in range(LAST_CAP + 1):
        if not target & (1 << number) and _prctl(_PR_CAPBSET_READ, number) == 1:
            _prctl(_PR_CAPBSET_DROP, number)
    _prctl(_PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL)
    _capset(target, target, target if keep_ambient else 0)
    if keep_ambient:
        for number in range(LAST_CAP + 1):
            if target & (1 << number):
                _prctl(_PR_CAP_AMBIENT, _PR_CAP_AMBIENT_RAISE, number)
