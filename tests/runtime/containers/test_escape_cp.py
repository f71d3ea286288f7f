"""The escape suite for `docker cp` both ways: symlinks to `/` and `../../`, a symlink to a host directory, and
a symlink swapped back and forth while copies run (CVE-2018-15664). Each test must fail to escape: what a copy
reads is the container's, what it writes lands in the container, never on the host."""

from __future__ import annotations

import io
import subprocess
import tarfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.engine_fixture import EngineHandle
from tests.runtime.api.containers_env import docker_env, private_engine, run

pytestmark = [pytest.mark.root, pytest.mark.timeout(180)]
__all__ = ["docker_env", "private_engine"]

SECRET = "HOST-SECRET-"


def _cli(env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = run(env, *args, check=check)
    return subprocess.CompletedProcess(done.args, done.returncode, done.stdout.decode(), done.stderr.decode())


def _name() -> str:
    return f"esc{uuid.uuid4().hex[:10]}"


@pytest.fixture
def host_secret(tmp_path: Path) -> Path:
    """A host file with a unique content; the containers make a file of the same path with their own."""
    secret = tmp_path / "secret.txt"
    secret.write_text(SECRET + uuid.uuid4().hex + "\n")
    return secret


@pytest.fixture(params=["running", "stopped"])
def container(request: pytest.FixtureRequest, docker_env: dict[str, str], host_secret: Path) -> Iterator[str]:
    """Symlinks to `/` and climbing with `..`, and the secret's path inside holding the container's own text."""
    name = _name()
    setup = (f"mkdir -p {host_secret.parent} && echo container > {host_secret} && ln -s / /tmp/root && "
             "ln -s ../../../../../../.. /tmp/up && ln -s ../../../../ /tmp/up2 && "
             f"ln -s {host_secret} /tmp/abs && ln -s ../../../../../..{host_secret} /tmp/rel")
    if request.param == "running":
        _cli(docker_env, "run", "-d", "--name", name, "--network", "none", "busybox", "sh", "-c",
             f"{setup} && touch /ready && sleep 300")
        for _ in range(100):
            if _cli(docker_env, "exec", name, "test", "-e", "/ready", check=False).returncode == 0:
                break
            time.sleep(0.05)
    else:
        _cli(docker_env, "run", "--name", name, "--network", "none", "busybox", "sh", "-c", setup)
    try:
        yield name
    finally:
        _cli(docker_env, "rm", "-f", name, check=False)


@pytest.mark.parametrize("link", ["/tmp/root", "/tmp/up", "/tmp/up2"])
def test_cp_out_through_a_symlink_reads_the_container(docker_env: dict[str, str], container: str, link: str,
                                                     host_secret: Path) -> None:
    got = _cli(docker_env, "cp", f"{container}:{link}{host_secret}", "-")
    with tarfile.open(fileobj=io.BytesIO(got.stdout.encode())) as tar:
        member = tar.extractfile("secret.txt")
        assert member is not None and member.read() == b"container\n"
    # -L follows the last link too: the stat's linkTarget, resolved in the container's root.
    for last in ("/tmp/abs", "/tmp/rel"):
        followed = _cli(docker_env, "cp", "-L", f"{container}:{last}", "-").stdout
        assert "container\n" in followed and SECRET not in followed


@pytest.mark.parametrize("link", ["/tmp/root", "/tmp/up"])
def test_cp_into_a_symlink_to_a_host_directory_stays_in_the_container(
        docker_env: dict[str, str], container: str, link: str, host_secret: Path, tmp_path: Path) -> None:
    source = tmp_path / "dropped.txt"
    source.write_text("dropped\n")
    before = sorted(p.name for p in host_secret.parent.iterdir())
    _cli(docker_env, "cp", str(source), f"{container}:{link}{host_secret.parent}/")
    assert sorted(p.name for p in host_secret.parent.iterdir()) == before
    got = _cli(docker_env, "cp", f"{container}:{host_secret.parent}/dropped.txt", "-")
    assert "dropped" in got.stdout


def test_a_symlink_swapped_during_copies_never_reaches_the_host(private_engine: EngineHandle,
                                                                docker_env: dict[str, str], host_secret: Path,
                                                                tmp_path: Path) -> None:
    import docker

    name = _name()
    target = tmp_path / "target"  # empty on the host; the container has it too
    target.mkdir()
    # /swap is, in turn, a real directory holding the same paths as the host and a symlink to `/`: a copy that
    # resolved /swap as the directory and then opened the path through the kernel would follow the symlink
    # swapped in meanwhile onto the host. Every read must answer "container" (or fail), never the host's text.
    loop = (f"mkdir -p /dswap{host_secret.parent} {host_secret.parent} /dswap{target} {target} && "
            f"echo container > /dswap{host_secret} && echo container > {host_secret} && touch /ready && "
            "while :; do mv /dswap /swap; mv /swap /dswap; ln -s / /swap; rm /swap; done")
    _cli(docker_env, "run", "-d", "--name", name, "--network", "none", "busybox", "sh", "-c", loop)
    client = docker.APIClient(base_url=private_engine.host)
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w") as tar:
        info = tarfile.TarInfo("raced.txt")
        info.size = 6
        tar.addfile(info, io.BytesIO(b"raced\n"))
    reads = writes = 0
    try:
        for _ in range(100):
            if _cli(docker_env, "exec", name, "test", "-e", "/ready", check=False).returncode == 0:
                break
            time.sleep(0.05)
        end = time.monotonic() + 4
        while time.monotonic() < end:
            try:
                chunks, _stat = client.get_archive(name, f"/swap{host_secret}")
                content = b"".join(chunks)
                assert SECRET.encode() not in content
                reads += 1
            except docker.errors.APIError:
                pass  # the link was mid-swap: a miss is fine, a host file is not
            try:
                client.put_archive(name, f"/swap{target}", data.getvalue())
                writes += 1
            except docker.errors.APIError:
                pass
            assert list(target.iterdir()) == []
    finally:
        client.close()
        _cli(docker_env, "rm", "-f", name, check=False)
    assert reads > 0 and writes > 0
