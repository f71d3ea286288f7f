"""End-to-end harness for the compose commands: a private engine, a project folder, `pycompose` as a user runs it.

`compose_engine` (module scope) starts an engine of its own with busybox
imported through docker-py, and skips the module, saying which, while the
engine answers 404 on container routes it needs. `stack` gives each test a
project folder and a unique project name, and takes the project down after
it. `needs(handle, route...)` skips a test whose routes (networks,
volumes…) the engine does not have yet, naming them.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.compose.cli.engines import (  # noqa: F401 - stop_supervisor: other modules take it from here
    PYCOMPOSE,
    environ,
    import_busybox,
    stop_engine,
    stop_supervisor,
)
from tests.engine_fixture import EngineHandle, start_private_engine

CONTAINER_ROUTES = (("POST", "/containers/create"), ("GET", "/containers/json"), ("POST", "/containers/x/start"),
                    ("GET", "/containers/x/logs"), ("POST", "/containers/x/attach"), ("POST", "/containers/x/exec"),
                    ("GET", "/events"))
NETWORK_ROUTES = (("GET", "/networks"), ("POST", "/networks/create"))
VOLUME_ROUTES = (("GET", "/volumes"), ("POST", "/volumes/create"))


def _answer(path: Path, method: str, target: str) -> tuple[int, bytes]:
    """Status and body of one bodiless request (a tiny client, independent of ours)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.settimeout(5)
        conn.connect(os.fspath(path))
        conn.sendall(f"{method} /v1.45{target} HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n"
                     "Connection: close\r\n\r\n".encode())
        data = b""
        while b"\r\n\r\n" not in data and (chunk := conn.recv(65536)):
            data += chunk
        if data.startswith(b"HTTP/1.1 404"):  # the message says whether the route or the object is missing
            while chunk := conn.recv(65536):
                data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
    match = re.match(rb"HTTP/1\.1 (\d+)", head)
    return (int(match.group(1)) if match else 0), body


def missing(handle: EngineHandle, routes: tuple[tuple[str, str], ...]) -> list[str]:
    """The routes the engine does not have (404 `page not found`, not an object's 404)."""
    out = []
    for method, target in routes:
        status, body = _answer(handle.socket, method, target)
        if status == 404 and b"page not found" in body:
            out.append(f"{method} {target}")
    return out


def needs(handle: EngineHandle, routes: tuple[tuple[str, str], ...]) -> None:
    gone = missing(handle, routes)
    if gone:
        pytest.skip(f"the engine answers 404 on {', '.join(gone)} (not implemented yet)")


def health_reported(handle: EngineHandle) -> bool:
    """Whether the engine runs healthchecks: a container with one shows `State.Health` once started."""
    import docker

    client = docker.APIClient(base_url=handle.host)
    try:
        created = client.create_container("busybox", ["sleep", "5"], healthcheck={"test": ["CMD", "true"]},
                                          host_config=client.create_host_config(network_mode="none"))
        try:
            client.start(created["Id"])
            return "Health" in client.inspect_container(created["Id"])["State"]
        finally:
            client.remove_container(created["Id"], force=True)
    finally:
        client.close()


def needs_health(handle: EngineHandle) -> None:
    if not health_reported(handle):
        pytest.skip("the engine does not run healthchecks yet (no State.Health after start)")


@pytest.fixture(scope="module")
def compose_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EngineHandle]:
    """A private engine with busybox:latest; the module is skipped while container routes are missing."""
    from tests.runtime.images.busybox import build_busybox_rootfs_tar

    tmp = tmp_path_factory.mktemp("compose-e2e")
    handle = start_private_engine(tmp / "engine", log_level="info")
    try:
        gone = missing(handle, CONTAINER_ROUTES)
        if gone:
            pytest.skip(f"the engine answers 404 on {', '.join(gone)} (container endpoints not finished yet)")
        import_busybox(handle, build_busybox_rootfs_tar(tmp / "busybox.tar"))
        yield handle
    finally:
        stop_engine(handle)


@dataclass
class Stack:
    """One project: its folder, its name, and `pycompose -p NAME …` run in the folder."""

    handle: EngineHandle
    dir: Path
    name: str

    def write(self, text: str, file: str = "compose.yaml") -> Path:
        path = self.dir / file
        path.write_text(text)
        return path

    def argv(self, args: tuple[str, ...]) -> list[str]:
        return [PYCOMPOSE, "-p", self.name, *args]

    def run(self, *args: str, timeout: float = 90, stdin: str | None = None,
            env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(self.argv(args), cwd=self.dir, env=environ(self.handle, env), input=stdin or "",
                              capture_output=True, text=True, timeout=timeout, check=False)

    def ok(self, *args: str, **kw: Any) -> subprocess.CompletedProcess[str]:
        result = self.run(*args, **kw)
        assert result.returncode == 0, f"{' '.join(args)} -> {result.returncode}\n{result.stdout}\n{result.stderr}"
        return result

    def popen(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(self.argv(args), cwd=self.dir, env=environ(self.handle), stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def containers(self, all: bool = True) -> list[dict[str, Any]]:
        """`ps --format json`, one object per line."""
        result = self.ok("ps", "--format", "json", *(("-a",) if all else ()))
        return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]

    def states(self) -> dict[str, str]:
        return {c["Name"]: c["State"] for c in self.containers()}

    def inspect(self, name: str) -> dict[str, Any]:
        import docker

        client = docker.APIClient(base_url=self.handle.host)
        try:
            return dict(client.inspect_container(name))
        finally:
            client.close()


def project_name(request: pytest.FixtureRequest) -> str:
    base = re.sub(r"[^a-z0-9]+", "", request.node.name.lower().removeprefix("test"))[:20]
    return f"e{base}{os.getpid() % 1000}"


@pytest.fixture
def stack(compose_engine: EngineHandle, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Stack]:
    project = Stack(compose_engine, tmp_path, project_name(request))
    try:
        yield project
    finally:
        result = subprocess.run([PYCOMPOSE, "-p", project.name, "down", "-v", "--remove-orphans", "-t", "0"],
                                cwd=tmp_path / "..", env=environ(compose_engine), capture_output=True, text=True,
                                timeout=60, check=False)
        assert result.returncode == 0, f"down failed: {result.stderr}"


def wait_for(predicate: Any, timeout: float = 10.0, interval: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)
