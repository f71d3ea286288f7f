"""Host devices a container must not open by default, and a way to try them from inside a cgroup or container."""

from __future__ import annotations

import os
from dataclasses import dataclass

from runtime.linux import cgroups
from runtime.linux.cgroups import Mounts


@dataclass(frozen=True)
class Probe:
    name: str
    type: str  # "c" or "b"
    major: int
    minor: int
    access: str = "r"  # how the script opens it: "r", or "w" (never writing a byte)


# Opened for writing: reading /dev/kmsg also needs CAP_SYSLOG when dmesg_restrict is set.
KMSG = Probe("kmsg", "c", 1, 11, "w")
TTY0 = Probe("tty0", "c", 4, 0)
NULL = Probe("null", "c", 1, 3)


def host_block_device() -> Probe:
    """A block device of this host: a loop device when there is one, else the first listed."""
    numbers = sorted(os.listdir("/sys/dev/block"), key=lambda n: (not n.startswith("7:"), n))
    assert numbers, "no block device on this host"
    major, minor = numbers[0].split(":")
    return Probe("block", "b", int(major), int(minor))


def forbidden() -> list[Probe]:
    """Outside Docker's default list: /dev/kmsg, a block device of the host, tty0."""
    return [KMSG, host_block_device(), TTY0]


def shell_script(probes: list[Probe]) -> str:
    """A busybox script: mknod each probe in /tmp and open it (dd, count=0, from a child: no controlling tty)."""
    lines = []
    for p in probes:
        lines.append(f"mknod /tmp/{p.name} {p.type} {p.major} {p.minor} || echo '{p.name} mknod-failed'")
        lines.append(open_line(p.name, f"/tmp/{p.name}", p.access))
    return "\n".join(lines)


def open_line(name: str, path: str, access: str = "r") -> str:
    """Script line: open `path` without reading or writing a byte; prints `name ok` or `name <dd's error>`."""
    dd = f"dd if={path} of=/dev/null count=0" if access == "r" else f"dd if=/dev/null of={path} count=0 conv=notrunc"
    return f"if {dd} 2>/tmp/{name}.err; then echo '{name} ok'; else echo \"{name} $(cat /tmp/{name}.err)\"; fi"


def outcomes(output: str) -> dict[str, str]:
    """The script's lines as {name: "ok" | the error}."""
    found = {}
    for line in output.splitlines():
        name, _, rest = line.partition(" ")
        found[name] = rest
    return found


def mounts_for(mode: str) -> Mounts:
    """This machine's hierarchies, arranged so that the device policy goes through `mode` ("v1" or "bpf")."""
    import pytest

    m = cgroups.current_mounts()
    if mode == "v1":
        if "devices" not in m.v1:
            pytest.skip("no v1 devices controller on this host (cgroup v2 only)")
        return m
    if m.unified is None:
        pytest.skip("no cgroup2 mount on this host for a BPF device program")
    return Mounts(m.layout, {c: p for c, p in m.v1.items() if c != "devices"}, m.unified)
