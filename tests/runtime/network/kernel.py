"""Test helpers for real kernel objects: named netns, free subnets, a prefix per test.

Every object carries a `pyct…` prefix (the leak check looks for `pyc*`), and
traffic only goes to loopback and to addresses inside the netns made here.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import time
from ipaddress import IPv4Interface, IPv4Network
from pathlib import Path

from runtime.network.bridge import read_host_routes

BUSYBOX = "/bin/busybox"


def random_prefix() -> str:
    """Seven characters like an engine's prefix: room for `br<n>` and `v<id>`."""
    return "pyct" + secrets.token_hex(2)[:3]


def free_subnets(count: int) -> list[IPv4Network]:
    """Random 10.x.y.0/24 subnets that no host route (ours or anybody's) overlaps."""
    routes = read_host_routes()
    found: list[IPv4Network] = []
    while len(found) < count:
        b = secrets.randbelow(200) + 30
        c = secrets.randbelow(256)
        net = IPv4Network(f"10.{b}.{c}.0/24")
        if not any(net.overlaps(r) for r in [*routes, *found]):
            found.append(net)
    return found


def host_address() -> str:
    """The host's first global IPv4 address that is not on one of our links."""
    out = subprocess.run(["ip", "-4", "-o", "addr", "show", "scope", "global"], capture_output=True, text=True,
                         check=True).stdout
    for line in out.splitlines():
        cols = line.split()
        if not cols[1].startswith("pyc"):
            return str(IPv4Interface(cols[3]).ip)
    raise AssertionError("no global IPv4 address on this host")


class Netns:
    """A named network namespace `pyctest<hex>`; `close` kills what runs in it and deletes it."""

    def __init__(self) -> None:
        self.name = "pyctest" + secrets.token_hex(3)
        subprocess.run(["ip", "netns", "add", self.name], check=True)
        self.path = f"/run/netns/{self.name}"

    def run(self, *args: str, timeout: float = 10, check: bool = False) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["ip", "netns", "exec", self.name, *args], capture_output=True, text=True,
                              timeout=timeout, check=check)

    def spawn(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(["ip", "netns", "exec", self.name, *args], stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def ping(self, address: str) -> bool:
        return self.run(BUSYBOX, "ping", "-c1", "-W1", address, timeout=5).returncode == 0

    def close(self) -> None:
        pids = subprocess.run(["ip", "netns", "pids", self.name], capture_output=True, text=True).stdout.split()
        for pid in pids:
            try:
                os.kill(int(pid), signal.SIGKILL)
            except ProcessLookupError:
                continue
        for _ in range(100):
            if not any(Path(f"/proc/{p}").exists() for p in pids):
                break
            time.sleep(0.01)
        subprocess.run(["ip", "netns", "delete", self.name], check=False, capture_output=True)
