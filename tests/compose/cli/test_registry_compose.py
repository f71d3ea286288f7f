"""`pycompose pull`, `push`, `up --pull` and each `pull_policy`, on a project whose images live in a test registry.

Progress is asked for as plain lines (`--progress plain`, as without a
terminal), so a pull shows as ` web  Pulling` / ` web  Pulled`. The refresh
policies decide by the image's `Metadata.LastTagTime` (the engine sets it
when a pull tags the image): `every_1s` goes stale within the test, `daily`
does not.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.compose.cli.registry_e2e import Cli, cli_fixture, engine_and_rootfs_fixture  # noqa: F401
from tests.compose.cli.registry_seed import busybox_layers, manifest_exists, seed_image
from tests.engine_fixture import EngineHandle
from tests.registry_fixture import RegistryHandle


@pytest.fixture(scope="module")
def reg(registry_factory: object, engine_and_rootfs: tuple[EngineHandle, Path]) -> RegistryHandle:
    handle: RegistryHandle = registry_factory("http")  # type: ignore[operator]
    for repo in ("web", "db", "always", "fresh", "daily"):
        seed_image(handle.url, repo, "1", busybox_layers(engine_and_rootfs[1], f"{repo}-v1"), ["sleep", "300"])
    return handle


@pytest.fixture
def project(cli: Cli, reg: RegistryHandle, tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "proj"
    folder.mkdir()
    yield folder
    cli.run("-p", "regp", "--project-directory", str(folder), "down", "-t", "0", cwd=folder)


def write(folder: Path, reg: RegistryHandle, services: str) -> None:
    (folder / "compose.yaml").write_text("services:\n" + services.replace("REG", reg.host))


def compose(cli: Cli, folder: Path, *args: str) -> tuple[int, str]:
    result = cli.run("-p", "regp", "--progress", "plain", *args, cwd=folder)
    assert "Traceback" not in result.stderr
    return result.returncode, result.stdout + result.stderr


def pulled(output: str, service: str) -> bool:
    return f" {service}  Pulled" in output


def test_pull_all_and_skips(cli: Cli, reg: RegistryHandle, project: Path) -> None:
    write(project, reg, "  web: {image: REG/web:1, depends_on: [db]}\n  db: {image: REG/db:1}\n"
                        "  built: {build: .}\n  local: {image: busybox, pull_policy: never}\n")
    code, out = compose(cli, project, "pull", "web")
    assert code == 0 and pulled(out, "web") and " db  " not in out  # no deps without --include-deps
    assert " web  Pulling" in out
    code, out = compose(cli, project, "pull", "--include-deps", "web")
    assert code == 0 and pulled(out, "db")
    code, out = compose(cli, project, "pull")
    assert code == 0 and " built  Skipped - No image to be pulled" in out and " local  Skipped" in out
    assert all(cli.image_ids(f"{reg.host}/web:1", f"{reg.host}/db:1"))
    code, out = compose(cli, project, "pull", "--policy", "missing")
    assert code == 0 and " web  Skipped - Image is already present locally" in out
    code, out = compose(cli, project, "pull", "-q")
    assert code == 0 and " web  " not in out


def test_pull_failures(cli: Cli, reg: RegistryHandle, project: Path) -> None:
    write(project, reg, "  web: {image: REG/web:1}\n  gone: {image: REG/gone:1}\n")
    code, out = compose(cli, project, "pull")
    assert code == 1 and out.strip().splitlines()[-1].startswith("Error response from daemon: ")
    code, out = compose(cli, project, "pull", "--ignore-pull-failures")
    assert code == 0 and " gone  Warning" in out and pulled(out, "web")


def test_up_pull_always_and_policies(cli: Cli, reg: RegistryHandle, project: Path) -> None:
    write(project, reg, "  web: {image: REG/always:1, pull_policy: always}\n  db: {image: REG/db:1}\n")
    cli.run("image", "rm", f"{reg.host}/db:1")
    code, out = compose(cli, project, "up", "-d")
    assert code == 0 and pulled(out, "web") and pulled(out, "db")  # always; missing (absent)
    code, out = compose(cli, project, "up", "-d")
    assert code == 0 and pulled(out, "web") and " db  Pull" not in out  # missing (present): no pull
    code, out = compose(cli, project, "up", "-d", "--pull", "always")
    assert code == 0 and pulled(out, "db")
    code, out = compose(cli, project, "up", "-d", "--pull", "never")
    assert code == 0 and "Pull" not in out


def test_never_with_a_missing_image_is_a_clear_error(cli: Cli, reg: RegistryHandle, project: Path) -> None:
    write(project, reg, "  web: {image: REG/web:2, pull_policy: never}\n")
    code, out = compose(cli, project, "up", "-d")
    assert code == 1
    assert out.strip().splitlines()[-1] == f'service "web": no such image: {reg.host}/web:2 (pull policy "never")'


def test_build_policy_builds_instead_of_pulling(cli: Cli, reg: RegistryHandle, project: Path) -> None:
    write(project, reg, "  web: {image: REG/web:1, build: {context: ., network: none}, pull_policy: build,"
                        " network_mode: none}\n")
    (project / "Dockerfile").write_text("FROM busybox\nRUN echo built > /built\nCMD [\"cat\", \"/built\"]\n")
    code, out = compose(cli, project, "up", "-d")
    assert code == 0 and " Service web  Built" in out and not pulled(out, "web"), out
    assert cli.ok("-p", "regp", "run", "--rm", "--pull", "never", "web", cwd=project).stdout.strip() == "built"


def test_refresh_policies_use_the_last_tag_time(cli: Cli, reg: RegistryHandle, project: Path,
                                                engine_and_rootfs: tuple[EngineHandle, Path]) -> None:
    write(project, reg, "  fresh: {image: REG/fresh:1, pull_policy: every_1s}\n"
                        "  daily: {image: REG/daily:1, pull_policy: daily}\n")
    code, out = compose(cli, project, "up", "-d")
    assert code == 0 and pulled(out, "fresh") and pulled(out, "daily")  # absent: both pull
    seed_image(reg.url, "fresh", "1", busybox_layers(engine_and_rootfs[1], "fresh-v2"), ["sleep", "300"])
    time.sleep(1.5)
    code, out = compose(cli, project, "up", "-d")
    assert code == 0 and pulled(out, "fresh") and " daily  Pull" not in out
    result = cli.run("-p", "regp", "exec", "-T", "fresh", "cat", "/version", cwd=project)
    assert result.stdout == "fresh-v2\n"  # the newer image was pulled and the container recreated from it


def test_push_pushes_services_with_build_and_image(cli: Cli, reg: RegistryHandle, project: Path) -> None:
    write(project, reg, "  app: {image: REG/pushme:1, build: .}\n  web: {image: REG/web:1}\n")
    cli.ok("image", "tag", "busybox", f"{reg.host}/pushme:1")
    code, out = compose(cli, project, "push")
    assert code == 0 and " app  Pushed" in out and " web  Skipped" in out
    assert manifest_exists(reg.url, "pushme", "1")
    write(project, reg, "  app: {image: REG/notlocal:1, build: .}\n")
    code, out = compose(cli, project, "push")
    assert code == 1 and out.strip().splitlines()[-1].startswith("Error response from daemon: ")
    code, out = compose(cli, project, "push", "--ignore-push-failures")
    assert code == 0


def test_pull_on_a_terminal_and_quiet_pull(cli: Cli, reg: RegistryHandle, project: Path) -> None:
    write(project, reg, "  web: {image: REG/web:1}\n  db: {image: REG/db:1}\n")
    for image in ("web:1", "db:1"):
        cli.run("image", "rm", f"{reg.host}/{image}")
    shown = cli.run("-p", "regp", "--progress", "tty", "pull", cwd=project)
    assert shown.returncode == 0
    assert "[+] Pulling 2/2" in shown.stderr and "✔ web Pulled" in shown.stderr and "✔ db Pulled" in shown.stderr
    assert "Pull complete" in shown.stderr  # a line per layer, under its service
    cli.run("image", "rm", f"{reg.host}/web:1")
    code, out = compose(cli, project, "up", "-d", "--quiet-pull")
    # as Docker Compose's --quiet-pull: the service's lines, none per layer
    assert code == 0 and pulled(out, "web") and "Pull complete" not in out and all(cli.image_ids(f"{reg.host}/web:1"))


def test_run_and_create_pull_too(cli: Cli, reg: RegistryHandle, project: Path) -> None:
    write(project, reg, "  web: {image: REG/web:1, network_mode: none}\n")
    cli.run("image", "rm", f"{reg.host}/web:1")
    result = cli.run("-p", "regp", "--progress", "plain", "run", "--rm", "-T", "web", "cat", "/version", cwd=project)
    assert result.returncode == 0 and result.stdout == "web-v1\n" and " web  Pulled" in result.stderr
    code, out = compose(cli, project, "create", "--pull", "always")
    assert code == 0 and pulled(out, "web")
