"""Answered as dockerd answers: a node outside any swarm, no plugins, image load errors in the stream."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import docker as docker_py
import pytest

from runtime.api.routes_swarm import NOT_A_MANAGER, NOT_IN_SWARM
from tests.engine_fixture import EngineHandle
from tests.runtime.api.containers_env import docker_env, private_engine, run

pytestmark = [pytest.mark.root, pytest.mark.timeout(120)]
__all__ = ["docker_env", "private_engine"]

# Every swarm, node, service, task, secret, config and plugin route of the v1.45 spec.
SPEC_ROUTES = (
    ("GET", "/plugins"), ("GET", "/plugins/privileges"), ("POST", "/plugins/pull"),
    ("GET", "/plugins/{name}/json"), ("DELETE", "/plugins/{name}"), ("POST", "/plugins/{name}/enable"),
    ("POST", "/plugins/{name}/disable"), ("POST", "/plugins/{name}/upgrade"), ("POST", "/plugins/create"),
    ("POST", "/plugins/{name}/push"), ("POST", "/plugins/{name}/set"), ("GET", "/nodes"),
    ("GET", "/nodes/{id}"), ("DELETE", "/nodes/{id}"), ("POST", "/nodes/{id}/update"), ("GET", "/swarm"),
    ("POST", "/swarm/init"), ("POST", "/swarm/join"), ("POST", "/swarm/leave"), ("POST", "/swarm/update"),
    ("GET", "/swarm/unlockkey"), ("POST", "/swarm/unlock"), ("GET", "/services"),
    ("POST", "/services/create"), ("GET", "/services/{id}"), ("DELETE", "/services/{id}"),
    ("POST", "/services/{id}/update"), ("GET", "/services/{id}/logs"), ("GET", "/tasks"),
    ("GET", "/tasks/{id}"), ("GET", "/tasks/{id}/logs"), ("GET", "/secrets"), ("POST", "/secrets/create"),
    ("GET", "/secrets/{id}"), ("DELETE", "/secrets/{id}"), ("POST", "/secrets/{id}/update"),
    ("GET", "/configs"), ("POST", "/configs/create"), ("GET", "/configs/{id}"), ("DELETE", "/configs/{id}"),
    ("POST", "/configs/{id}/update"),
)


@pytest.fixture
def client(private_engine: EngineHandle, docker_env: dict[str, str]) -> Iterator[Any]:
    client = docker_py.DockerClient(base_url=private_engine.host)
    try:
        yield client
    finally:
        client.close()


def test_docker_py_leave_swarm_force_returns(client: Any) -> None:
    assert client.api.leave_swarm(force=True) is True
    with pytest.raises(docker_py.errors.APIError) as failed:
        client.api.leave_swarm()
    assert failed.value.status_code == 503 and failed.value.explanation == NOT_IN_SWARM


def test_every_swarm_route_of_the_spec_answers_as_a_non_swarm_dockerd(client: Any) -> None:
    assert len(SPEC_ROUTES) == 41
    api = client.api
    for method, path in SPEC_ROUTES:
        url = api._url(path.replace("{id}", "abc").replace("{name}", "nosuch"))
        response = api.request(method, url, data=b"{}" if method == "POST" else None,
                               headers={"Content-Type": "application/json"})
        where = f"{method} {path}"
        assert response.status_code != 404 or path.startswith("/plugins/{name}"), where
        if path == "/swarm/leave":
            assert (response.status_code, response.json()["message"]) == (503, NOT_IN_SWARM), where
        elif path in ("/swarm/init", "/swarm/join"):
            assert response.status_code == 503, where
        elif path == "/plugins":
            assert (response.status_code, response.json()) == (200, []), where
        elif path.startswith("/plugins/{name}"):
            assert (response.status_code, response.json()["message"]) == (404, 'plugin "nosuch" not found'), where
        elif path.startswith("/plugins"):
            assert response.status_code == 501, where
        else:
            assert (response.status_code, response.json()["message"]) == (503, NOT_A_MANAGER), where


def test_docker_cli_swarm_commands(docker_env: dict[str, str]) -> None:
    info = json.loads(run(docker_env, "info", "--format", "{{json .Swarm}}").stdout)
    assert info["LocalNodeState"] == "inactive" and info["ControlAvailable"] is False
    assert json.loads(run(docker_env, "info", "--format", "{{json .Plugins.Log}}").stdout) == ["json-file", "local"]
    for args in (("node", "ls"), ("service", "ls"), ("secret", "ls"), ("config", "ls")):
        failed = run(docker_env, *args, check=False)
        assert failed.returncode == 1 and "This node is not a swarm manager" in failed.stderr.decode(), args
    left = run(docker_env, "swarm", "leave", check=False)
    assert left.returncode == 1 and NOT_IN_SWARM in left.stderr.decode()
    assert run(docker_env, "plugin", "ls", "-q").stdout == b""
    missing = run(docker_env, "plugin", "inspect", "nosuch", check=False)
    assert missing.returncode == 1 and "nosuch" in missing.stderr.decode()


def test_load_of_garbage_is_an_error_in_the_stream(client: Any, docker_env: dict[str, str]) -> None:
    response = client.api._post(client.api._url("/images/load"), data=b"this is not an image archive\n" * 50)
    assert response.status_code == 200
    lines = [json.loads(line) for line in response.text.splitlines() if line.strip()]
    assert lines and lines[-1]["error"] and lines[-1]["errorDetail"]["message"] == lines[-1]["error"]
    with pytest.raises(docker_py.errors.ImageLoadError):
        client.images.load(b"garbage" * 100)
    loaded = run(docker_env, "load", stdin=b"garbage" * 100, check=False)
    assert loaded.returncode == 1 and loaded.stderr.strip(), loaded
