"""examples/migrate on a private engine: the app starts only after the one-shot migration completed
successfully, and the debug shell comes only with `--profile debug`. (examples/web: tests/test_readme.py.)"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.compose.cli.compose_e2e import Stack, import_busybox, stop_supervisor
from tests.engine_fixture import REPO, EngineHandle, start_private_engine

pytestmark = [pytest.mark.root, pytest.mark.timeout(180)]


@pytest.fixture
def migrate(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    from tests.runtime.images.busybox import build_busybox_rootfs_tar

    tmp = tmp_path_factory.mktemp("examples")
    handle: EngineHandle = start_private_engine(tmp / "engine", log_level="info")
    stack = Stack(handle, REPO / "examples" / "migrate", "exmigrate")
    try:
        import_busybox(handle, build_busybox_rootfs_tar(tmp / "busybox.tar"))
        yield stack
    finally:
        try:
            down = stack.run("--profile", "debug", "down", "-v", "-t", "0")
            remove_everything(handle)  # a failed down must not leave containers (and their links) behind
            handle.stop()
        finally:
            stop_supervisor(handle.root)
        assert down.returncode == 0, down.stderr


def remove_everything(handle: EngineHandle) -> None:
    import docker

    client = docker.APIClient(base_url=handle.host)
    try:
        for container in client.containers(all=True):
            client.remove_container(container["Id"], force=True)
        client.prune_networks()
    finally:
        client.close()


def by_service(stack: Stack, *args: str) -> dict[str, tuple[str, int]]:
    listed = stack.ok(*args, "ps", "-a", "--format", "json").stdout
    return {c["Service"]: (c["State"], c["ExitCode"]) for c in map(json.loads, listed.splitlines())}


def test_migrate_runs_once_before_the_app_and_debug_only_with_its_profile(migrate: Stack) -> None:
    assert migrate.dir.joinpath("compose.yaml").is_file()
    up = migrate.ok("--progress", "plain", "up", "-d", "--wait", timeout=120)
    lines = up.stderr.splitlines()
    assert lines.index(" Container exmigrate-migrate-1  Exited") < lines.index(" Container exmigrate-app-1  Starting")
    assert by_service(migrate) == {"db": ("running", 0), "migrate": ("exited", 0), "app": ("running", 0)}
    assert migrate.ok("logs", "--no-log-prefix", "app").stdout == "schema v2\n"
    assert migrate.ok("logs", "--no-log-prefix", "migrate").stdout == "migrated\n"
    migrate.ok("--profile", "debug", "up", "-d", "--wait", timeout=120)
    assert by_service(migrate, "--profile", "debug")["debug"] == ("running", 0)
    assert migrate.ok("--profile", "debug", "exec", "-T", "debug", "cat", "/data/schema").stdout == "schema v2\n"
    denied = migrate.run("exec", "-T", "app", "sh", "-c", "echo x > /data/schema")
    assert denied.returncode != 0 and "Read-only file system" in denied.stderr  # the app mounts it :ro


def test_the_example_files_are_where_the_readme_says(tmp_path: Path) -> None:
    assert (REPO / "examples" / "web" / "compose.yaml").is_file()
    assert "examples/web/compose.yaml" in (REPO / "README.md").read_text()
