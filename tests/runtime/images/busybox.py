"""A busybox root filesystem tar from Debian's busybox-static (/bin/busybox), for test images."""

from __future__ import annotations

import io
import shutil
import subprocess
import tarfile
import time
from pathlib import Path

from runtime.images import ImageStore

BUSYBOX = Path("/bin/busybox")
PASSWD = "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
GROUP = "root:x:0:\nnobody:x:65534:\n"
DIRS = {
    "bin": 0o755, "sbin": 0o755, "usr": 0o755, "usr/bin": 0o755, "usr/sbin": 0o755, "etc": 0o755,
    "dev": 0o755, "proc": 0o755, "sys": 0o755, "tmp": 0o1777, "root": 0o700, "home": 0o755,
    "var": 0o755, "var/tmp": 0o1777, "run": 0o755, "lib": 0o755,
}


def busybox_available() -> bool:
    return BUSYBOX.is_file() and shutil.which("busybox") is not None


def _applets() -> list[str]:
    out = subprocess.run([str(BUSYBOX), "--list-full"], capture_output=True, text=True, check=True).stdout
    return sorted({line.strip() for line in out.splitlines() if line.strip() and line.strip() != "bin/busybox"})


def build_busybox_rootfs_tar(path: Path) -> Path:
    """Write a rootfs tar: /bin/busybox, one symlink per applet, passwd/group, the usual dirs."""
    mtime = int(time.time())

    def info(name: str, kind: bytes, mode: int, size: int = 0, link: str = "") -> tarfile.TarInfo:
        ti = tarfile.TarInfo(name)
        ti.type, ti.mode, ti.size, ti.mtime, ti.linkname = kind, mode, size, mtime, link
        return ti

    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tar:
        for name, mode in DIRS.items():
            tar.addfile(info(name, tarfile.DIRTYPE, mode))
        data = BUSYBOX.read_bytes()
        tar.addfile(info("bin/busybox", tarfile.REGTYPE, 0o755, len(data)), io.BytesIO(data))
        for applet in _applets():
            tar.addfile(info(applet, tarfile.SYMTYPE, 0o777, link="/bin/busybox"))
        for name, text in (("etc/passwd", PASSWD), ("etc/group", GROUP), ("etc/hostname", "busybox\n")):
            raw = text.encode()
            tar.addfile(info(name, tarfile.REGTYPE, 0o644, len(raw)), io.BytesIO(raw))
    return path


def import_busybox(store: ImageStore, rootfs_tar: Path, repo: str = "busybox", tag: str = "latest") -> str:
    """Import the rootfs tar as repo:tag with CMD ["sh"], as the busybox image has it; returns its ID."""
    with open(rootfs_tar, "rb") as f:
        return store.import_rootfs(f, repo, tag, ['CMD ["sh"]'])
