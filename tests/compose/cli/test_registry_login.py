"""`pycompose login` / `logout` as a user runs them: htpasswd registry, config.json, a credential helper."""

from __future__ import annotations

import base64
import json

import pytest

from tests.compose.cli.registry_e2e import Cli, cli_fixture, engine_and_rootfs_fixture  # noqa: F401
from tests.registry_fixture import USERS, RegistryHandle

USER, PASSWORD = next(iter(USERS.items()))


@pytest.fixture(scope="module")
def private(registry_factory: object) -> RegistryHandle:
    return registry_factory("htpasswd")  # type: ignore[operator, no-any-return]


def auths(cli: Cli) -> dict[str, object]:
    path = cli.config / "config.json"
    return json.loads(path.read_text()).get("auths", {}) if path.exists() else {}


def one_line(text: str) -> str:
    assert "Traceback" not in text
    lines = text.strip().splitlines()
    assert len(lines) == 1, text
    return lines[0]


def test_login_stores_in_config_json_and_logout_removes(cli: Cli, private: RegistryHandle) -> None:
    wrong = cli.run("login", private.host, "-u", USER, "--password-stdin", stdin="not-it\n")
    assert wrong.returncode == 1
    assert one_line(wrong.stderr).startswith("Error response from daemon: ")
    assert private.host not in auths(cli)

    done = cli.ok("login", private.host, "-u", USER, "--password-stdin", stdin=PASSWORD + "\n")
    assert done.stdout == "Login Succeeded\n"
    assert f"WARNING! Your credentials are stored unencrypted in '{cli.config / 'config.json'}'." in done.stderr
    entry = auths(cli)[private.host]
    assert entry == {"auth": base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()}

    again = cli.ok("login", private.host, stdin="")  # no flags: what is kept is tried first
    assert again.stdout == "Login Succeeded\n"
    assert again.stderr.startswith(f"Authenticating with existing credentials... [Username: {USER}]\n")

    out = cli.ok("logout", private.host)
    assert out.stdout == f"Removing login credentials for {private.host}\n"
    assert auths(cli) == {}


def test_password_flag_warns_and_flags_are_checked(cli: Cli, private: RegistryHandle) -> None:
    done = cli.ok("login", private.host, "-u", USER, "-p", PASSWORD)
    assert "WARNING! Using --password via the CLI is insecure. Use --password-stdin." in done.stderr
    assert done.stdout == "Login Succeeded\n"
    cli.ok("logout", private.host)
    missing_user = cli.run("login", private.host, "--password-stdin", stdin=PASSWORD)
    assert missing_user.returncode == 2 and "Must provide --username with --password-stdin" in missing_user.stderr
    no_tty = cli.run("login", private.host, stdin="")
    assert no_tty.returncode == 1
    assert one_line(no_tty.stderr) == "Error: Cannot perform an interactive login from a non TTY device"


def test_login_through_a_creds_store_helper(cli: Cli, private: RegistryHandle) -> None:
    cli.write_helper("pyctest")
    (cli.config / "config.json").write_text(json.dumps({"credsStore": "pyctest", "detachKeys": "ctrl-e,e"}))
    done = cli.ok("login", private.host, "-u", USER, "--password-stdin", stdin=PASSWORD)
    assert done.stdout == "Login Succeeded\n" and "unencrypted" not in done.stderr
    config = json.loads((cli.config / "config.json").read_text())
    assert config["auths"] == {private.host: {}} and config["detachKeys"] == "ctrl-e,e"
    kept = json.loads((cli.home / "secrets" / private.host.replace(":", "_")).read_text())
    assert kept == {"ServerURL": private.host, "Username": USER, "Secret": PASSWORD}
    cli.ok("logout", private.host)
    assert not list((cli.home / "secrets").iterdir())
    assert json.loads((cli.config / "config.json").read_text())["auths"] == {}


def test_a_missing_helper_is_one_line(cli: Cli, private: RegistryHandle) -> None:
    (cli.config / "config.json").write_text(json.dumps({"credsStore": "nosuchhelper"}))
    result = cli.run("login", private.host, "-u", USER, "--password-stdin", stdin=PASSWORD)
    assert result.returncode == 1
    assert "docker-credential-nosuchhelper" in one_line(result.stderr)


def test_login_and_logout_print_what_the_docker_cli_prints(cli: Cli, private: RegistryHandle) -> None:
    import subprocess

    from tests.compose.cli.engines import DOCKER

    if DOCKER is None:
        pytest.skip("no docker CLI on PATH")
    env = cli.env({"DOCKER_CONFIG": str(cli.home / "docker-cli")})

    def docker(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run([DOCKER, *args], env=env, input=stdin, capture_output=True, text=True, timeout=60,
                              check=False)

    theirs = docker("login", private.host, "-u", USER, "--password-stdin", stdin=PASSWORD)
    ours = cli.ok("login", private.host, "-u", USER, "--password-stdin", stdin=PASSWORD)
    assert theirs.returncode == 0 and ours.stdout == theirs.stdout
    assert ours.stderr == theirs.stderr.replace(str(cli.home / "docker-cli"), str(cli.config))
    assert json.loads((cli.home / "docker-cli" / "config.json").read_text())["auths"] == auths(cli)
    kept, again = docker("login", private.host, stdin=""), cli.run("login", private.host, stdin="")
    assert (again.stdout, again.stderr) == (kept.stdout, kept.stderr.replace("'docker ", "'pycompose "))
    assert cli.ok("logout", private.host).stdout == docker("logout", private.host).stdout
    wrong = docker("login", private.host, "-u", USER, "--password-stdin", stdin="nope")
    assert cli.run("login", private.host, "-u", USER, "--password-stdin", stdin="nope").stderr == wrong.stderr
