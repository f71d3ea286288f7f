"""Debian's dockerd (docker.io: 20.10, API 1.41), started by a test on paths of its own, and stopped.

The daemon gets its own socket, data root, exec root, pidfile and cgroup
parent (`pycdockerd-<n>`, so the session's leak check sees it too); it starts
its own managed containerd under the exec root. No bridge of its own
(`--bridge none`), and it changes nothing host-wide: no iptables rules, no
ip_forward, no masquerade. `stop()` ends it (SIGTERM: it stops its containerd
and shims), removes the empty cgroups it leaves, then the directories, and
`leftovers()` lists any process, mount, link or cgroup still carrying its
paths or names.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

DOCKERD = shutil.which("dockerd") or "/usr/sbin/dockerd"
CGROUP_ROOT = Path("/sys/fs/cgroup")


def missing() -> str | None:
    """Why dockerd cannot run here, or None."""
    if os.geteuid() != 0:
        return "dockerd needs root"
    if not Path(DOCKERD).exists():
        return "no dockerd (Debian's docker.io package is not installed: scripts/setup.sh installs it)"
    if not (shutil.which("containerd") and shutil.which("containerd-shim-runc-v2") and shutil.which("runc")):
        return "dockerd needs containerd, containerd-shim-runc-v2 and runc (docker.io's dependencies)"
    return None


@dataclass
class Dockerd:
    base: Path
    process: subprocess.Popen[bytes]
    cgroup: str

    @property
    def socket(self) -> Path:
        return self.base / "d.sock"

    @property
    def host(self) -> str:
        return f"unix://{self.socket}"

    def log(self) -> str:
        return (self.base / "log").read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for _ in range(50):  # containerd leaves with it; give its shims a moment
            if not self._processes():
                break
            time.sleep(0.1)
        for directory in sorted(CGROUP_ROOT.glob(f"*/{self.cgroup}"), reverse=True):
            for sub in sorted(directory.rglob("*"), key=lambda p: -len(p.parts)):
                if sub.is_dir():
                    with contextlib.suppress(OSError):
                        sub.rmdir()
            with contextlib.suppress(OSError):
                directory.rmdir()

    def remove(self) -> None:
        shutil.rmtree(self.base, ignore_errors=True)

    def _processes(self) -> list[str]:
        hits = []
        for pid in (p for p in os.listdir("/proc") if p.isdigit()):
            with contextlib.suppress(OSError):
                args = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                if str(self.base) in args:
                    hits.append(f"{pid} {args.strip()}")
        return hits

    def leftovers(self) -> list[str]:
        """Anything of this daemon's still on the machine."""
        out = self._processes()
        out += [line for line in Path("/proc/self/mountinfo").read_text().splitlines() if str(self.base) in line]
        out += [str(p) for p in CGROUP_ROOT.glob(f"*/{self.cgroup}")]
        return out


def start(base: Path, cgroup: str) -> Dockerd:
    """dockerd on `base`/d.sock; waits until it answers /_ping (raises with its log otherwise)."""
    for name in ("data", "exec"):
        (base / name).mkdir(parents=True, exist_ok=True)
    args = [DOCKERD, "--host", f"unix://{base}/d.sock", "--data-root", f"{base}/data",
            "--exec-root", f"{base}/exec", "--pidfile", f"{base}/d.pid", "--bridge", "none",
            "--iptables=false", "--ip6tables=false", "--ip-forward=false", "--ip-masq=false",
            "--cgroup-parent", cgroup, "--exec-opt", "native.cgroupdriver=cgroupfs", "--storage-driver", "overlay2"]
    log = open(base / "log", "wb")  # noqa: SIM115 - the daemon writes it for its lifetime
    process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                               start_new_session=True)
    log.close()
    daemon = Dockerd(base, process, cgroup)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        if daemon.socket.exists() and _pings(daemon.socket):
            return daemon
        time.sleep(0.1)
    daemon.stop()
    raise RuntimeError(f"dockerd did not come up (exit {process.poll()}):\n{daemon.log()}")


def _pings(path: Path) -> bool:
    import socket

    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        try:
            sock.connect(str(path))
            sock.sendall(b"GET /_ping HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n")
            return sock.recv(64).startswith(b"HTTP/1.1 200")
        except OSError:
            return False
