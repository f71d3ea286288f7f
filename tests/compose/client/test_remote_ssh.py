"""ssh:// to an sshd in a network namespace of the test's own: `up`, `ps`, `logs` and `down` of a
project on the far engine (a private engine of this module, reached on the far side by `pycompose
system dial-stdio` through its socket on the shared filesystem)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.compose.cli.engines import busybox_engine
from tests.compose.client.sshd_netns import FarHost, sshd_in_netns
from tests.engine_fixture import EngineHandle

pytestmark = pytest.mark.root
PYCOMPOSE = str(Path(sys.executable).parent / "pycompose")


@pytest.fixture(scope="module")
def far_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EngineHandle]:
    with busybox_engine(tmp_path_factory.mktemp("far")) as (handle, _):
        yield handle


@pytest.fixture(scope="module")
def far(tmp_path_factory: pytest.TempPathFactory, far_engine: EngineHandle) -> Iterator[FarHost]:
    for tool in ("ssh", "ssh-keygen"):
        if shutil.which(tool) is None:
            pytest.skip(f"no {tool} on PATH (openssh-client)")
    if not Path("/usr/sbin/sshd").exists() and shutil.which("sshd") is None:
        pytest.skip("no sshd (Debian's openssh-server: scripts/setup.sh installs it)")
    far_path = os.pathsep.join([str(Path(sys.executable).parent), "/usr/local/bin", "/usr/bin", "/bin"])
    with sshd_in_netns(tmp_path_factory.mktemp("sshd"), far_engine.host, far_path) as host:
        yield host


def env(far: FarHost, home: Path, **extra: str) -> dict[str, str]:
    return {"PATH": os.pathsep.join([str(far.bin_dir), os.environ.get("PATH", "/usr/bin:/bin")]),
            "HOME": str(home), "LANG": "C.UTF-8", "DOCKER_CONFIG": str(home / ".docker"),
            "PYCOMPOSE_CLI_DIR": os.environ["PYCOMPOSE_CLI_DIR"], **extra}


def run(argv: list[str], environ: dict[str, str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, env=environ, capture_output=True, text=True, timeout=120, check=False, cwd=cwd)


def ok(argv: list[str], environ: dict[str, str], cwd: Path | None = None) -> str:
    result = run(argv, environ, cwd)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_project_on_the_far_engine(far: FarHost, far_engine: EngineHandle, tmp_path: Path) -> None:
    environ = env(far, tmp_path)
    ssh_host = f"ssh://root@{far.address}"
    project = tmp_path / "proj"
    project.mkdir()
    (project / "compose.yaml").write_text(
        "services:\n  app:\n    image: busybox\n    command: [sh, -c, 'echo hello from afar; sleep 60']\n"
        "    init: true\n")
    base = [PYCOMPOSE, "-H", ssh_host, "-p", "sshproj"]
    ok([*base, "up", "-d"], environ, project)
    try:
        assert "sshproj-app-1" in ok([*base, "ps"], environ, project)
        assert "hello from afar" in ok([*base, "logs", "app"], environ, project)
        # the project is on the far engine indeed: its own socket sees it
        names = ok([PYCOMPOSE, "container", "ls", "--format", "{{.Names}}"],
                   {**environ, "DOCKER_HOST": far_engine.host})
        assert "sshproj-app-1" in names.split()
        # DOCKER_HOST=ssh://… and the blocking client (container run) too
        assert ok([PYCOMPOSE, "container", "run", "--rm", "busybox", "echo", "blocking"],
                  {**environ, "DOCKER_HOST": f"ssh://{far.address}"}) == "blocking\n"
    finally:
        ok([*base, "down", "-t", "1"], environ, project)
    assert "sshproj" not in ok([PYCOMPOSE, "-H", ssh_host, "container", "ls", "-a"], environ)


def test_docker_cli_over_ssh(far: FarHost, tmp_path: Path) -> None:
    docker = shutil.which("docker")
    if docker is None:
        pytest.skip("no docker CLI on PATH")
    environ = env(far, tmp_path)
    out = ok([docker, "-H", f"ssh://root@{far.address}", "run", "--rm", "busybox", "echo", "docker afar"], environ)
    assert out == "docker afar\n"


def test_unreachable_ssh_is_one_line(far: FarHost, tmp_path: Path) -> None:
    result = run([PYCOMPOSE, "-H", "ssh://nobody@" + far.address, "container", "ls"], env(far, tmp_path))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.splitlines()[-1].startswith("Cannot connect to the Docker daemon at ssh://"), result.stderr
