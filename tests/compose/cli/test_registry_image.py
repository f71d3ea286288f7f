"""`pycompose image pull|push` and `container run` of an image that is not there, against a real registry.

Images are seeded into the registry over the distribution API
(registry_seed.py), so pulling is tested independently of the engine's push.
"""

from __future__ import annotations

import json

import pytest

from tests.compose.cli.registry_e2e import Cli, cli_fixture, engine_and_rootfs_fixture  # noqa: F401
from tests.compose.cli.registry_seed import busybox_layers, manifest_exists, seed_image
from tests.engine_fixture import EngineHandle
from tests.registry_fixture import USERS, RegistryHandle

USER, PASSWORD = next(iter(USERS.items()))


@pytest.fixture(scope="module")
def public(registry_factory: object, engine_and_rootfs: tuple[EngineHandle, object]) -> RegistryHandle:
    handle: RegistryHandle = registry_factory("http")  # type: ignore[operator]
    rootfs = engine_and_rootfs[1]
    seed_image(handle.url, "app", "latest", busybox_layers(rootfs, "v1"))  # type: ignore[arg-type]
    seed_image(handle.url, "app", "2", busybox_layers(rootfs, "v2"))  # type: ignore[arg-type]
    seed_image(handle.url, "tool", "latest", busybox_layers(rootfs, "tool"))  # type: ignore[arg-type]
    seed_image(handle.url, "made", "latest", busybox_layers(rootfs, "made"))  # type: ignore[arg-type]
    return handle


@pytest.fixture(scope="module")
def private(registry_factory: object, engine_and_rootfs: tuple[EngineHandle, object]) -> RegistryHandle:
    handle: RegistryHandle = registry_factory("htpasswd")  # type: ignore[operator]
    seed_image(handle.url, "secret", "latest", busybox_layers(engine_and_rootfs[1], "s"),  # type: ignore[arg-type]
               auth=(USER, PASSWORD))
    return handle


def one_line(text: str) -> str:
    assert "Traceback" not in text
    lines = text.strip().splitlines()
    assert len(lines) == 1, text
    return lines[0]


def test_image_pull_prints_as_docker(cli: Cli, public: RegistryHandle) -> None:
    ref = f"{public.host}/app"
    out = cli.ok("image", "pull", ref).stdout.splitlines()
    assert out[0] == "Using default tag: latest"
    assert out[1] == "latest: Pulling from app"  # dockerd: the path on the registry, without the host
    assert any(line.endswith(": Pull complete") for line in out)
    assert any(line.startswith("Digest: sha256:") for line in out)
    assert f"Status: Downloaded newer image for {ref}:latest" in out
    assert out[-1] == f"{ref}:latest"
    assert cli.image_ids(f"{ref}:latest")[0].startswith("sha256:")
    again = cli.ok("image", "pull", f"{ref}:latest").stdout.splitlines()
    assert f"Status: Image is up to date for {ref}:latest" in again and "Using default tag: latest" not in again


def test_image_pull_quiet_and_errors(cli: Cli, public: RegistryHandle) -> None:
    assert cli.ok("image", "pull", "-q", f"{public.host}/app:2").stdout == f"{public.host}/app:2\n"
    missing = cli.run("image", "pull", f"{public.host}/app:nope")
    assert missing.returncode == 1 and one_line(missing.stderr).startswith("Error response from daemon: ")
    every = cli.ok("image", "pull", "-a", f"{public.host}/app").stdout.splitlines()
    assert every[-1] == f"{public.host}/app" and "Using default tag: latest" not in every
    assert all(cli.image_ids(f"{public.host}/app:latest", f"{public.host}/app:2"))
    both = cli.run("image", "pull", "-a", f"{public.host}/app:2")
    assert both.returncode == 2 and "tag can't be used with --all-tags/-a" in both.stderr


def test_private_registry_needs_login_then_pulls(cli: Cli, private: RegistryHandle) -> None:
    ref = f"{private.host}/secret"
    denied = cli.run("image", "pull", ref)
    assert denied.returncode == 1 and one_line(denied.stderr).startswith("Error response from daemon: ")
    cli.ok("login", private.host, "-u", USER, "--password-stdin", stdin=PASSWORD)
    assert cli.ok("image", "pull", "-q", ref).stdout == f"{ref}:latest\n"
    cli.ok("image", "rm", ref)


def test_private_pull_with_credentials_from_a_helper(cli: Cli, private: RegistryHandle) -> None:
    cli.write_helper("pyctest")
    (cli.config / "config.json").write_text(json.dumps({"credsStore": "pyctest"}))
    cli.ok("login", private.host, "-u", USER, "--password-stdin", stdin=PASSWORD)
    assert cli.ok("image", "pull", "-q", f"{private.host}/secret").stdout == f"{private.host}/secret:latest\n"
    cli.ok("image", "rm", f"{private.host}/secret")


def test_image_push(cli: Cli, public: RegistryHandle, private: RegistryHandle) -> None:
    ref = f"{public.host}/pushed:1"
    cli.ok("image", "tag", "busybox", ref)
    out = cli.ok("image", "push", ref).stdout.splitlines()
    assert out[0] == f"The push refers to repository [{public.host}/pushed]"
    assert any(line.startswith("1: digest: sha256:") and " size: " in line for line in out)
    assert manifest_exists(public.url, "pushed", "1")
    assert cli.ok("image", "push", "-q", ref).stdout == f"{ref}\n"
    guarded = f"{private.host}/pushed:1"
    cli.ok("image", "tag", "busybox", guarded)
    denied = cli.run("image", "push", guarded)
    assert denied.returncode == 1 and "Traceback" not in denied.stderr
    cli.ok("login", private.host, "-u", USER, "--password-stdin", stdin=PASSWORD)
    cli.ok("image", "push", guarded)
    assert manifest_exists(private.url, "pushed", "1", auth=(USER, PASSWORD))


def test_container_run_pulls_a_missing_image(cli: Cli, public: RegistryHandle) -> None:
    ref = f"{public.host}/tool"
    result = cli.ok("container", "run", "--rm", ref, "cat", "/version")
    assert result.stdout == "tool\n"
    assert result.stderr.startswith(f"Unable to find image '{ref}:latest' locally\n")
    assert "latest: Pulling from tool\n" in result.stderr
    present = cli.ok("container", "run", "--rm", ref, "cat", "/version")
    assert present.stderr == ""  # there now: no pull
    always = cli.ok("container", "run", "--rm", "--pull", "always", "-q", ref, "true")
    assert always.stderr == ""
    cli.ok("image", "rm", ref)
    never = cli.run("container", "run", "--rm", "--pull", "never", ref, "true")
    assert never.returncode == 125 and "No such image" in one_line(never.stderr)
    bad = cli.run("container", "run", "--pull", "sometimes", ref, "true")
    assert bad.returncode == 2 and "invalid pull option" in bad.stderr
    gone = cli.run("container", "run", "--rm", f"{public.host}/nothing", "true")
    assert gone.returncode == 125 and "Error response from daemon: " in gone.stderr


def test_container_create_pulls_a_missing_image(cli: Cli, public: RegistryHandle) -> None:
    ref = f"{public.host}/made"
    result = cli.ok("container", "create", "--name", "made-1", ref, "cat", "/version")
    assert len(result.stdout.strip()) == 64 and result.stderr.startswith(f"Unable to find image '{ref}:latest'")
    started = cli.ok("container", "start", "-a", "made-1")
    assert started.stdout == "made\n"
    cli.ok("container", "rm", "made-1")


def test_token_registry_login_then_push(cli: Cli, registry_factory: object) -> None:
    token: RegistryHandle = registry_factory("token")  # type: ignore[operator]
    ref = f"{token.host}/mine:1"
    cli.ok("image", "tag", "busybox", ref)
    anonymous = cli.run("image", "push", ref)
    assert anonymous.returncode == 1 and "Traceback" not in anonymous.stderr
    wrong = cli.run("login", token.host, "-u", USER, "--password-stdin", stdin="wrong")
    assert wrong.returncode == 1 and one_line(wrong.stderr).startswith("Error response from daemon: ")
    cli.ok("login", token.host, "-u", USER, "--password-stdin", stdin=PASSWORD)
    cli.ok("image", "push", "-q", ref)
    cli.ok("image", "rm", ref)
    assert cli.ok("image", "pull", "-q", ref).stdout == f"{ref}\n"


def test_pull_and_push_print_what_the_docker_cli_prints(cli: Cli, public: RegistryHandle) -> None:
    from tests.compose.cli.engines import docker_cli

    ref = f"{public.host}/app:2"
    cli.run("image", "rm", ref)
    theirs = docker_cli(cli.engine, "pull", ref).stdout
    cli.ok("image", "rm", ref)
    ours = cli.ok("image", "pull", ref).stdout
    assert ours == theirs
    assert cli.ok("image", "pull", ref).stdout == docker_cli(cli.engine, "pull", ref).stdout  # up to date
    untagged = f"{public.host}/app"
    cli.ok("image", "pull", untagged)
    assert cli.ok("image", "pull", untagged).stdout == docker_cli(cli.engine, "pull", untagged).stdout
    cli.ok("image", "tag", "busybox", f"{public.host}/same:1")
    assert cli.ok("image", "push", f"{public.host}/same:1").stdout.splitlines()[-1] == \
        docker_cli(cli.engine, "push", f"{public.host}/same:1").stdout.splitlines()[-1]
