"""An sshd of the test's own, in a network namespace of its own, reachable over a veth pair.

`ip netns add`, a veth pair with a private /30 (the host side .1, the
namespace side .2), Debian's sshd `-D -f <own config>` listening on .2 with a
host key and an authorized key the test made, its sessions given PATH and
DOCKER_HOST (sshd's SetEnv) so the far side's `pycompose`/`docker system
dial-stdio` reach the engine named. A `ssh` wrapper first on PATH adds
`-F <own client config>` (identity, known_hosts): ssh reads ~/.ssh from the
password database, not $HOME, and the test must not touch root's.
Everything goes at the end: sshd stopped, the namespace (and with it the veth pair) deleted.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

SSHD = shutil.which("sshd") or "/usr/sbin/sshd"


@dataclass(frozen=True)
class FarHost:
    address: str
    bin_dir: Path  # put first on PATH: holds the `ssh` wrapper


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


@contextmanager
def sshd_in_netns(tmp: Path, docker_host: str, far_path: str) -> Iterator[FarHost]:
    tag = f"{random.randrange(16**5):05x}"
    ns, host_if, ns_if = f"pycssh{tag}", f"pycsh{tag}h", f"pycsh{tag}n"
    octet, quad = random.randrange(256), random.randrange(64) * 4
    near, far = f"10.213.{octet}.{quad + 1}", f"10.213.{octet}.{quad + 2}"
    tmp.mkdir(parents=True, exist_ok=True)
    for name in ("host_key", "id_ed25519"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp / name)], check=True)
    (tmp / "authorized_keys").write_text((tmp / "id_ed25519.pub").read_text())
    host_pub = (tmp / "host_key.pub").read_text().split()
    (tmp / "known_hosts").write_text(f"{far} {host_pub[0]} {host_pub[1]}\n")
    (tmp / "sshd_config").write_text(
        f"ListenAddress {far}\nPort 22\nHostKey {tmp / 'host_key'}\nAuthorizedKeysFile {tmp / 'authorized_keys'}\n"
        f"PidFile {tmp / 'sshd.pid'}\nPermitRootLogin prohibit-password\nPasswordAuthentication no\n"
        "KbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\n"
        f"SetEnv PATH={far_path} DOCKER_HOST={docker_host}\n")
    (tmp / "ssh_config").write_text(
        f"Host {far}\n  IdentityFile {tmp / 'id_ed25519'}\n  IdentitiesOnly yes\n"
        f"  UserKnownHostsFile {tmp / 'known_hosts'}\n  StrictHostKeyChecking yes\n  BatchMode yes\n")
    bin_dir = tmp / "bin"
    bin_dir.mkdir()
    wrapper = bin_dir / "ssh"
    wrapper.write_text(f"#!/bin/sh\nexec /usr/bin/ssh -F {tmp / 'ssh_config'} \"$@\"\n")
    wrapper.chmod(0o755)
    os.makedirs("/run/sshd", mode=0o755, exist_ok=True)  # sshd's privilege separation directory
    sshd: subprocess.Popen[bytes] | None = None
    _ip("netns", "add", ns)
    try:
        _ip("link", "add", host_if, "type", "veth", "peer", "name", ns_if, "netns", ns)
        _ip("addr", "add", f"{near}/30", "dev", host_if)
        _ip("link", "set", host_if, "up")
        _ip("-n", ns, "addr", "add", f"{far}/30", "dev", ns_if)
        _ip("-n", ns, "link", "set", ns_if, "up")
        _ip("-n", ns, "link", "set", "lo", "up")
        with open(tmp / "sshd.log", "wb") as log:
            sshd = subprocess.Popen(["ip", "netns", "exec", ns, SSHD, "-D", "-e", "-f", str(tmp / "sshd_config")],
                                    stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        _wait_listening(ns, far, sshd, tmp / "sshd.log")
        yield FarHost(far, bin_dir)
    finally:
        if sshd is not None:
            sshd.terminate()
            try:
                sshd.wait(10)
            except subprocess.TimeoutExpired:
                sshd.kill()
                sshd.wait()
        subprocess.run(["ip", "link", "del", host_if], capture_output=True, check=False)
        _ip("netns", "del", ns)


def _wait_listening(ns: str, address: str, sshd: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if sshd.poll() is not None:
            raise AssertionError(f"sshd exited {sshd.returncode}: {log.read_text(errors='replace')}")
        out = subprocess.run(["ip", "netns", "exec", ns, "ss", "-Hltn", f"src {address}:22"],
                             capture_output=True, text=True, check=False).stdout
        if out.strip():
            return
        time.sleep(0.05)
    raise AssertionError(f"sshd did not listen on {address}:22: {log.read_text(errors='replace')}")
