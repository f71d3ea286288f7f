"""The README's first block: two commands, the first bringing examples/web up (curl gets its page), the second
the test suite that `.ci/run` runs. The first runs here against a PRIVATE engine (DOCKER_HOST) on a free host
port: busybox comes from scripts/busybox-image.sh, as setup.sh gives it to the default engine, which a test
never touches."""

from __future__ import annotations

import json
import os
import re
import shlex
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from tests.compose.cli.compose_e2e import stop_supervisor
from tests.engine_fixture import REPO, EngineHandle, start_private_engine

PYCOMPOSE = str(Path(sys.executable).parent / "pycompose")


def first_block() -> list[str]:
    text = (REPO / "README.md").read_text()
    match = re.search(r"```sh\n(.*?)```", text, re.S)
    assert match, "README.md has no ```sh block"
    return [line for line in match.group(1).splitlines() if line.strip()]


def first_command() -> tuple[list[str], list[str]]:
    """(the pycompose argv, the curl argv) of `bash scripts/setup.sh && PYCOMPOSE… && curl…`."""
    steps = [shlex.split(step) for step in first_block()[0].split("&&")]
    assert [len(steps), steps[0]] == [3, ["bash", "scripts/setup.sh"]], steps
    assert steps[1][0] == ".venv/bin/pycompose" and steps[2][0] == "curl", steps
    return steps[1], steps[2]


def test_the_first_block_is_two_commands_and_ci_runs_the_second() -> None:
    block = first_block()
    assert len(block) == 2
    assert block[1] == "bash scripts/test.sh"
    pycompose, curl = first_command()
    assert pycompose[1:] == ["-f", "examples/web/compose.yaml", "up", "-d", "--wait"]
    assert curl == ["curl", "-s", "http://127.0.0.1:8080/"]
    ci = [line for line in (REPO / ".ci" / "run").read_text().splitlines() if line.startswith("exec ")]
    assert ci == ["exec bash scripts/test.sh -p no:cacheprovider"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def private_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EngineHandle]:
    handle = start_private_engine(tmp_path_factory.mktemp("readme") / "engine", log_level="info")
    try:
        yield handle
    finally:
        try:
            handle.stop()
        finally:
            stop_supervisor(handle.root)


@pytest.mark.root
@pytest.mark.timeout(180)
def test_the_first_command_brings_the_web_example_up(private_engine: EngineHandle) -> None:
    pycompose, curl = first_command()
    port = free_port()
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": "/tmp", "LANG": "C.UTF-8",
           **private_engine.docker_env, "WEB_PORT": str(port)}

    def run(argv: list[str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout, check=False)

    imported = run(["bash", "scripts/busybox-image.sh"])
    assert imported.returncode == 0, imported.stderr
    assert run(["bash", "scripts/busybox-image.sh"]).stderr == ""  # the second time: already there, nothing done
    try:
        up = run([PYCOMPOSE, *pycompose[1:]])
        assert up.returncode == 0, up.stdout + up.stderr
        url = urlsplit(curl[-1])
        assert url.port == 8080  # the example's default, replaced here by a free port
        page = run([*curl[:-1], urlunsplit(url._replace(netloc=f"{url.hostname}:{port}"))], timeout=30)
        assert page.returncode == 0, page.stderr
        assert page.stdout.startswith("hello from worker at "), page.stdout
        listed = run([PYCOMPOSE, "-f", "examples/web/compose.yaml", "ps", "--format", "json"]).stdout
        states = {c["Service"]: (c["State"], c["Health"]) for c in map(json.loads, listed.splitlines())}
        assert states == {"store": ("running", "healthy"), "web": ("running", "healthy"), "worker": ("running", "")}
    finally:
        down = run([PYCOMPOSE, "-f", "examples/web/compose.yaml", "down", "-v", "-t", "1"])
        assert down.returncode == 0, down.stderr
