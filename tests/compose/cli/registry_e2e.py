"""What the registry CLI tests share: a private engine with busybox, a docker config of their own, `pycompose`.

Each module gets its own engine (pulls and removals change its images) and
registries from tests/registry_fixture.py. `Cli` runs the console script as
a user does, with DOCKER_HOST of the engine and DOCKER_CONFIG of the test.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.compose.cli.engines import PYCOMPOSE, busybox_engine, environ
from tests.engine_fixture import EngineHandle

# A docker-credential-<name> keeping one JSON file per server under $HELPER_DIR (the protocol's get/store/erase).
HELPER = r"""#!/bin/sh
set -e
dir="$HELPER_DIR"
key() { printf '%s' "$1" | tr '/:' '__'; }
case "$1" in
  store) input=$(cat); server=$(printf '%s' "$input" | sed 's/.*"ServerURL": *"\([^"]*\)".*/\1/');
         printf '%s' "$input" > "$dir/$(key "$server")" ;;
  get) server=$(cat); if [ -f "$dir/$(key "$server")" ]; then cat "$dir/$(key "$server")";
       else echo "credentials not found in native keychain"; exit 1; fi ;;
  erase) server=$(cat); rm -f "$dir/$(key "$server")" ;;
  *) exit 2 ;;
esac
"""


@dataclass
class Cli:
    engine: EngineHandle
    rootfs: Path
    home: Path

    @property
    def config(self) -> Path:
        return self.home / ".docker"

    def env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        path = f"{self.home / 'bin'}:{os.environ.get('PATH', '/usr/bin:/bin')}"
        return environ(self.engine, {"HOME": str(self.home), "DOCKER_CONFIG": str(self.config), "PATH": path,
                                     "HELPER_DIR": str(self.home / "secrets"), **(extra or {})})

    def run(self, *args: str, stdin: str | None = None, cwd: Path | None = None,
            extra: Mapping[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run([PYCOMPOSE, *args], env=self.env(extra), input=stdin, capture_output=True, text=True,
                              timeout=timeout, check=False, cwd=cwd)

    def ok(self, *args: str, **kw: object) -> subprocess.CompletedProcess[str]:
        result = self.run(*args, **kw)  # type: ignore[arg-type]
        assert result.returncode == 0, f"{args}: {result.stdout}\n{result.stderr}"
        return result

    def write_helper(self, name: str) -> None:
        (self.home / "bin").mkdir(exist_ok=True)
        (self.home / "secrets").mkdir(exist_ok=True)
        path = self.home / "bin" / f"docker-credential-{name}"
        path.write_text(HELPER)
        path.chmod(0o755)

    def image_ids(self, *refs: str) -> list[str]:
        out = []
        for ref in refs:
            result = self.run("image", "inspect", "-f", "{{.Id}}", ref)
            out.append(result.stdout.strip() if result.returncode == 0 else "")
        return out


@pytest.fixture(scope="module", name="engine_and_rootfs")
def engine_and_rootfs_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[EngineHandle, Path]]:
    with busybox_engine(tmp_path_factory.mktemp("registry-cli")) as made:
        yield made


@pytest.fixture(name="cli")
def cli_fixture(engine_and_rootfs: tuple[EngineHandle, Path], tmp_path: Path) -> Cli:
    home = tmp_path / "home"
    (home / ".docker").mkdir(parents=True)
    return Cli(engine_and_rootfs[0], engine_and_rootfs[1], home)
