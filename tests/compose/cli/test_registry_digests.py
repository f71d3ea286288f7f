"""`config --resolve-image-digests` and `--lock-image-digests` against a private engine and a test registry."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.compose.cli.registry_e2e import Cli, cli_fixture, engine_and_rootfs_fixture  # noqa: F401
from tests.compose.cli.registry_seed import busybox_layers, seed_image
from tests.engine_fixture import EngineHandle
from tests.registry_fixture import RegistryHandle


@pytest.fixture(scope="module")
def seeded(registry_factory: object,
           engine_and_rootfs: tuple[EngineHandle, Path]) -> tuple[RegistryHandle, dict[str, str]]:
    handle: RegistryHandle = registry_factory("http")  # type: ignore[operator]
    digests = {repo: seed_image(handle.url, repo, tag, busybox_layers(engine_and_rootfs[1], f"{repo}-{tag}"),
                                ["sleep", "300"]) for repo, tag in (("web", "1"), ("db", "latest"))}
    return handle, digests


def write_project(folder: Path, reg: RegistryHandle, digests: dict[str, str]) -> None:
    (folder / "compose.yaml").write_text(
        "services:\n"
        f"  web: {{image: {reg.host}/web:1, environment: {{A: '$$x'}}}}\n"
        f"  db: {{image: {reg.host}/db}}\n"
        f"  pinned: {{image: '{reg.host}/web@{digests['web']}'}}\n"
        "  built: {build: .}\n")


def test_resolve_image_digests_pins_each_image(cli: Cli, seeded: tuple[RegistryHandle, dict[str, str]],
                                               tmp_path: Path) -> None:
    reg, digests = seeded
    write_project(tmp_path, reg, digests)
    result = cli.ok("-p", "dig", "config", "--resolve-image-digests", cwd=tmp_path)
    services = yaml.safe_load(result.stdout)["services"]
    assert services["web"]["image"] == f"{reg.host}/web:1@{digests['web']}"
    assert services["db"]["image"] == f"{reg.host}/db:latest@{digests['db']}"
    assert services["pinned"]["image"] == f"{reg.host}/web@{digests['web']}"
    assert "image" not in services["built"] and services["built"]["build"]["context"] == str(tmp_path)
    assert services["web"]["environment"] == {"A": "$$x"}  # the rest of the model as `config` prints it
    as_json = json.loads(cli.ok("-p", "dig", "config", "--resolve-image-digests", "--format", "json",
                                cwd=tmp_path).stdout)
    assert as_json["services"]["web"]["image"] == services["web"]["image"]


def test_lock_image_digests_prints_the_override_file(cli: Cli, seeded: tuple[RegistryHandle, dict[str, str]],
                                                     tmp_path: Path) -> None:
    reg, digests = seeded
    write_project(tmp_path, reg, digests)
    result = cli.ok("-p", "dig", "config", "--lock-image-digests", cwd=tmp_path)
    assert yaml.safe_load(result.stdout) == {"services": {
        "built": {},
        "db": {"image": f"{reg.host}/db:latest@{digests['db']}"},
        "pinned": {"image": f"{reg.host}/web@{digests['web']}"},
        "web": {"image": f"{reg.host}/web:1@{digests['web']}"},
    }}
    # The override file merges back: the project then runs exactly those images.
    (tmp_path / "lock.yaml").write_text(result.stdout)
    images = cli.ok("-p", "dig", "-f", "compose.yaml", "-f", "lock.yaml", "config", "--images", cwd=tmp_path).stdout
    assert f"{reg.host}/web:1@{digests['web']}" in images.splitlines()


def test_an_image_the_registry_lacks_is_one_line(cli: Cli, seeded: tuple[RegistryHandle, dict[str, str]],
                                                  tmp_path: Path) -> None:
    reg, _ = seeded
    (tmp_path / "compose.yaml").write_text(f"services:\n  gone: {{image: {reg.host}/gone:1}}\n")
    result = cli.run("-p", "dig", "config", "--resolve-image-digests", cwd=tmp_path)
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.strip().count("\n") == 0 and "Traceback" not in result.stderr
    assert "gone" in result.stderr


def test_a_local_image_pins_to_its_repo_digest_when_the_registry_is_gone(
        cli: Cli, registry_factory: object, engine_and_rootfs: tuple[EngineHandle, Path], tmp_path: Path) -> None:
    gone: RegistryHandle = registry_factory("http")  # type: ignore[operator]
    digest = seed_image(gone.url, "lone", "1", busybox_layers(engine_and_rootfs[1], "lone-1"), ["sleep", "300"])
    cli.ok("image", "pull", f"{gone.host}/lone:1")
    gone.stop()
    (tmp_path / "compose.yaml").write_text(f"services:\n  lone: {{image: {gone.host}/lone:1}}\n")
    result = cli.ok("-p", "dig", "config", "--lock-image-digests", cwd=tmp_path)
    assert yaml.safe_load(result.stdout) == {"services": {"lone": {"image": f"{gone.host}/lone:1@{digest}"}}}
    cli.ok("image", "rm", f"{gone.host}/lone:1")


def test_resolve_with_selected_services(cli: Cli, seeded: tuple[RegistryHandle, dict[str, str]],
                                        tmp_path: Path) -> None:
    reg, digests = seeded
    write_project(tmp_path, reg, digests)
    result = cli.ok("-p", "dig", "config", "--resolve-image-digests", "web", cwd=tmp_path)
    services = yaml.safe_load(result.stdout)["services"]
    assert list(services) == ["web"] and services["web"]["image"] == f"{reg.host}/web:1@{digests['web']}"
