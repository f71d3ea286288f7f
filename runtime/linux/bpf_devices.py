"""The device policy on cgroup v2: a BPF_PROG_TYPE_CGROUP_DEVICE program, built here as bytecode.

cgroup v2 has no devices controller; the kernel asks the BPF programs
attached to a task's v2 cgroup (and its ancestors) on every mknod and open
of a device node, as runc and crun use it. This one is compiled from the
policy as v1 would keep it (`devices.effective`): each exception is a block
that returns the opposite of the default when type, access and numbers
match; falling off the end returns the default. It works on a hybrid
machine too: programs attach to the unified hierarchy whatever controllers
it has, and the kernel checks them before the v1 controller.

Once attached, the cgroup holds the program: our fd is closed at once,
and the program goes when the cgroup is removed. Little-endian machines
(x86_64, aarch64) only: the instruction's register nibbles are laid out so.
"""

from __future__ import annotations

import ctypes
import errno
import os
import struct

from runtime.linux import syscalls as sc
from runtime.linux.devices import Effective
from runtime.spec import DeviceRule

# bpf(2) commands, program and attach types (linux/bpf.h).
BPF_PROG_LOAD = 5
BPF_PROG_ATTACH = 8
BPF_PROG_GET_FD_BY_ID = 13
BPF_PROG_QUERY = 16
BPF_PROG_TYPE_CGROUP_DEVICE = 15
BPF_CGROUP_DEVICE = 6
BPF_F_ALLOW_MULTI = 2
# struct bpf_cgroup_dev_ctx: access_type = (BPF_DEVCG_ACC_* << 16) | BPF_DEVCG_DEV_*, major, minor.
_DEV_TYPE = {"b": 1, "c": 2}
_ACCESS = {"m": 1, "r": 2, "w": 4}
# Opcodes: class | op | source.
_LDXW = 0x61  # BPF_LDX | BPF_MEM | BPF_W
_AND32_K = 0x54  # BPF_ALU | BPF_AND | BPF_K
_RSH32_K = 0x74
_MOV32_K = 0xB4
_MOV32_X = 0xBC
_JEQ_K = 0x15  # BPF_JMP | BPF_JEQ | BPF_K
_JNE_K = 0x55
_EXIT = 0x95
LICENSE = b"Apache\0"
NAME = b"pyc_devices"


def _insn(code: int, dst: int = 0, src: int = 0, off: int = 0, imm: int = 0) -> bytes:
    """struct bpf_insn: opcode, dst and src register nibbles, a 16-bit offset, a 32-bit immediate."""
    return struct.pack("<BBhi", code, dst | (src << 4), off, imm)


def _mask(access: str) -> int:
    return sum(_ACCESS[c] for c in set(access))


def _block(rule: DeviceRule, default_allow: bool) -> list[tuple[int, int, int, int]]:
    """One exception as (code, dst, src, imm); a jump's offset is filled in as "to the next block"."""
    out: list[tuple[int, int, int, int]] = []
    if rule.type in _DEV_TYPE:
        out.append((_JNE_K, 2, 0, _DEV_TYPE[rule.type]))
    mask = _mask(rule.access)
    if default_allow:  # a deny exception: any requested access it names
        out += [(_MOV32_X, 1, 3, 0), (_AND32_K, 1, 0, mask), (_JEQ_K, 1, 0, 0)]
    elif mask != 7:  # an allow exception: every requested access must be in it
        out += [(_MOV32_X, 1, 3, 0), (_AND32_K, 1, 0, ~mask), (_JNE_K, 1, 0, 0)]
    if rule.major >= 0:
        out.append((_JNE_K, 4, 0, rule.major))
    if rule.minor >= 0:
        out.append((_JNE_K, 5, 0, rule.minor))
    out += [(_MOV32_K, 0, 0, 0 if default_allow else 1), (_EXIT, 0, 0, 0)]
    return out


def program(policy: Effective) -> bytes:
    """The program's instructions for `policy`."""
    code = [
        _insn(_LDXW, 2, 1, 0), _insn(_AND32_K, 2, imm=0xFFFF),  # r2 = device type
        _insn(_LDXW, 3, 1, 0), _insn(_RSH32_K, 3, imm=16),  # r3 = requested access
        _insn(_LDXW, 4, 1, 4), _insn(_LDXW, 5, 1, 8),  # r4 = major, r5 = minor
    ]  # fmt: skip
    for rule in policy.exceptions:
        block = _block(rule, policy.default_allow)
        for i, (op, dst, src, imm) in enumerate(block):
            jump = op in (_JNE_K, _JEQ_K)
            # Every conditional jump skips the rest of its block.
            code.append(_insn(op, dst, src, len(block) - i - 1 if jump else 0, imm))
    code += [_insn(_MOV32_K, 0, imm=1 if policy.default_allow else 0), _insn(_EXIT)]
    return b"".join(code)


class _ProgLoad(ctypes.Structure):
    _fields_ = [
        ("prog_type", ctypes.c_uint32), ("insn_cnt", ctypes.c_uint32), ("insns", ctypes.c_uint64),
        ("license", ctypes.c_uint64), ("log_level", ctypes.c_uint32), ("log_size", ctypes.c_uint32),
        ("log_buf", ctypes.c_uint64), ("kern_version", ctypes.c_uint32), ("prog_flags", ctypes.c_uint32),
        ("prog_name", ctypes.c_char * 16), ("prog_ifindex", ctypes.c_uint32),
        ("expected_attach_type", ctypes.c_uint32),
    ]  # fmt: skip


class _ProgAttach(ctypes.Structure):
    _fields_ = [(name, ctypes.c_uint32) for name in
                ("target_fd", "attach_bpf_fd", "attach_type", "attach_flags", "replace_bpf_fd")]


class _ProgQuery(ctypes.Structure):
    _fields_ = [
        ("target_fd", ctypes.c_uint32), ("attach_type", ctypes.c_uint32), ("query_flags", ctypes.c_uint32),
        ("attach_flags", ctypes.c_uint32), ("prog_ids", ctypes.c_uint64), ("prog_cnt", ctypes.c_uint32),
        ("_pad", ctypes.c_uint32),
    ]  # fmt: skip


class _GetById(ctypes.Structure):
    _fields_ = [("prog_id", ctypes.c_uint32), ("next_id", ctypes.c_uint32), ("open_flags", ctypes.c_uint32)]


def load(insns: bytes) -> int:
    """Load a cgroup device program; its fd (close-on-exec). A refusal carries the verifier's log."""
    code = ctypes.create_string_buffer(insns, len(insns))
    license_ = ctypes.create_string_buffer(LICENSE)
    attr = _ProgLoad(prog_type=BPF_PROG_TYPE_CGROUP_DEVICE, insn_cnt=len(insns) // 8,
                     insns=ctypes.addressof(code), license=ctypes.addressof(license_), prog_name=NAME,
                     expected_attach_type=BPF_CGROUP_DEVICE)
    try:
        return sc.bpf(BPF_PROG_LOAD, attr, "bpf(BPF_PROG_LOAD, cgroup device program)")
    except OSError as exc:
        if exc.errno != errno.EACCES and exc.errno != errno.EINVAL:
            raise
    log = ctypes.create_string_buffer(1 << 16)
    attr.log_level, attr.log_size, attr.log_buf = 1, len(log), ctypes.addressof(log)
    try:
        return sc.bpf(BPF_PROG_LOAD, attr, "bpf(BPF_PROG_LOAD)")
    except OSError as exc:
        text = log.value.decode(errors="replace").strip().splitlines()
        raise OSError(exc.errno, f"{exc.strerror}; verifier: {text[-1] if text else '(no log)'}") from None


def attach(cgroup_dir: str, policy: Effective) -> None:
    """Load the program for `policy` and attach it to the v2 cgroup at `cgroup_dir` (beside any others)."""
    prog = load(program(policy))
    try:
        target = os.open(cgroup_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            attr = _ProgAttach(target_fd=target, attach_bpf_fd=prog, attach_type=BPF_CGROUP_DEVICE,
                               attach_flags=BPF_F_ALLOW_MULTI)
            sc.bpf(BPF_PROG_ATTACH, attr, f"bpf(BPF_PROG_ATTACH, {cgroup_dir})")
        finally:
            os.close(target)
    finally:
        os.close(prog)


def attached(cgroup_dir: str) -> list[int]:
    """Ids of the device programs attached to this cgroup itself."""
    ids = (ctypes.c_uint32 * 64)()
    fd = os.open(cgroup_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        attr = _ProgQuery(target_fd=fd, attach_type=BPF_CGROUP_DEVICE, prog_ids=ctypes.addressof(ids),
                          prog_cnt=len(ids))
        sc.bpf(BPF_PROG_QUERY, attr, f"bpf(BPF_PROG_QUERY, {cgroup_dir})")
    finally:
        os.close(fd)
    return list(ids[: attr.prog_cnt])


def program_exists(prog_id: int) -> bool:
    """Whether the kernel still holds the program with this id (a removed cgroup frees its programs)."""
    try:
        fd = sc.bpf(BPF_PROG_GET_FD_BY_ID, _GetById(prog_id=prog_id), "bpf(BPF_PROG_GET_FD_BY_ID)")
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            return False
        raise
    os.close(fd)
    return True
