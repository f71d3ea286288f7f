"""A git URL as a build context: cloned on the client (as the docker CLI does), from a `git daemon` the test
runs on 127.0.0.1, with `#ref:subdir`; a bad ref or subdir is one line."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.compose.cli import compose_e2e
from tests.compose.cli.compose_e2e import Stack

pytestmark = [pytest.mark.root, pytest.mark.timeout(180)]
compose_engine = compose_e2e.compose_engine
stack = compose_e2e.stack


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=cwd, check=True,
                   capture_output=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def git_server(tmp_path: Path) -> Iterator[str]:
    """git://127.0.0.1:PORT/ serving `repo`: v1 tagged, then a v2 commit on the default branch."""
    if not shutil.which("git"):
        pytest.skip("git is not installed")
    base = tmp_path / "served"
    repo = base / "repo"
    (repo / "web").mkdir(parents=True)
    _git(repo, "init", "-q", "-b", "main")
    (repo / "web" / "Dockerfile").write_text("FROM busybox\nCOPY v /v\nCMD [\"cat\", \"/v\"]\n")
    (repo / "web" / "v").write_text("v1\n")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "v1")
    _git(repo, "tag", "v1")
    (repo / "web" / "v").write_text("v2\n")
    _git(repo, "commit", "-q", "-am", "v2")
    port = _free_port()
    daemon = subprocess.Popen(["git", "daemon", "--reuseaddr", "--export-all", f"--base-path={base}",
                               "--listen=127.0.0.1", f"--port={port}", str(base)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        yield f"git://127.0.0.1:{port}/repo"
    finally:
        daemon.terminate()
        daemon.wait(10)


def test_build_from_a_git_url(stack: Stack, git_server: str) -> None:
    stack.write(f"""
services:
  head: {{build: {{context: "{git_server}#:web", network: none}}, network_mode: none}}
  tagged: {{build: {{context: "{git_server}#v1:web", network: none}}, network_mode: none}}
""")
    stack.ok("build")
    assert stack.ok("run", "--rm", "head").stdout.strip() == "v2"
    assert stack.ok("run", "--rm", "tagged").stdout.strip() == "v1"
    stack.write(f"services:\n  bad: {{build: {{context: \"{git_server}#nosuchref:web\"}}}}\n")
    bad = stack.run("build")
    assert bad.returncode == 1 and "Traceback" not in bad.stderr
    last = bad.stderr.strip().splitlines()[-1]
    assert last.startswith(f"unable to prepare context: {git_server}#nosuchref:web: "), bad.stderr
    stack.write(f"services:\n  out: {{build: {{context: \"{git_server}#v1:../..\"}}}}\n")
    outside = stack.run("build")
    assert outside.returncode == 1 and outside.stderr.strip().splitlines()[-1].endswith(
        "subdirectory ../.. is outside the repository"), outside.stderr
