"""Compose builds FROM an image in a registry that wants a login: the credentials go in X-Registry-Config
(as the docker CLI sends them), `--pull` fetches the newer base, and a failed pull is one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.compose.cli.registry_e2e import Cli, cli_fixture, engine_and_rootfs_fixture  # noqa: F401
from tests.compose.cli.registry_seed import busybox_layers, seed_image
from tests.engine_fixture import EngineHandle
from tests.registry_fixture import USERS, RegistryHandle

USER, PASSWORD = next(iter(USERS.items()))


@pytest.fixture(scope="module")
def private(registry_factory: object, engine_and_rootfs: tuple[EngineHandle, Path]) -> RegistryHandle:
    handle: RegistryHandle = registry_factory("htpasswd")  # type: ignore[operator]
    seed_image(handle.url, "base", "1", busybox_layers(engine_and_rootfs[1], "base-v1"), ["sh"], auth=(USER, PASSWORD))
    return handle


def test_build_from_a_private_base_with_pull(cli: Cli, private: RegistryHandle, tmp_path: Path) -> None:
    folder = tmp_path / "proj"
    folder.mkdir()
    (folder / "compose.yaml").write_text("services:\n  app:\n    build: {context: ., network: none}\n")
    dockerfile = f"FROM {private.host}/base:1\nRUN echo built > /built\nCMD [\"cat\", \"/built\"]\n"
    (folder / "Dockerfile").write_text(dockerfile)
    try:
        anonymous = cli.run("-p", "regb", "build", cwd=folder)
        assert anonymous.returncode == 1 and "Traceback" not in anonymous.stderr
        last = anonymous.stderr.strip().splitlines()[-1]
        assert last.startswith('service "app" failed to build: ') and private.host in last, anonymous.stderr
        cli.ok("login", private.host, "-u", USER, "--password-stdin", stdin=PASSWORD)
        built = cli.ok("-p", "regb", "--progress", "plain", "build", "--pull", cwd=folder)
        assert "Service app  Built" in built.stderr
        # a one-off of a project never brought up: its default network is made first, as `up` would
        assert cli.ok("-p", "regb", "run", "--rm", "app", cwd=folder).stdout.strip() == "built"
        seed_image(private.url, "base", "1", busybox_layers(cli.rootfs, "base-v2"), ["sh"], auth=(USER, PASSWORD))
        before = cli.image_ids(f"{private.host}/base:1")[0]
        cli.ok("-p", "regb", "build", "--pull", cwd=folder)
        assert cli.image_ids(f"{private.host}/base:1")[0] != before  # --pull fetched the newer base
    finally:
        cli.run("-p", "regb", "down", "-t", "0", cwd=folder)
