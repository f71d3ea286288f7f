"""`pycompose up` end to end: real containers on a private engine, the command run as a user runs it.

Services use `network_mode: none` unless the test is about networks, so a
test about something else does not depend on the network code.
"""

from __future__ import annotations

import signal
import socket
import time

import pytest

from tests.compose.cli import compose_e2e
from tests.compose.cli.compose_e2e import Stack, wait_for

pytestmark = pytest.mark.root
compose_engine = compose_e2e.compose_engine  # a fixture: the module's engine
stack = compose_e2e.stack  # a fixture: a project folder and name, taken down after the test

LOOP = '["sh", "-c", "trap \'exit 0\' TERM; echo ready; while true; do sleep 0.1; done"]'
TWO = f"""
services:
  web:
    image: busybox
    network_mode: none
    command: {LOOP}
    depends_on: [db]
  db:
    image: busybox
    network_mode: none
    command: {LOOP}
"""


def test_up_detached_creates_and_starts_in_dependency_order(stack: Stack) -> None:
    stack.write(TWO)
    result = stack.ok("--progress", "plain", "up", "-d")
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    for name in ("db", "web"):
        for word in ("Creating", "Created", "Starting", "Started"):
            assert f" Container {stack.name}-{name}-1  {word}" in lines, result.stderr
    assert lines.index(f" Container {stack.name}-db-1  Started") < lines.index(
        f" Container {stack.name}-web-1  Starting")
    assert stack.states() == {f"{stack.name}-db-1": "running", f"{stack.name}-web-1": "running"}
    labels = stack.inspect(f"{stack.name}-web-1")["Config"]["Labels"]
    assert labels["com.docker.compose.project"] == stack.name
    assert labels["com.docker.compose.service"] == "web" and labels["com.docker.compose.container-number"] == "1"


def test_up_again_keeps_what_is_current_and_recreates_what_changed(stack: Stack) -> None:
    stack.write(TWO)
    stack.ok("up", "-d")
    before = {c["Name"]: c["ID"] for c in stack.containers()}
    again = stack.ok("--progress", "plain", "up", "-d")
    assert f" Container {stack.name}-web-1  Running" in again.stderr.splitlines()
    assert {c["Name"]: c["ID"] for c in stack.containers()} == before
    stack.write(TWO.replace("depends_on: [db]", "depends_on: [db]\n    environment: {CHANGED: '1'}"))
    changed = stack.ok("--progress", "plain", "up", "-d")
    assert f" Container {stack.name}-web-1  Recreated" in changed.stderr.splitlines()
    after = {c["Name"]: c["ID"] for c in stack.containers()}
    assert after[f"{stack.name}-db-1"] == before[f"{stack.name}-db-1"]
    assert after[f"{stack.name}-web-1"] != before[f"{stack.name}-web-1"]
    assert "CHANGED=1" in stack.inspect(f"{stack.name}-web-1")["Config"]["Env"]
    forced = stack.ok("up", "-d", "--force-recreate", "db")
    assert forced.returncode == 0
    assert {c["Name"]: c["ID"] for c in stack.containers()}[f"{stack.name}-db-1"] != before[f"{stack.name}-db-1"]


def test_up_scale_up_and_down(stack: Stack) -> None:
    stack.write(TWO)
    stack.ok("up", "-d", "--scale", "web=3")
    assert sorted(stack.states()) == sorted(f"{stack.name}-{s}" for s in ("db-1", "web-1", "web-2", "web-3"))
    stack.ok("up", "-d", "--scale", "web=1")
    assert sorted(stack.states()) == [f"{stack.name}-db-1", f"{stack.name}-web-1"]


def test_up_no_start_then_start(stack: Stack) -> None:
    stack.write(TWO)
    stack.ok("up", "--no-start")
    assert set(stack.states().values()) == {"created"}
    stack.ok("start")
    assert set(stack.states().values()) == {"running"}


def test_up_wait_counts_a_one_shot_exit_0_and_fails_on_a_failure(stack: Stack) -> None:
    stack.write(f"""
services:
  job:
    image: busybox
    network_mode: none
    command: ["sh", "-c", "echo migrated"]
  web:
    image: busybox
    network_mode: none
    command: {LOOP}
""")
    stack.ok("up", "--wait", "--wait-timeout", "30")
    wanted = {f"{stack.name}-job-1": "exited", f"{stack.name}-web-1": "running"}
    assert wait_for(lambda: stack.states() == wanted)  # the job may have been seen still running
    # Without a health check a container counts once it runs (as Docker Compose's `--wait`), so a fast failure
    # might be seen running first; a health check makes "ready" wait for more than that.
    failing = stack.dir.joinpath("compose.yaml").read_text().replace("echo migrated", "exit 3")
    stack.write(failing.replace("    network_mode: none\n", "    network_mode: none\n"
                                "    healthcheck: {test: [CMD, 'true'], interval: 1s}\n", 1))
    failed = stack.run("up", "--wait", "--wait-timeout", "30")
    assert failed.returncode == 1
    assert f"{stack.name}-job-1 exited (3)" in failed.stderr


def test_up_waits_for_healthy_and_completed_dependencies(stack: Stack) -> None:
    stack.write(f"""
services:
  db:
    image: busybox
    network_mode: none
    command: ["sh", "-c", "sleep 0.5; touch /tmp/ready; trap 'exit 0' TERM; while true; do sleep 0.1; done"]
    healthcheck: {{test: ["CMD", "test", "-f", "/tmp/ready"], interval: 200ms, retries: 50}}
  migrate:
    image: busybox
    network_mode: none
    command: ["sh", "-c", "sleep 0.3; echo done"]
  web:
    image: busybox
    network_mode: none
    command: {LOOP}
    depends_on:
      db: {{condition: service_healthy}}
      migrate: {{condition: service_completed_successfully}}
""")
    result = stack.run("--progress", "plain", "up", "-d", timeout=120)
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    assert f" Container {stack.name}-db-1  Healthy" in lines
    web_started = lines.index(f" Container {stack.name}-web-1  Starting")
    assert lines.index(f" Container {stack.name}-db-1  Healthy") < web_started
    assert lines.index(f" Container {stack.name}-migrate-1  Exited") < web_started
    web = stack.inspect(f"{stack.name}-web-1")["State"]["StartedAt"]
    migrate = stack.inspect(f"{stack.name}-migrate-1")["State"]["FinishedAt"]
    assert migrate <= web


def test_up_attached_streams_prefixed_logs_until_all_exit(stack: Stack) -> None:
    stack.write("""
services:
  hello:
    image: busybox
    network_mode: none
    command: ["sh", "-c", "echo hello; sleep 0.3; echo bye >&2"]
  world:
    image: busybox
    network_mode: none
    command: ["sh", "-c", "sleep 0.2; echo world; exit 2"]
""")
    result = stack.run("--ansi", "never", "up", timeout=60)
    assert result.returncode == 0, result.stderr
    out = result.stdout.splitlines()
    assert out[0] == "Attaching to hello-1, world-1"
    assert "hello-1  | hello" in out and "world-1  | world" in out
    assert "hello-1  | bye" in result.stderr.splitlines()
    assert "hello-1 exited with code 0" in out and "world-1 exited with code 2" in out
    assert out.index("world-1  | world") < out.index("world-1 exited with code 2")


def test_up_no_log_prefix_and_timestamps(stack: Stack) -> None:
    stack.write("""
services:
  one:
    image: busybox
    network_mode: none
    command: ["echo", "plain line"]
""")
    bare = stack.ok("--ansi", "never", "up", "--no-log-prefix")
    assert "plain line" in bare.stdout.splitlines()
    stamped = stack.ok("--ansi", "never", "up", "--force-recreate", "--timestamps")
    line = next(x for x in stamped.stdout.splitlines() if x.endswith("plain line"))
    assert line.startswith("one-1  | 20") and "T" in line


def test_up_exit_code_from_stops_the_rest(stack: Stack) -> None:
    stack.write(f"""
services:
  tests:
    image: busybox
    network_mode: none
    command: ["sh", "-c", "sleep 0.3; echo failing; exit 5"]
  server:
    image: busybox
    network_mode: none
    command: {LOOP}
""")
    result = stack.run("--ansi", "never", "up", "--exit-code-from", "tests", timeout=60)
    assert result.returncode == 5, result.stderr
    assert "Aborting on container exit..." in result.stdout
    assert stack.states()[f"{stack.name}-server-1"] == "exited"


def test_up_abort_on_container_failure_ignores_successes(stack: Stack) -> None:
    stack.write(f"""
services:
  ok:
    image: busybox
    network_mode: none
    command: ["true"]
  bad:
    image: busybox
    network_mode: none
    command: ["sh", "-c", "sleep 0.5; exit 4"]
  server:
    image: busybox
    network_mode: none
    command: {LOOP}
""")
    result = stack.run("--ansi", "never", "up", "--abort-on-container-failure", timeout=60)
    assert result.returncode == 4, result.stderr
    assert "ok-1 exited with code 0" in result.stdout and "bad-1 exited with code 4" in result.stdout
    assert stack.states()[f"{stack.name}-server-1"] == "exited"


def test_up_ctrl_c_stops_gracefully(stack: Stack) -> None:
    stack.write(TWO)
    process = stack.popen("--ansi", "never", "--progress", "plain", "up")
    try:
        assert process.stdout is not None
        first = process.stdout.readline()  # blocks until up attaches (its signal handling starts then)
        assert first == "Attaching to db-1, web-1\n"
        assert wait_for(lambda: set(stack.states().values()) == {"running"}, timeout=30)
        time.sleep(0.3)
        process.send_signal(signal.SIGINT)
        rest, err = process.communicate(timeout=60)
        out = first + rest
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 130, err
    assert "Attaching to db-1, web-1" in out and "web-1  | ready" in out
    assert "Gracefully stopping... (press Ctrl+C again to force)" in err
    assert f" Container {stack.name}-web-1  Stopped" in err.splitlines()
    assert set(stack.states().values()) == {"exited"}


def test_up_warns_about_orphans_and_removes_them_on_request(stack: Stack) -> None:
    stack.write(TWO)
    stack.ok("up", "-d")
    stack.write(TWO.replace("    depends_on: [db]\n", "").split("  db:")[0])
    warned = stack.ok("up", "-d")
    assert f"Found orphan containers ({stack.name}-db-1)" in warned.stderr
    stack.ok("up", "-d", "--remove-orphans")
    assert sorted(stack.states()) == [f"{stack.name}-web-1"]


def test_up_says_why_an_image_is_missing(stack: Stack) -> None:
    stack.write("""
services:
  app:
    build: .
    network_mode: none
""")
    nobuild = stack.run("up", "-d", "--no-build")
    assert nobuild.returncode == 1 and len(nobuild.stderr.splitlines()) == 1, nobuild.stderr
    assert f"no such image: {stack.name}-app" in nobuild.stderr and "--no-build" in nobuild.stderr
    # a missing image is pulled (from a registry that is not there: loopback traffic only) and fails in one line
    stack.write("services:\n  app: {image: 127.0.0.1:9/nosuchimage:1, network_mode: none}\n")
    missing = stack.run("up", "-d")
    assert missing.returncode == 1
    assert missing.stderr.strip().splitlines()[-1].startswith("Error response from daemon: ")


def test_up_rejects_incompatible_flags(stack: Stack) -> None:
    stack.write(TWO)
    result = stack.run("up", "-d", "--abort-on-container-exit")
    assert result.returncode == 2 and "--detach cannot be combined" in result.stderr
    assert stack.run("up", "--exit-code-from", "nope").returncode == 1


def test_up_default_network_lets_services_resolve_each_other(stack: Stack) -> None:
    stack.write(f"""
services:
  server:
    image: busybox
    command: {LOOP}
  client:
    image: busybox
    command: ["sh", "-c", "ping -c 1 -W 2 server"]
    depends_on: [server]
""")
    result = stack.run("--ansi", "never", "up", "--exit-code-from", "client", timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{stack.name}_default" in stack.inspect(f"{stack.name}-server-1")["NetworkSettings"]["Networks"]


def test_up_named_volume_survives_recreate(stack: Stack) -> None:
    stack.write(f"""
services:
  app:
    image: busybox
    network_mode: none
    command: {LOOP}
    volumes: ["data:/data"]
volumes:
  data: {{}}
""")
    stack.ok("up", "-d")
    stack.ok("exec", "-T", "app", "sh", "-c", "echo kept > /data/file")
    stack.ok("up", "-d", "--force-recreate")
    assert stack.ok("exec", "-T", "app", "cat", "/data/file").stdout == "kept\n"


def test_up_reports_a_start_that_fails(stack: Stack) -> None:
    """A container whose start fails (its published port is taken) fails `up` as Docker Compose: exit 1 and
    the daemon's message, attached or not; the container is left created."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen(1)
        port = holder.getsockname()[1]
        stack.write(f"""
services:
  web:
    image: busybox
    command: {LOOP}
    ports: ["127.0.0.1:{port}:80"]
""")
        for flags in (("-d",), ()):
            failed = stack.run("up", *flags, timeout=60)
            assert failed.returncode == 1, (flags, failed.stdout, failed.stderr)
            assert f"Bind for 127.0.0.1:{port} failed: port is already allocated" in failed.stderr, flags
            assert stack.states() == {f"{stack.name}-web-1": "created"}
