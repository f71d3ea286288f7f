"""Run the `pycompose` console script the way a user does, in a clean environment."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

PYCOMPOSE = str(Path(sys.executable).parent / "pycompose")


def clean_environ(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """PATH and a fixed HOME only: no COMPOSE_* or DOCKER_* from whoever runs the tests."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": "/home/tester", "LANG": "C.UTF-8"}
    env.update(extra or {})
    return env


def run_pycompose(args: list[str], cwd: Path, environ: Mapping[str, str] | None = None,
                  stdin: str | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PYCOMPOSE, *args], cwd=cwd, env=clean_environ(environ), input=stdin,
                          capture_output=True, text=True, timeout=timeout, check=False)


def read_environ(path: Path) -> dict[str, str]:
    if not path.is_file():
        return {}
    out = {}
    for line in path.read_text().splitlines():
        if line.strip():
            key, _, value = line.partition("=")
            out[key] = value
    return out
