"""Secrets and configs end to end: from a file, the environment and inline content, as a service sees them."""

from __future__ import annotations

import pytest

from tests.compose.cli import compose_e2e
from tests.compose.cli.compose_e2e import Stack

pytestmark = pytest.mark.root
compose_engine = compose_e2e.compose_engine  # a fixture: the module's engine
stack = compose_e2e.stack  # a fixture: a project folder and name, taken down after the test

APP = """
services:
  app:
    image: busybox
    network_mode: none
    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.1; done"]
    user: "1000:1000"
    secrets:
      - api_key
      - source: db_password
        target: db
        uid: "1000"
        gid: "1000"
        mode: 0o400
    configs:
      - greeting
      - source: app_conf
        target: /etc/app/app.conf
        mode: 0o640
secrets:
  api_key: {file: ./api_key.txt}
  db_password: {environment: DB_PASSWORD}
configs:
  greeting: {content: "hello from ${WHO}"}
  app_conf: {file: ./app.conf}
"""


def test_secrets_and_configs_from_file_environment_and_content(stack: Stack) -> None:
    stack.write(APP)
    stack.write("key-123\n", "api_key.txt")
    stack.write("level=debug\n", "app.conf")
    env = {"DB_PASSWORD": "pa55word", "WHO": "compose"}
    stack.ok("up", "-d", env=env)

    def sh(script: str, user: str = "1000") -> str:
        return stack.ok("exec", "-T", "-u", user, "app", "sh", "-c", script, env=env).stdout

    assert sh("cat /run/secrets/api_key") == "key-123\n"
    assert sh("cat /run/secrets/db") == "pa55word"
    assert sh("cat /greeting") == "hello from compose"
    assert sh("cat /etc/app/app.conf", user="0") == "level=debug\n"
    modes = sh("stat -c '%n %a %u:%g' /run/secrets/db /greeting /etc/app/app.conf", user="0").splitlines()
    assert modes == ["/run/secrets/db 400 1000:1000", "/greeting 444 0:0", "/etc/app/app.conf 640 0:0"]
    # the file secret is a read-only mount, even for root; the copied ones are read-only by mode
    denied = stack.run("exec", "-T", "-u", "0", "app", "sh", "-c", "echo x > /run/secrets/api_key", env=env)
    assert denied.returncode != 0 and "Read-only file system" in denied.stderr
    assert stack.run("exec", "-T", "-u", "1000", "app", "sh", "-c", "echo x > /greeting").returncode != 0
    mounts = {m["Destination"]: m for m in stack.inspect(f"{stack.name}-app-1")["Mounts"]}
    assert mounts["/run/secrets/api_key"]["RW"] is False
    # a one-off container gets them too
    run = stack.ok("run", "--rm", "-T", "app", "cat", "/run/secrets/db", "/greeting", env=env)
    assert run.stdout == "pa55wordhello from compose"


def test_a_missing_variable_fails_before_anything_is_created(stack: Stack) -> None:
    stack.write(APP)
    stack.write("k\n", "api_key.txt")
    stack.write("c\n", "app.conf")
    result = stack.run("up", "-d", env={"WHO": "x"})
    assert result.returncode == 1
    assert 'environment variable "DB_PASSWORD" required by secret "db_password" is not set' in result.stderr
    assert stack.containers() == []
