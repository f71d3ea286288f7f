"""Containers through docker-py against a private engine: run, logs, exec_run, wait, stop, remove."""

from __future__ import annotations

from typing import Any

import docker as docker_py
import pytest

from tests.runtime.api.containers_env import docker_env, docker_py_client, eventually, private_engine

pytestmark = [pytest.mark.root, pytest.mark.timeout(90)]
__all__ = ["docker_env", "docker_py_client", "private_engine"]


def test_run_detached_logs_exec_wait_stop_remove(client: Any) -> None:
    container = client.containers.run("busybox", ["sh", "-c", "echo out; echo err >&2; sleep 1000"], detach=True,
                                      name="pyrun", labels={"test": "docker-py"})
    eventually(lambda: container.logs() == b"out\nerr\n")
    assert container.logs(stderr=False) == b"out\n"
    assert container.logs(stdout=False) == b"err\n"
    stamped = container.logs(timestamps=True, stdout=True, stderr=False).decode()
    assert stamped.endswith(" out\n") and stamped[:4].isdigit()
    result = container.exec_run(["sh", "-c", "echo hello; exit 4"])
    assert (result.exit_code, result.output) == (4, b"hello\n")
    demuxed = container.exec_run(["sh", "-c", "echo a; echo b >&2"], demux=True)
    assert demuxed.output == (b"a\n", b"b\n")
    assert container.exec_run("whoami", user="nobody").output == b"nobody\n"
    container.reload()
    assert container.status == "running" and container.labels == {"test": "docker-py"}
    assert [c.name for c in client.containers.list(filters={"label": "test=docker-py"})] == ["pyrun"]
    container.stop(timeout=1)
    assert container.wait() == {"Error": None, "StatusCode": 137}
    container.reload()
    assert container.status == "exited"
    container.remove()
    assert client.containers.list(all=True) == []


def test_run_in_the_foreground(client: Any) -> None:
    assert client.containers.run("busybox", ["echo", "fg"], remove=True) == b"fg\n"
    with pytest.raises(docker_py.errors.ContainerError) as failed:
        client.containers.run("busybox", ["sh", "-c", "echo bad >&2; exit 2"], remove=True)
    assert failed.value.exit_status == 2
    with pytest.raises(docker_py.errors.ImageNotFound):
        client.containers.create("no/such-image")


def test_wait_and_restart(client: Any) -> None:
    container = client.containers.create("busybox", ["sh", "-c", "exit 9"], name="waited")
    container.start()
    assert container.wait()["StatusCode"] == 9
    container.restart(timeout=1)
    assert container.wait()["StatusCode"] == 9
    container.reload()
    assert container.attrs["State"]["ExitCode"] == 9
    container.rename("waited2")
    container.reload()
    assert container.name == "waited2"
    assert client.containers.prune()["ContainersDeleted"] == [container.id]
