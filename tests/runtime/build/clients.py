"""The docker CLI and docker-py against the session engine, for the build tests."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.compose.cli.engines import DOCKER, cli_env
from tests.engine_fixture import EngineHandle


def docker(engine: EngineHandle, *args: str, input: str | bytes | None = None, check: bool = True,
           cwd: Path | None = None, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    """The docker CLI (classic builder: our /_ping says Builder-Version 1)."""
    if DOCKER is None:
        pytest.skip("no docker CLI on PATH")
    data = input.encode() if isinstance(input, str) else input
    result = subprocess.run([DOCKER, *args], env=cli_env(engine.root.parent, engine), input=data,
                            capture_output=True, timeout=timeout, check=False, cwd=cwd)
    out = subprocess.CompletedProcess(result.args, result.returncode, result.stdout.decode(errors="replace"),
                                      result.stderr.decode(errors="replace"))
    if check:
        assert out.returncode == 0, out.stdout + out.stderr
    return out


def steps(output: str) -> list[tuple[str, bool]]:
    """(step text, from cache) for each `Step n/m : …` of a classic build's output."""
    out: list[tuple[str, bool]] = []
    for line in output.splitlines():
        if line.startswith("Step "):
            out.append((line.split(" : ", 1)[1], False))
        elif line.strip() == "---> Using cache" and out:
            out[-1] = (out[-1][0], True)
    return out


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root
