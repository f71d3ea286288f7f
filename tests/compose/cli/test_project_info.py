"""`version`, `ls`, `images`, `port`, `top`, `scale`, `events`, `wait` end to end, output as Docker Compose's."""

from __future__ import annotations

import json
import re
import time

import pytest

from tests.compose.cli import compose_e2e
from tests.compose.cli.compose_e2e import Stack, wait_for

pytestmark = pytest.mark.root
compose_engine = compose_e2e.compose_engine  # a fixture: the module's engine
stack = compose_e2e.stack  # a fixture: a project folder and name, taken down after the test

LOOP = '["sh", "-c", "trap \'exit 0\' TERM; while true; do sleep 0.1; done"]'
APP = f"""
services:
  web:
    image: busybox
    command: {LOOP}
    ports: ["127.0.0.1::80", "8125/udp"]
  job:
    image: busybox
    network_mode: none
    command: ["sh", "-c", "sleep 0.5; exit 3"]
"""


def test_version_plain_short_and_json(stack: Stack) -> None:
    assert re.fullmatch(r"Docker Compose version v\d+\.\d+\.\d+\n", stack.ok("version").stdout)
    short = stack.ok("version", "--short").stdout.strip()
    assert re.fullmatch(r"\d+\.\d+\.\d+", short)
    assert json.loads(stack.ok("version", "--format", "json").stdout) == {"version": f"v{short}"}


def test_ls_images_port_top(stack: Stack) -> None:
    path = stack.write(APP)
    stack.ok("up", "-d")
    wait_for(lambda: stack.states().get(f"{stack.name}-job-1") == "exited")
    rows = json.loads(stack.ok("ls", "--format", "json").stdout)
    assert [r for r in rows if r["Name"] == stack.name] == [
        {"Name": stack.name, "Status": "running(1)", "ConfigFiles": str(path)}]
    everything = json.loads(stack.ok("ls", "-a", "--format", "json", "--filter", f"name={stack.name}").stdout)
    assert everything == [{"Name": stack.name, "Status": "exited(1), running(1)", "ConfigFiles": str(path)}]
    assert stack.ok("ls", "-q", "--filter", f"name={stack.name}").stdout == f"{stack.name}\n"
    table = stack.ok("ls", "--filter", f"name={stack.name}").stdout.splitlines()
    assert table[0].split() == ["NAME", "STATUS", "CONFIG", "FILES"] and table[1].split()[:2] == [stack.name,
                                                                                                "running(1)"]
    assert stack.run("ls", "--filter", "bogus=1").returncode != 0

    images = json.loads(stack.ok("images", "--format", "json").stdout)
    assert sorted(i["ContainerName"] for i in images) == [f"{stack.name}-job-1", f"{stack.name}-web-1"]
    for image in images:
        assert image["Repository"] == "busybox" and image["Tag"] == "latest"
        assert image["ID"].startswith("sha256:") and image["Size"] > 0 and "Platform" in image
    ids = stack.ok("images", "-q").stdout.split()
    assert ids == [images[0]["ID"].split(":")[1]]
    header, *lines = stack.ok("images", "web").stdout.splitlines()
    assert header.split()[:3] == ["CONTAINER", "REPOSITORY", "TAG"] and "IMAGE ID" in header
    assert len(lines) == 1 and lines[0].startswith(f"{stack.name}-web-1 ")

    published = stack.ok("port", "web", "80").stdout.strip()
    assert re.fullmatch(r"127\.0\.0\.1:\d+", published)
    assert re.fullmatch(r"0\.0\.0\.0:\d+\n", stack.ok("port", "--protocol", "udp", "web", "8125").stdout)
    assert stack.ok("port", "--index", "1", "web", "80").stdout.strip() == published
    missing = stack.run("port", "web", "81")
    assert missing.returncode == 1 and "no port 81/tcp" in missing.stderr and "Traceback" not in missing.stderr
    assert stack.run("port", "nope", "80").returncode == 1

    top = stack.ok("top", "web").stdout.splitlines()
    assert top[0] == f"{stack.name}-web-1" and top[1].split()[:2] == ["UID", "PID"]
    assert any("sleep" in line or "sh -c" in line for line in top[2:])


def test_scale_up_and_down(stack: Stack) -> None:
    stack.write(f"services:\n  web:\n    image: busybox\n    network_mode: none\n    command: {LOOP}\n")
    stack.ok("up", "-d")
    stack.ok("scale", "web=3")
    assert sorted(stack.states()) == [f"{stack.name}-web-{n}" for n in (1, 2, 3)]
    assert set(stack.states().values()) == {"running"}
    stack.ok("scale", "web=1")
    assert list(stack.states()) == [f"{stack.name}-web-1"]
    bad = stack.run("scale", "web")
    assert bad.returncode != 0 and "SERVICE=NUMBER" in bad.stderr
    assert stack.run("scale", "nope=2").returncode == 1


def test_events_json_and_plain(stack: Stack) -> None:
    stack.write(f"services:\n  web:\n    image: busybox\n    network_mode: none\n    command: {LOOP}\n")
    since = str(int(time.time()) - 1)
    stack.ok("up", "-d")
    stack.ok("stop", "-t", "1")
    until = str(int(time.time()) + 1)
    lines = stack.ok("events", "--json", "--since", since, "--until", until).stdout.splitlines()
    events = [json.loads(line) for line in lines]
    assert {"create", "start", "stop"} <= {e["action"] for e in events}
    for event in events:
        assert set(event) == {"time", "type", "service", "id", "action", "attributes"}
        assert event["type"] == "container" and event["service"] == "web" and len(event["id"]) == 64
        assert not any(k.startswith("com.docker.compose.") for k in event["attributes"])
    start = next(e for e in events if e["action"] == "start")
    assert start["attributes"]["name"] == f"{stack.name}-web-1" and start["time"].endswith("Z")
    plain = stack.ok("events", "--since", since, "--until", until).stdout.splitlines()
    assert any(re.fullmatch(rf"\d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{{6}} container start {start['id']} \(.*"
                            rf"name={stack.name}-web-1.*\)", line) for line in plain)


def test_events_follow_until_interrupted(stack: Stack) -> None:
    stack.write(f"services:\n  web:\n    image: busybox\n    network_mode: none\n    command: {LOOP}\n")
    follower = stack.popen("events", "--json")
    try:
        time.sleep(1.0)
        stack.ok("up", "-d")
        assert follower.stdout is not None
        first = json.loads(follower.stdout.readline())
        assert first["action"] == "create" and first["service"] == "web"
    finally:
        follower.terminate()
        follower.communicate(timeout=10)


def test_wait_returns_the_first_exit_and_downs_the_project(stack: Stack) -> None:
    stack.write(APP.replace('"127.0.0.1::80", "8125/udp"', ""))
    stack.ok("up", "-d")
    result = stack.run("wait", "job")
    assert result.returncode == 3, result.stderr
    down = stack.run("wait", "--down-project", "job")
    assert down.returncode == 3, down.stderr
    assert stack.containers() == []
    assert stack.run("wait").returncode != 0


def test_commands_are_listed_in_help(stack: Stack) -> None:
    out = stack.ok("--help").stdout
    for name in ("attach", "commit", "cp", "events", "export", "images", "ls", "port", "scale", "stats", "top",
                 "version", "wait"):
        assert re.search(rf"^\s+{name}\s", out, re.M), name
