"""`docker diff`, `docker commit` and `docker export` on the private engine, with the docker CLI and docker-py."""

from __future__ import annotations

import io
import json
import subprocess
import tarfile
import uuid
from collections.abc import Iterator

import pytest

from tests.engine_fixture import EngineHandle
from tests.runtime.api.containers_env import docker_env, private_engine, run
from tests.runtime.api.containers_env import run_text as _cli

pytestmark = [pytest.mark.root, pytest.mark.timeout(120)]
__all__ = ["docker_env", "private_engine"]


def _name() -> str:
    return f"sn{uuid.uuid4().hex[:10]}"


CHANGE = "mkdir /tmp/new && echo x > /tmp/new/f && echo y > /etc/passwd && rm /bin/ls && echo z > /added"


@pytest.fixture
def changed(docker_env: dict[str, str]) -> Iterator[str]:
    name = _name()
    _cli(docker_env, "run", "-d", "--name", name, "--network", "none", "busybox", "sh", "-c",
         f"{CHANGE} && sleep 300")
    for _ in range(50):
        if _cli(docker_env, "exec", name, "test", "-e", "/added", check=False).returncode == 0:
            break
    try:
        yield name
    finally:
        _cli(docker_env, "rm", "-f", name, check=False)


def test_docker_diff(docker_env: dict[str, str], changed: str) -> None:
    lines = _cli(docker_env, "diff", changed).stdout.splitlines()
    # /etc's own owner and mode are the image's (a copy-up keeps them): only its changed child is listed.
    # The parents of additions and deletions are changes; /etc/hosts and the like (mount points) are not.
    assert lines == ["A /added", "C /bin", "D /bin/ls", "C /etc/passwd", "C /tmp", "A /tmp/new", "A /tmp/new/f"]


def test_commit_then_run_sees_the_change(docker_env: dict[str, str], changed: str) -> None:
    repo = f"committed{uuid.uuid4().hex[:6]}"
    shown = _cli(docker_env, "commit", "-a", "Ann <a@x>", "-m", "a message", "-c", "ENV COMMITTED=yes",
                 "-c", 'CMD ["cat", "/added"]', "-c", "LABEL k=v", "-c", "WORKDIR /tmp", changed, f"{repo}:v1")
    assert shown.stdout.strip().startswith("sha256:")
    try:
        assert _cli(docker_env, "run", "--rm", "--network", "none", f"{repo}:v1").stdout == "z\n"
        seen = _cli(docker_env, "run", "--rm", "--network", "none", f"{repo}:v1", "sh", "-c",
                    "cat /tmp/new/f /etc/passwd; pwd; echo $COMMITTED; test -e /bin/ls || echo gone").stdout
        assert seen.split() == ["x", "y", "/tmp", "yes", "gone"]
        image = json.loads(_cli(docker_env, "image", "inspect", f"{repo}:v1").stdout)[0]
        assert image["Author"] == "Ann <a@x>" and image["Comment"] == "a message"
        assert image["Config"]["Labels"] == {"k": "v"}
        history = json.loads(_cli(docker_env, "history", "--format", "{{json .}}", "--no-trunc",
                                  f"{repo}:v1").stdout.splitlines()[0])
        assert history["Comment"] == "a message" and "sleep 300" in history["CreatedBy"]
        # The container went on running (paused only while its layer was read).
        state = json.loads(_cli(docker_env, "inspect", changed).stdout)[0]["State"]
        assert state["Running"] and not state["Paused"]
        bad = _cli(docker_env, "commit", "-c", "FROM busybox", changed, f"{repo}:bad", check=False)
        assert bad.returncode != 0 and "FROM is not a valid change command" in bad.stderr
    finally:
        _cli(docker_env, "rmi", f"{repo}:v1", check=False)


def test_export_is_the_merged_root(docker_env: dict[str, str], changed: str) -> None:
    for target in (changed, None):
        name = target
        if name is None:  # and a stopped one
            name = _name()
            _cli(docker_env, "run", "--name", name, "--network", "none", "busybox", "sh", "-c", CHANGE)
        try:
            data = run(docker_env, "export", name).stdout
            listed = subprocess.run(["tar", "t"], input=data, capture_output=True, check=True).stdout.decode()
            names = set(listed.split())
            assert {"added", "tmp/new/f", "bin/sh", "etc/passwd"} <= names
            assert "bin/ls" not in names
            with tarfile.open(fileobj=io.BytesIO(data)) as tar:
                member = tar.extractfile("etc/passwd")
                assert member is not None and member.read() == b"y\n"
        finally:
            if target is None:
                _cli(docker_env, "rm", "-f", name, check=False)


def test_docker_py_diff_commit_export(private_engine: EngineHandle, changed: str) -> None:
    import docker

    client = docker.DockerClient(base_url=private_engine.host)
    try:
        container = client.containers.get(changed)
        assert {"Path": "/added", "Kind": 1} in container.diff()
        image = container.commit(repository="pycommit", tag="t1", message="m", changes=["ENV A=1"])
        try:
            assert "A=1" in image.attrs["Config"]["Env"]
            out = client.containers.run(image.id, ["cat", "/added"], remove=True, network_mode="none")
            assert out == b"z\n"
        finally:
            client.images.remove(image.id, force=True)
        data = b"".join(container.export())
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            assert "tmp/new/f" in tar.getnames()
        with pytest.raises(docker.errors.NotFound):
            client.api.diff("nosuchcontainer")
    finally:
        client.close()


def test_a_container_that_changed_nothing(private_engine: EngineHandle, docker_env: dict[str, str]) -> None:
    import docker

    name = _name()
    _cli(docker_env, "create", "--name", name, "--network", "none", "busybox", "true")
    client = docker.APIClient(base_url=private_engine.host)
    try:
        assert client.diff(name) is None
        assert _cli(docker_env, "diff", name).stdout == ""
        image_id = client.commit(name, repository="unchanged", tag="t", pause=False)["Id"]
        try:
            history = client.history(image_id)
            base = client.history("busybox")
            assert len(history) == len(base) + 1
            layers = client.inspect_image(image_id)["RootFS"]["Layers"]
            assert layers == client.inspect_image("busybox")["RootFS"]["Layers"]
        finally:
            client.remove_image(image_id, force=True)
        with pytest.raises(docker.errors.NotFound):
            client.commit("nosuchcontainer")
    finally:
        client.close()
        _cli(docker_env, "rm", "-f", name, check=False)


def test_export_leaves_out_volumes_and_the_kernels_file_systems(docker_env: dict[str, str]) -> None:
    name, volume = _name(), _name()
    _cli(docker_env, "run", "-d", "--name", name, "--network", "none", "-v", f"{volume}:/data", "busybox", "sh",
         "-c", "echo v > /data/in-volume && echo l > /in-layer && sleep 300")
    try:
        for _ in range(50):
            if _cli(docker_env, "exec", name, "test", "-e", "/in-layer", check=False).returncode == 0:
                break
        with tarfile.open(fileobj=io.BytesIO(run(docker_env, "export", name).stdout)) as tar:
            names = set(tar.getnames())
        assert "in-layer" in names and "data/in-volume" not in names
        assert not any(n.startswith(("proc/", "sys/", "dev/pts/")) for n in names)
    finally:
        _cli(docker_env, "rm", "-f", name, check=False)
        _cli(docker_env, "volume", "rm", volume, check=False)
