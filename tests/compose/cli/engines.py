"""Module-private engines for CLI tests: start one with busybox, stop it and its supervisor.

The image tests prune and remove images, so they cannot share the session
engine (other modules rely on its busybox). The supervisor outlives the
engine by design; a test that started an engine stops both.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

from tests.engine_fixture import EngineHandle, start_private_engine
from tests.runtime.images.busybox import build_busybox_rootfs_tar

PYCOMPOSE = str(Path(sys.executable).parent / "pycompose")


def stop_supervisor(root: Path) -> None:
    try:
        pid = int((root / "supervisor.pid").read_text().split()[0])
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError, IndexError):
        return
    if str(root).encode() not in cmdline:
        return  # a recycled pid, not ours
    os.kill(pid, signal.SIGTERM)
    for _ in range(100):
        if not Path(f"/proc/{pid}").exists():
            return
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)


def stop_engine(handle: EngineHandle) -> None:
    try:
        handle.stop()
    finally:
        stop_supervisor(handle.root)


def engine_with_busybox(tmp: Path) -> tuple[EngineHandle, Path]:
    """A private engine with `busybox:latest` (CMD ["sh"]) imported; also returns the rootfs tar."""
    handle = start_private_engine(tmp / "engine")
    try:
        rootfs = build_busybox_rootfs_tar(tmp / "busybox-rootfs.tar")
        import_busybox(handle, rootfs)
    except BaseException:
        stop_engine(handle)
        raise
    return handle, rootfs


def import_busybox(handle: EngineHandle, rootfs: Path, ref: str = "busybox:latest") -> None:
    """Through docker-py, not our CLI: the CLI is what is under test."""
    import docker

    repo, _, tag = ref.partition(":")
    client = docker.DockerClient(base_url=handle.host)
    try:
        client.api.import_image(src=str(rootfs), repository=repo, tag=tag or "latest", changes=['CMD ["sh"]'])
    finally:
        client.close()


def environ(handle: EngineHandle, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": "/tmp", "LANG": "C.UTF-8",
            **handle.docker_env, **(extra or {})}


def pycompose(handle: EngineHandle, *args: str, stdin: bytes | str | None = None,
              cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    data = stdin.encode() if isinstance(stdin, str) else stdin
    result = subprocess.run([PYCOMPOSE, *args], env=environ(handle), input=data, capture_output=True,
                            timeout=60, check=False, cwd=cwd)
    return subprocess.CompletedProcess(result.args, result.returncode, result.stdout.decode(errors="replace"),
                                       result.stderr.decode(errors="replace"))


def pycompose_bytes(handle: EngineHandle, *args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([PYCOMPOSE, *args], env=environ(handle), input=stdin, capture_output=True,
                          timeout=60, check=False)
