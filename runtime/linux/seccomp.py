"""The default seccomp filter: planned from our profile (pure), compiled once by libseccomp, loaded by ctypes.

The engine (or supervisor) calls `default_filter_bpf(caps)` to get the raw
`struct sock_filter` program for a container's capability set, compiled
through pyseccomp and cached per set of profile-relevant caps. The child
hands the bytes to `load()` right before exec, while it still holds
CAP_SYS_ADMIN (we turn libseccomp's no_new_privs attribute off: a
container gets no_new_privs only when it asks for it). The filter allows
capget/capset/prctl/setuid/setgroups, so dropping caps after `load()` works.

pyseccomp is imported lazily: importing it costs about 8 ms.
"""

from __future__ import annotations

import ctypes
import errno
import functools
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PROFILE = Path(__file__).with_name("seccomp_profile.json")

SECCOMP_SET_MODE_FILTER = 1
SECCOMP_FILTER_FLAG_TSYNC = 1
SECCOMP_FILTER_FLAG_LOG = 2
SECCOMP_FILTER_FLAG_SPEC_ALLOW = 4
_PR_SET_SECCOMP = 22
_SECCOMP_MODE_FILTER = 2
_NR_SECCOMP = {"x86_64": 317, "aarch64": 277, "riscv64": 277, "loongarch64": 277, "s390x": 348, "ppc64le": 358,
               "i686": 354, "i386": 354, "armv7l": 383}
_SOCK_FILTER_SIZE = 8  # u16 code, u8 jt, u8 jf, u32 k


# -- plan (pure) -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cmp:
    """One argument test: `op` in lt/le/eq/ne/ge/gt/masked_eq; masked_eq tests (arg & mask) == value."""

    arg: int
    op: str
    value: int
    mask: int = 0


@dataclass(frozen=True)
class Rule:
    syscall: str
    action: str  # "allow" or "errno"
    errno: int = 0
    cmps: tuple[Cmp, ...] = ()  # all must hold (libseccomp ANDs the comparisons of one rule)


@dataclass(frozen=True)
class Plan:
    default_errno: int
    compat_arches: tuple[str, ...]
    rules: tuple[Rule, ...]
    numbers: Mapping[str, int]  # raw numbers for names libseccomp may not know (native arch only)


def load_profile(path: Path = PROFILE) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def _errno(name: str) -> int:
    value = getattr(errno, name, None)
    if not isinstance(value, int):
        raise ValueError(f"seccomp profile: unknown errno {name!r}")
    return value


def profile_caps(profile: Mapping[str, Any]) -> frozenset[str]:
    """The capabilities that change the filter: the cache key keeps only these."""
    caps = set(profile.get("allow_with_cap", {}))
    caps.update(e["unless_cap"] for e in profile.get("errno_without_cap", ()))
    caps.update(e["unless_cap"] for e in profile.get("allow_when", ()) if e.get("unless_cap"))
    return frozenset(caps)


def plan(profile: Mapping[str, Any], capabilities: Sequence[str] | frozenset[str], machine: str) -> Plan:
    """The rules of the filter for a container holding `capabilities` on a `machine` (uname -m)."""
    caps = set(capabilities)
    allowed = set(profile["allow"]) | set(profile.get("allow_on_arch", {}).get(machine, ()))
    for cap, names in profile.get("allow_with_cap", {}).items():
        if cap in caps:
            allowed.update(names)
    rules = [Rule(name, "allow") for name in sorted(allowed)]
    for entry in profile.get("errno_without_cap", ()):
        if entry["unless_cap"] not in caps and entry["syscall"] not in allowed:
            rules.append(Rule(entry["syscall"], "errno", _errno(entry["errno"])))
    for entry in profile.get("allow_when", ()):
        if entry.get("unless_cap") in caps or entry["syscall"] in allowed:
            continue  # unconditionally allowed already
        arg_override = entry.get("arg_on_arch", {}).get(machine)
        for test in entry["any"]:
            cmp = Cmp(test["arg"] if arg_override is None else arg_override, test["op"], test["value"],
                      test.get("mask", 0))
            rules.append(Rule(entry["syscall"], "allow", cmps=(cmp,)))
    numbers = dict(profile.get("numbers", {}))
    numbers.update(profile.get("numbers_on_arch", {}).get(machine, {}))
    return Plan(_errno(profile["default_errno"]), tuple(profile.get("compat_arches", {}).get(machine, ())),
                tuple(rules), numbers)


# -- compile (libseccomp) ----------------------------------------------------------------------


def default_filter_bpf(capabilities: Sequence[str]) -> bytes:
    """The default profile's BPF program for a container with `capabilities`, compiled once per relevant set."""
    names = {c.upper() if c.upper().startswith("CAP_") else "CAP_" + c.upper() for c in capabilities}
    relevant = frozenset(names) & _profile_caps()
    return _compiled(relevant)


@functools.lru_cache(maxsize=1)
def _profile_caps() -> frozenset[str]:
    return profile_caps(load_profile())


@functools.lru_cache(maxsize=32)
def _compiled(caps: frozenset[str]) -> bytes:
    return compile_bpf(plan(load_profile(), caps, os.uname().machine))


def compile_bpf(the_plan: Plan) -> bytes:
    """Compile a plan with libseccomp: native arch (with raw numbers) merged with the compat arches (names only)."""
    import pyseccomp as sc

    arches = {"x86": sc.Arch.X86, "x32": sc.Arch.X32, "arm": sc.Arch.ARM, "s390": sc.Arch.S390}
    ops = {"lt": sc.LT, "le": sc.LE, "eq": sc.EQ, "ne": sc.NE, "ge": sc.GE, "gt": sc.GT, "masked_eq": sc.MASKED_EQ}

    def new_filter() -> Any:
        f = sc.SyscallFilter(sc.ERRNO(the_plan.default_errno))
        f.set_attr(sc.Attr.CTL_NNP, 0)
        f.set_attr(sc.Attr.ACT_BADARCH, sc.KILL_PROCESS)
        # A binary tree over syscall numbers, not a linear chain: the same decisions, and the kernel's
        # load (it emulates the filter for every syscall number to build its cache) takes a third of the
        # time (5 -> 1.5 ms on these machines), on every birth and every exec; each syscall is cheaper too.
        f.set_attr(sc.Attr.CTL_OPTIMIZE, 2)
        return f

    def add_rules(f: Any, numbers: Mapping[str, int]) -> None:
        for rule in the_plan.rules:
            nr = sc.resolve_syscall(sc.Arch.NATIVE, rule.syscall)
            if nr == -1:  # __NR_SCMP_ERROR: this libseccomp does not know the name
                if rule.syscall not in numbers:
                    continue
                nr = numbers[rule.syscall]
            action = sc.ALLOW if rule.action == "allow" else sc.ERRNO(rule.errno)
            args = [sc.Arg(c.arg, ops[c.op], c.mask if c.op == "masked_eq" else c.value,
                           c.value if c.op == "masked_eq" else 0) for c in rule.cmps]
            f.add_rule(action, nr, *args)

    native = new_filter()
    add_rules(native, the_plan.numbers)
    compat = [arches[a] for a in the_plan.compat_arches if a in arches]
    if compat:
        extra = new_filter()
        for arch in compat:
            extra.add_arch(arch)
        extra.remove_arch(sc.Arch.NATIVE)
        add_rules(extra, {})  # libseccomp cannot translate raw numbers to another arch
        native.merge(extra)
    fd = os.memfd_create("pyc-seccomp-bpf", os.MFD_CLOEXEC)
    with open(fd, "w+b") as out:
        native.export_bpf(out)
        out.seek(0)
        return out.read()


# -- load (the child, right before exec) -------------------------------------------------------


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


_libc = ctypes.CDLL(None, use_errno=True)


def load(bpf: bytes, flags: int = 0) -> None:
    """Install `bpf` as this process's seccomp filter (needs CAP_SYS_ADMIN or no_new_privs already set)."""
    if not bpf or len(bpf) % _SOCK_FILTER_SIZE:
        raise ValueError(f"seccomp: {len(bpf)} bytes is not a sock_filter program")
    program = ctypes.create_string_buffer(bpf, len(bpf))
    fprog = _SockFprog(len(bpf) // _SOCK_FILTER_SIZE, ctypes.cast(program, ctypes.c_void_p))
    nr = _NR_SECCOMP.get(os.uname().machine)
    if nr is not None:
        res = _libc.syscall(ctypes.c_long(nr), ctypes.c_uint(SECCOMP_SET_MODE_FILTER), ctypes.c_uint(flags),
                            ctypes.byref(fprog))
    elif flags == 0:
        res = _libc.prctl(_PR_SET_SECCOMP, ctypes.c_ulong(_SECCOMP_MODE_FILTER), ctypes.byref(fprog),
                          ctypes.c_ulong(0), ctypes.c_ulong(0))
    else:
        raise OSError(errno.ENOSYS, f"seccomp: flags need the seccomp syscall, unknown on {os.uname().machine}")
    if res != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"seccomp(SECCOMP_SET_MODE_FILTER): {os.strerror(err)}")
