"""The default seccomp profile: its plan (pure) and the compiled filter in a real child."""

from __future__ import annotations

import ctypes
import errno
import os
import socket
from typing import Any

import pytest

from runtime.linux import caps, seccomp
from tests.runtime.linux.forkrun import fork_exec, proc_status, run_forked

PROFILE = seccomp.load_profile()
CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
SIGCHLD = 17
NR = {"x86_64": {"clone": 56, "clone3": 435, "keyctl": 250}, "aarch64": {"clone": 220, "clone3": 435, "keyctl": 219}}
MACHINE = os.uname().machine
needs_known_arch = pytest.mark.skipif(MACHINE not in NR, reason="syscall numbers known for x86_64/aarch64 only")


def _rules(plan: seccomp.Plan, name: str) -> list[seccomp.Rule]:
    return [r for r in plan.rules if r.syscall == name]


def test_profile_names_are_unique_and_sorted() -> None:
    assert PROFILE["allow"] == sorted(set(PROFILE["allow"]))
    assert not {"mount", "unshare", "setns", "keyctl", "add_key", "request_key", "kexec_load"} & set(PROFILE["allow"])


def test_plan_without_sys_admin_restricts_clone_and_refuses_clone3() -> None:
    plan = seccomp.plan(PROFILE, caps.DOCKER_DEFAULT, "x86_64")
    assert plan.default_errno == errno.EPERM
    assert plan.compat_arches == ("x86", "x32")
    assert _rules(plan, "unshare") == [] and _rules(plan, "mount") == []
    (clone,) = _rules(plan, "clone")
    assert clone.cmps == (seccomp.Cmp(0, "masked_eq", 0, 0x7E020000),)
    assert _rules(plan, "clone3") == [seccomp.Rule("clone3", "errno", errno.ENOSYS)]
    assert _rules(plan, "chroot") == [seccomp.Rule("chroot", "allow")]  # CAP_SYS_CHROOT is a default
    assert _rules(plan, "arch_prctl") == [seccomp.Rule("arch_prctl", "allow")]
    assert {c.value for r in _rules(plan, "personality") for c in r.cmps} == {0, 8, 0x20000, 0x20008, 0xFFFFFFFF}


def test_plan_with_sys_admin_allows_namespaces() -> None:
    plan = seccomp.plan(PROFILE, [*caps.DOCKER_DEFAULT, "CAP_SYS_ADMIN"], "x86_64")
    for name in ("clone", "clone3", "unshare", "mount", "setns"):
        assert _rules(plan, name) == [seccomp.Rule(name, "allow")], name


def test_plan_follows_the_arch_and_the_other_caps() -> None:
    plan = seccomp.plan(PROFILE, ["CAP_SYS_PTRACE", "CAP_SYS_TIME"], "s390x")
    (clone,) = _rules(plan, "clone")
    assert clone.cmps[0].arg == 1  # s390 passes the flags second
    assert _rules(plan, "arch_prctl") == [] and _rules(plan, "s390_runtime_instr")
    assert _rules(plan, "kcmp") and _rules(plan, "clock_settime") and not _rules(plan, "chroot")


def test_the_cache_key_is_the_relevant_caps() -> None:
    assert "CAP_SYS_ADMIN" in seccomp.profile_caps(PROFILE)
    assert "CAP_CHOWN" not in seccomp.profile_caps(PROFILE)
    assert seccomp.default_filter_bpf(["CAP_CHOWN"]) is seccomp.default_filter_bpf(["CAP_KILL"])
    assert seccomp.default_filter_bpf(["sys_admin"]) is seccomp.default_filter_bpf(["CAP_SYS_ADMIN", "CAP_KILL"])


def test_compiled_filter_is_a_sock_filter_program() -> None:
    bpf = seccomp.default_filter_bpf(caps.DOCKER_DEFAULT)
    assert len(bpf) % 8 == 0 and 100 < len(bpf) // 8 < 4096
    assert seccomp.default_filter_bpf(tuple(caps.ALL_CAPS)) != bpf


def test_load_refuses_garbage() -> None:
    with pytest.raises(ValueError):
        seccomp.load(b"1234567")


def _libc() -> Any:
    return ctypes.CDLL(None, use_errno=True)


def _call(fn: Any, *args: Any) -> int:
    """-errno or the result of a libc call."""
    res = fn(*args)
    return -ctypes.get_errno() if res == -1 else int(res)


def _probe(capabilities: tuple[str, ...]) -> dict[str, int]:
    """Load the filter for `capabilities`, then try what the profile decides on."""
    seccomp.load(seccomp.default_filter_bpf(capabilities))
    libc = _libc()
    nr = NR[MACHINE]
    out = {
        "unshare_ns": _call(libc.unshare, CLONE_NEWNS),
        "keyctl": _call(libc.syscall, ctypes.c_long(nr["keyctl"]), 0, 0, 0, 0, 0),
        "personality_query": _call(libc.personality, ctypes.c_ulong(0xFFFFFFFF)),
        "personality_other": _call(libc.personality, ctypes.c_ulong(0x0040000)),  # ADDR_NO_RANDOMIZE
        "clone3": _call(libc.syscall, ctypes.c_long(nr["clone3"]), None, ctypes.c_size_t(0)),
    }
    clone_uts = _call(libc.syscall, ctypes.c_long(nr["clone"]), ctypes.c_ulong(CLONE_NEWUTS | SIGCHLD), None, None,
                      None, None)
    if clone_uts == 0:
        os._exit(0)
    if clone_uts > 0:
        os.waitpid(clone_uts, 0)
    out["clone_newuts"] = min(clone_uts, 1)
    pid = os.fork()  # a plain clone without CLONE_NEW* flags
    if pid == 0:
        os._exit(7)
    out["fork"] = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
    try:
        socket.socket(40, socket.SOCK_STREAM).close()  # AF_VSOCK
        out["vsock"] = 0
    except OSError as exc:
        out["vsock"] = -(exc.errno or 0)
    status = proc_status()
    out["seccomp_mode"] = int(status["Seccomp"])
    out["no_new_privs"] = int(status["NoNewPrivs"])
    return out


@pytest.mark.root
@needs_known_arch
def test_default_filter_blocks_what_docker_blocks() -> None:
    got = run_forked(lambda: _probe(caps.DOCKER_DEFAULT))
    assert got == {
        "unshare_ns": -errno.EPERM,  # we are root with CAP_SYS_ADMIN: the filter refuses it
        "keyctl": -errno.EPERM,
        "personality_query": 0,
        "personality_other": -errno.EPERM,
        "clone3": -errno.ENOSYS,  # so libc falls back to clone
        "clone_newuts": -errno.EPERM,
        "fork": 7,
        "vsock": -errno.EPERM,
        "seccomp_mode": 2,
        "no_new_privs": 0,  # libseccomp's default turned off
    }


@pytest.mark.root
@needs_known_arch
def test_sys_admin_unlocks_the_namespace_syscalls() -> None:
    got = run_forked(lambda: _probe((*caps.DOCKER_DEFAULT, "CAP_SYS_ADMIN")))
    assert got["unshare_ns"] == 0
    assert got["clone_newuts"] == 1
    assert got["clone3"] == -errno.EINVAL  # reaches the kernel, which refuses a zero-sized clone_args
    assert got["keyctl"] == -errno.EPERM  # never allowed


@pytest.mark.root
@pytest.mark.skipif(not os.path.exists("/bin/busybox"), reason="needs /bin/busybox")
def test_a_filtered_child_execs_busybox() -> None:
    bpf = seccomp.default_filter_bpf(caps.DOCKER_DEFAULT)
    status, out = fork_exec(lambda: seccomp.load(bpf), ["/bin/busybox", "sh", "-c", "true && echo ok; unshare -m true"])
    assert out.splitlines()[0] == "ok"
    assert "Operation not permitted" in out
    assert os.waitstatus_to_exitcode(status) != 0  # the unshare failed
