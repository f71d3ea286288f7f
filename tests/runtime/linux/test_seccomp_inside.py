"""Seccomp seen from inside a running container, through the docker CLI and the private engine.

Under the default profile `keyctl`, `add_key`, `unshare(CLONE_NEWUSER)`, `kexec_load` and
`open_by_handle_at` fail with EPERM (the profile's errno); with `seccomp=unconfined` the same
calls reach the kernel, which answers otherwise (success, ENOSYS without kexec, EFAULT for a
NULL handle), and /proc/self/status says Seccomp 0. A static probe built here with gcc is
copied into the container with `docker cp` (busybox makes none of these calls).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.runtime.api.containers_env import docker_env, private_engine, remove_all_containers
from tests.runtime.api.containers_env import run as docker

pytestmark = [pytest.mark.root, pytest.mark.timeout(120)]
__all__ = ["docker_env", "private_engine"]
CALLS = ("keyctl", "add_key", "unshare", "kexec_load", "open_by_handle_at")
SOURCE = Path(__file__).with_name("syscall_probe.c")


@pytest.fixture(scope="module")
def probe(tmp_path_factory: pytest.TempPathFactory) -> Path:
    gcc = shutil.which("gcc")
    if gcc is None:
        pytest.skip("gcc is not installed: the syscall probe cannot be built")
    out = tmp_path_factory.mktemp("probe") / "probe"
    built = subprocess.run([gcc, "-static", "-O1", "-o", str(out), str(SOURCE)], capture_output=True, text=True)
    if built.returncode != 0 and "cannot find -lc" in built.stderr:
        pytest.skip("no static libc (libc6-dev) for gcc -static")
    assert built.returncode == 0, built.stderr
    return out


def results(env: dict[str, str], probe: Path, *options: str) -> tuple[dict[str, str], str]:
    try:
        docker(env, "create", "--name", "probed", *options, "busybox", "sleep", "1000")
        docker(env, "cp", str(probe), "probed:/probe")
        docker(env, "start", "probed")
        lines = docker(env, "exec", "probed", "/probe", *CALLS).stdout.decode().splitlines()
        status = docker(env, "exec", "probed", "grep", "^Seccomp:", "/proc/self/status").stdout.decode()
    finally:
        remove_all_containers(env)
    return {line.split()[0]: line.split()[2] for line in lines}, status.split()[1]


def test_default_profile_blocks_them(docker_env: dict[str, str], probe: Path) -> None:
    got, mode = results(docker_env, probe)
    assert mode == "2"  # filter mode
    assert got == dict.fromkeys(CALLS, "EPERM")


def test_unconfined_lets_them_reach_the_kernel(docker_env: dict[str, str], probe: Path) -> None:
    got, mode = results(docker_env, probe, "--security-opt", "seccomp=unconfined")
    assert mode == "0"
    assert all(got[call] != "EPERM" for call in CALLS), got
    assert got["keyctl"] == got["add_key"] == got["unshare"] == "OK", got


def test_a_capability_opens_what_the_profile_ties_to_it(docker_env: dict[str, str], probe: Path) -> None:
    got, _ = results(docker_env, probe, "--cap-add", "SYS_ADMIN", "--cap-add", "DAC_READ_SEARCH")
    assert got["unshare"] == "OK" and got["open_by_handle_at"] != "EPERM", got
    assert got["keyctl"] == got["add_key"] == got["kexec_load"] == "EPERM", got
