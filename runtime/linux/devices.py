"""Which devices a container may open: Docker's default policy, its additions, and the v1 controller.

A container with CAP_MKNOD can make any device node; what it can then open
is up to its device cgroup. dockerd hands runc a policy that denies all and
allows the standard nodes (`DOCKER_DEFAULT`), then the rules of
HostConfig.Devices and DeviceCgroupRules; runc appends its own allow list
(`RUNC_ALLOWED`: mknod of anything, the standard nodes, ptys, tun).
`--privileged` makes it "allow all". `policy` builds that list, in order.

The list is applied the way cgroup v1 reads it: rule after rule, each
written to devices.allow or devices.deny (`v1_writes`), the kernel keeping
a default (allow or deny) and exact-match exceptions. `effective` does the
same arithmetic in Python, which is what the cgroup v2 form compiles
(runtime/linux/bpf_devices.py): the two modes grant the same set.
`apply` picks the mode: v1 where the devices controller is mounted there,
else a BPF program on the v2 leaf.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import stat
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from runtime.linux.cgroup_files import write_value
from runtime.spec import DeviceNode, DeviceRule

DENY_ALL = DeviceRule(False)
ALLOW_ALL = DeviceRule(True)


def _c(major: int, minor: int, access: str = "rwm", allow: bool = True) -> DeviceRule:
    return DeviceRule(allow, "c", major, minor, access)


# moby oci.DefaultLinuxSpec: zero, null, urandom, random, tty, console; /dev/fuse denied unless a rule adds it.
DOCKER_DEFAULT: tuple[DeviceRule, ...] = (
    DENY_ALL, _c(1, 5), _c(1, 3), _c(1, 9), _c(1, 8), _c(5, 0), _c(5, 1), _c(10, 229, allow=False),
)
# runc specconv.AllowedDevices, appended after the engine's rules: mknod of any node, null, random,
# full, tty, zero, urandom, /dev/pts/*, ptmx and /dev/net/tun.
RUNC_ALLOWED: tuple[DeviceRule, ...] = (
    DeviceRule(True, "c", -1, -1, "m"), DeviceRule(True, "b", -1, -1, "m"),
    _c(1, 3), _c(1, 8), _c(1, 7), _c(5, 0), _c(1, 5), _c(1, 9), _c(136, -1), _c(5, 2), _c(10, 200),
)
_RULE = re.compile(r"([acb]) ([0-9]+|\*):([0-9]+|\*) ([rwm]{1,3})")
_MAX_NUMBER = 0xFFFFFFFF


def policy(privileged: bool, extra: Iterable[DeviceRule] = ()) -> tuple[DeviceRule, ...]:
    """The whole ordered rule list of a container; `extra` comes from --device and --device-cgroup-rule."""
    if privileged:
        return (ALLOW_ALL,)
    return (*DOCKER_DEFAULT, *extra, *RUNC_ALLOWED)


def parse_rule(text: str) -> DeviceRule:
    """One --device-cgroup-rule (`c 1:11 rwm`, `b *:* r`, `a`), with dockerd's messages."""
    match = _RULE.fullmatch("a *:* rwm" if text == "a" else text)
    if match is None:
        raise ValueError(f"invalid device cgroup rule format: '{text}'")
    kind, major, minor, access = match.groups()
    numbers = []
    for name, value in (("major", major), ("minor", minor)):
        number = -1 if value == "*" else int(value)
        if number > _MAX_NUMBER:
            raise ValueError(f"invalid {name} value in device cgroup rule format: '{text}'")
        numbers.append(number)
    return DeviceRule(True, kind, numbers[0], numbers[1], _access(access))


def _access(text: str) -> str:
    return "".join(c for c in "rwm" if c in text)


def valid_permissions(text: str) -> bool:
    """A --device's cgroup permissions: a composition of r, w and m, each at most once."""
    return bool(text) and len(set(text)) == len(text) and set(text) <= set("rwm")


def rule_text(rule: DeviceRule) -> str:
    """The rule as devices.allow/deny read it: `c 1:3 rwm`; type a is just `a`."""
    if rule.type == "a":
        return "a"
    major = "*" if rule.major < 0 else str(rule.major)
    minor = "*" if rule.minor < 0 else str(rule.minor)
    return f"{rule.type} {major}:{minor} {rule.access}"


def v1_writes(rules: Sequence[DeviceRule]) -> list[tuple[str, str]]:
    """(file, value) writes that put `rules` on a v1 devices cgroup, in order."""
    return [("devices.allow" if r.allow else "devices.deny", rule_text(r)) for r in rules]


# -- the kernel's arithmetic, for the v2 program ---------------------------------------------------


@dataclass(frozen=True)
class Effective:
    """A policy reduced as cgroup v1 keeps it: a default and the exceptions to it (allow rules when it denies)."""

    default_allow: bool
    exceptions: tuple[DeviceRule, ...]

    def permits(self, kind: str, major: int, minor: int, access: str) -> bool:
        """Whether an access ("r", "rw", "m"...) to a c/b device passes (security/device_cgroup.c)."""
        want = set(access)
        for ex in self.exceptions:
            if ex.type != kind or ex.major not in (-1, major) or ex.minor not in (-1, minor):
                continue
            if self.default_allow and want & set(ex.access):
                return False  # a deny exception that touches any requested access
            if not self.default_allow and want <= set(ex.access):
                return True  # an allow exception that covers all of it
        return self.default_allow


def effective(rules: Iterable[DeviceRule]) -> Effective:
    """Replay `rules` as devices.allow/deny writes to a fresh cgroup (which starts by allowing all).

    Type a resets the default and drops every exception; a rule that agrees
    with the default removes its access from the exception with exactly the
    same type and numbers; one against it adds an exception (merging access
    with an identical one).
    """
    default_allow = True
    table: dict[tuple[str, int, int], str] = {}
    for rule in rules:
        if rule.type == "a":
            default_allow, table = rule.allow, {}
            continue
        key = (rule.type, rule.major, rule.minor)
        if rule.allow == default_allow:
            left = "".join(c for c in table.get(key, "") if c not in rule.access)
            if left:
                table[key] = left
            else:
                table.pop(key, None)
        else:
            table[key] = _access(table.get(key, "") + rule.access)
    exceptions = tuple(DeviceRule(not default_allow, t, major, minor, access)
                       for (t, major, minor), access in table.items())
    return Effective(default_allow, exceptions)


# -- HostConfig.Devices -----------------------------------------------------------------------------


def from_host_path(host: str, inside: str, permissions: str) -> tuple[list[DeviceNode], list[DeviceRule]]:
    """moby's DevicesFromPath: a device node (symlinks followed) or every node under a directory.

    Raises ValueError with dockerd's message when there is none.
    """
    resolved = host
    if os.path.islink(host):
        resolved = os.path.realpath(host)
    try:
        node = _node(resolved, inside)
    except OSError as exc:
        raise ValueError(_gathering(host, _go_error(exc))) from None
    nodes = [node] if node is not None else []
    if node is None and os.path.isdir(resolved):
        for dirpath, dirnames, filenames in os.walk(resolved):
            dirnames.sort()
            for name in sorted(filenames):
                path = os.path.join(dirpath, name)
                with contextlib.suppress(OSError):
                    found = _node(path, inside + path[len(resolved):])
                    if found is not None:
                        nodes.append(found)
    if not nodes:
        raise ValueError(_gathering(host, "not a device node"))
    rules = [DeviceRule(True, n.type, n.major, n.minor, _access(permissions)) for n in nodes]
    return nodes, rules


def _node(path: str, inside: str) -> DeviceNode | None:
    st = os.lstat(path)
    if stat.S_ISCHR(st.st_mode):
        kind = "c"
    elif stat.S_ISBLK(st.st_mode):
        kind = "b"
    else:
        return None
    return DeviceNode(inside, kind, os.major(st.st_rdev), os.minor(st.st_rdev), stat.S_IMODE(st.st_mode),
                      st.st_uid, st.st_gid, path)


def _gathering(host: str, reason: str) -> str:
    return f'error gathering device information while adding custom device "{host}": {reason}'


def _go_error(exc: OSError) -> str:
    """An errno the way Go prints it: "no such file or directory"."""
    text = os.strerror(exc.errno) if exc.errno else str(exc)
    return text[:1].lower() + text[1:]


# -- effects ----------------------------------------------------------------------------------------


def apply(rules: Sequence[DeviceRule], v1_leaf: str | None, unified_leaf: str | None) -> str:
    """Put the policy on a fresh cgroup: "v1" (devices controller) or "bpf" (a program on the v2 leaf).

    A policy that allows everything needs nothing: a new cgroup inherits its parent's (ours allow all).
    """
    reduced = effective(rules)
    if reduced == Effective(True, ()):
        return "none"
    if v1_leaf is not None:
        for filename, value in v1_writes(rules):
            write_value(os.path.join(v1_leaf, filename), value)
        return "v1"
    if unified_leaf is not None:
        from runtime.linux import bpf_devices

        bpf_devices.attach(unified_leaf, reduced)
        return "bpf"
    raise OSError(errno.ENOENT, "device cgroup: neither a v1 devices controller nor a cgroup2 mount to confine devices")


def make_nodes(root: str, nodes: Sequence[DeviceNode]) -> None:
    """The --device nodes in the container, before pivot_root (a mknod, or a bind of the host's node)."""
    from runtime.linux import mounts

    for node in nodes:
        path = mounts.resolve_in_root(root, node.path)
        if os.path.lexists(path):
            continue  # as runc: what is there already stays
        kind = stat.S_IFBLK if node.type == "b" else stat.S_IFCHR
        mounts.make_device(path, node.major, node.minor, node.host_path, kind, node.mode)
        if not os.path.ismount(path):  # a bind of the host's node keeps the host's owner
            os.chown(path, node.uid, node.gid)

