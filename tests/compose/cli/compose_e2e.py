"""End-to-end harness for the compose commands: a private engine, a project folder, `pycompose` as a user runs it.

`compose_engine` (module scope) starts an engine of its own with busybox
imported through docker-py. `stack` gives each test a project folder and a
unique project name, and takes the project down after it. A route or a
feature the engine lacks fails the test that uses it: there is no skip here.
"""

from __future__ import annotations

import json
import os
import re
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
from tests.signals import dispositions


@pytest.fixture(scope="module")
def compose_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EngineHandle]:
    """A private engine with busybox:latest."""
    from tests.runtime.images.busybox import build_busybox_rootfs_tar

    tmp = tmp_path_factory.mktemp("compose-e2e")
    handle = start_private_engine(tmp / "engine", log_level="info")
    try:
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
        """The command as from a terminal: default signal dispositions, whatever pytest inherited."""
        return subprocess.Popen(self.argv(args), cwd=self.dir, env=environ(self.handle), stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                preexec_fn=dispositions())

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
