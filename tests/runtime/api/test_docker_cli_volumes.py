"""Volumes through the docker CLI against a private engine: the volume commands, and volumes used by containers.

The container tests check that the container manager uses the volume store
(containers count as users, new volumes are populated from the image).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.compose.cli.engines import DOCKER, busybox_engine_in_tmp, remove_containers_then
from tests.compose.cli.engines import docker_cli as docker
from tests.compose.cli.engines import docker_out as out
from tests.engine_fixture import EngineHandle

pytestmark = [pytest.mark.root, pytest.mark.timeout(120)]

ANON = "com.docker.volume.anonymous"


@pytest.fixture(scope="module")
def module_engine() -> Iterator[EngineHandle]:
    if DOCKER is None:
        pytest.skip("no docker CLI on PATH")
    with busybox_engine_in_tmp("pyc-voldocker-") as handle:
        yield handle


@pytest.fixture
def engine(module_engine: EngineHandle) -> Iterator[EngineHandle]:
    yield module_engine
    remove_containers_then(module_engine, "volume", "prune", "--all", "--force", volumes=True)


def mounted_under(path: Path) -> list[str]:
    points = (line.split()[4] for line in Path("/proc/self/mountinfo").read_text().splitlines())
    return [p for p in points if p.startswith(str(path))]


def users_counted(handle: EngineHandle, name: str) -> bool:
    return name in out(handle, "volume", "ls", "-q", "-f", "dangling=false").split()


def test_volume_commands(engine: EngineHandle) -> None:
    assert out(engine, "volume", "create", "--label", "a=b", "named") == "named\n"
    anon = out(engine, "volume", "create").strip()
    assert len(anon) == 64
    assert out(engine, "volume", "inspect", "-f", "{{.Labels}} {{.Scope}} {{.Driver}}", "named", anon) == \
        f"map[a:b] local local\nmap[{ANON}:] local local\n"
    assert out(engine, "volume", "ls", "--format", "{{.Name}}", "-f", "label=a") == "named\n"
    missing = docker(engine, "volume", "inspect", "nope", check=False)
    assert missing.returncode == 1 and "Error response from daemon: get nope: no such volume" in missing.stderr
    bad = docker(engine, "volume", "create", "-o", "foo=bar", "x1", check=False)
    assert bad.returncode == 1 and 'create x1: invalid option: "foo"' in bad.stderr
    assert out(engine, "volume", "prune", "-f").startswith(f"Deleted Volumes:\n{anon}\n")
    assert out(engine, "volume", "rm", "named") == "named\n"
    assert out(engine, "volume", "ls", "-q") == ""


def test_a_volume_in_use_cannot_be_removed(engine: EngineHandle) -> None:
    container = out(engine, "create", "-v", "used:/data", "busybox", "true").strip()
    assert users_counted(engine, "used"), "a container using a volume must count as its user"
    refused = docker(engine, "volume", "rm", "-f", "used", check=False)
    assert refused.returncode == 1
    assert f"Error response from daemon: remove used: volume is in use - [{container}]" in refused.stderr
    assert "used" not in out(engine, "volume", "prune", "-a", "-f")
    docker(engine, "rm", container)
    assert out(engine, "volume", "ls", "-q", "-f", "dangling=true") == "used\n"
    assert out(engine, "volume", "rm", "used") == "used\n"


def test_anonymous_volumes_go_with_rm_v(engine: EngineHandle) -> None:
    container = out(engine, "create", "-v", "/data", "busybox", "true").strip()
    (anon,) = out(engine, "volume", "ls", "-q").split()
    assert users_counted(engine, anon), "a container using a volume must count as its user"
    assert out(engine, "volume", "inspect", "-f", "{{json .Labels}}", anon) == f'{{"{ANON}":""}}\n'
    docker(engine, "rm", "-v", container)
    assert out(engine, "volume", "ls", "-q") == ""
    assert out(engine, "run", "--rm", "-v", "/scratch", "busybox", "true") == ""
    assert out(engine, "volume", "ls", "-q") == ""


def test_a_new_volume_gets_the_images_content_once(engine: EngineHandle) -> None:
    text = out(engine, "run", "--rm", "-v", "seeded:/etc", "busybox", "cat", "/etc/passwd")
    assert text.startswith("root:x:0:0:")
    assert out(engine, "run", "--rm", "-v", "private:/root", "busybox", "stat", "-c", "%a %u", "/root") == "700 0\n"
    # Emptied, it stays empty: only a volume never seen with data is filled.
    # (Emptied through another path: /etc holds the engine's hosts/hostname/resolv.conf binds.)
    docker(engine, "run", "--rm", "-v", "seeded:/x", "busybox", "sh", "-c", "rm -rf /x/*")
    assert out(engine, "run", "--rm", "-v", "seeded:/etc", "busybox", "sh", "-c",
               "test -e /etc/passwd || echo gone") == "gone\n"
    assert out(engine, "run", "--rm", "-v", "bare:/etc:nocopy", "busybox", "sh", "-c",
               "test -e /etc/passwd || echo gone") == "gone\n"


def test_tmpfs_volume_mounted_for_containers_and_unmounted_on_rm(engine: EngineHandle) -> None:
    docker(engine, "volume", "create", "-o", "type=tmpfs", "-o", "device=tmpfs", "-o", "o=size=1m", "fast")
    data = engine.root / "volumes" / "fast" / "_data"
    assert mounted_under(data) == []
    seen = out(engine, "run", "--rm", "-v", "fast:/data", "busybox", "sh", "-c",
               "echo hi > /data/f && grep ' /data ' /proc/mounts")
    assert seen.startswith("tmpfs /data tmpfs ")
    assert mounted_under(data) == [str(data)]
    assert out(engine, "run", "--rm", "-v", "fast:/data", "busybox", "cat", "/data/f") == "hi\n"
    assert out(engine, "volume", "rm", "fast") == "fast\n"
    assert mounted_under(data) == [] and not data.exists()
