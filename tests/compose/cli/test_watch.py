"""`pycompose watch` as a user runs it: an edited synced file is read inside the container within 1 s,
without a restart; deletions, ignore/include, initial_sync, sync+exec, restart; rebuild builds and recreates."""

from __future__ import annotations

import signal
import subprocess
import time

import pytest

from tests.compose.cli import compose_e2e
from tests.compose.cli.compose_e2e import Stack, wait_for

pytestmark = [pytest.mark.root, pytest.mark.timeout(180)]
compose_engine = compose_e2e.compose_engine
stack = compose_e2e.stack

APP = """
services:
  app:
    image: busybox
    init: true
    command: ["sh", "-c", "mkdir -p /app; echo started >> /tmp/starts; exec sleep 1000000"]
    develop:
      watch:
        - action: sync
          path: ./src
          target: /app
          ignore: ["*.tmp", "cache/"]
          initial_sync: true
        - action: sync+exec
          path: ./hooks
          target: /hooks
          exec:
            command: ["sh", "-c", "cat /hooks/hook.txt > /tmp/hook-ran"]
        - action: restart
          path: ./restart.conf
"""


def cat(stack: Stack, path: str) -> str:
    result = stack.run("exec", "-T", "app", "cat", path, timeout=20)
    return result.stdout if result.returncode == 0 else ""


def interrupt(process: subprocess.Popen[str], timeout: float) -> tuple[str, str]:
    """Ctrl+C, then the command's (stdout, stderr); killed if it has not ended within `timeout`."""
    process.send_signal(signal.SIGINT)
    try:
        return process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.communicate()


def test_watch_syncs_without_a_restart(stack: Stack) -> None:
    stack.write(APP)
    (stack.dir / "src").mkdir()
    (stack.dir / "src" / "main.txt").write_text("v0\n")
    (stack.dir / "hooks").mkdir()
    (stack.dir / "restart.conf").write_text("a\n")
    watcher = stack.popen("watch")
    try:
        assert wait_for(lambda: cat(stack, "/app/main.txt") == "v0\n", timeout=60), "initial_sync"
        time.sleep(0.3)  # the watcher is past its first sync and watching

        (stack.dir / "src" / "main.txt").write_text("v1\n")
        edited = time.monotonic()
        assert wait_for(lambda: cat(stack, "/app/main.txt") == "v1\n", timeout=5, interval=0.02)
        assert time.monotonic() - edited < 1.0, "the synced file took over 1 s to reach the container"

        (stack.dir / "src" / "sub").mkdir()
        (stack.dir / "src" / "sub" / "deep.txt").write_text("deep\n")
        (stack.dir / "src" / "skip.tmp").write_text("no\n")
        assert wait_for(lambda: cat(stack, "/app/sub/deep.txt") == "deep\n", timeout=5)
        assert cat(stack, "/app/skip.tmp") == ""

        (stack.dir / "src" / "main.txt").unlink()
        assert wait_for(lambda: stack.run("exec", "-T", "app", "test", "-e", "/app/main.txt").returncode == 1,
                        timeout=5)

        (stack.dir / "hooks" / "hook.txt").write_text("hooked\n")
        assert wait_for(lambda: cat(stack, "/tmp/hook-ran") == "hooked\n", timeout=5)
        assert cat(stack, "/tmp/starts") == "started\n", "a sync must not restart the container"

        (stack.dir / "restart.conf").write_text("b\n")
        assert wait_for(lambda: cat(stack, "/tmp/starts") == "started\nstarted\n", timeout=15)
    finally:
        _out, err = interrupt(watcher, 15)
    assert "Traceback" not in err, err
    assert "Syncing" in err, err


def test_rebuild_builds_and_recreates_the_service(stack: Stack) -> None:
    stack.write("""
services:
  app:
    build: {context: ., network: none}
    init: true
    network_mode: none
    develop:
      watch:
        - {action: rebuild, path: ./src}
""")
    stack.write("FROM busybox\nCOPY src/version.txt /version\nCMD [\"sleep\", \"1000000\"]\n", "Dockerfile")
    (stack.dir / "src").mkdir()
    (stack.dir / "src" / "version.txt").write_text("v1\n")
    watcher = stack.popen("watch")
    try:
        assert wait_for(lambda: cat(stack, "/version") == "v1\n", timeout=60), "the first build and up"
        first = stack.inspect(f"{stack.name}-app-1")["Id"]
        time.sleep(0.3)
        (stack.dir / "src" / "version.txt").write_text("v2\n")
        assert wait_for(lambda: cat(stack, "/version") == "v2\n", timeout=60), "rebuilt and recreated"
        assert stack.inspect(f"{stack.name}-app-1")["Id"] != first
    finally:
        _out, err = interrupt(watcher, 15)
    assert "Traceback" not in err, err
    assert 'Rebuilt image and recreated service "app"' in err, err


def test_rebuild_rules_need_a_build_section(stack: Stack) -> None:
    stack.write("""
services:
  app:
    image: busybox
    develop:
      watch:
        - {action: rebuild, path: .}
""")
    result = stack.run("watch", "--no-up")
    assert result.returncode == 1
    assert result.stderr.strip() == "watch: service app: a rebuild rule needs a build section"


def test_no_rule_at_all(stack: Stack) -> None:
    stack.write("services:\n  app: {image: busybox}\n")
    result = stack.run("watch", "--no-up")
    assert result.returncode == 1 and "consider setting a 'develop' section" in result.stderr


def test_up_watch_follows_the_logs_and_syncs(stack: Stack) -> None:
    stack.write("""
services:
  app:
    image: busybox
    init: true
    command: ["sh", "-c", "mkdir -p /app; echo app is up; exec sleep 1000000"]
    develop:
      watch:
        - {action: sync, path: ./src, target: /app}
""")
    (stack.dir / "src").mkdir()
    up = stack.popen("up", "--watch")
    try:
        assert wait_for(lambda: stack.run("exec", "-T", "app", "true").returncode == 0, timeout=60)
        time.sleep(0.5)  # the watcher starts once the service runs
        (stack.dir / "src" / "new.txt").write_text("fresh\n")
        assert wait_for(lambda: cat(stack, "/app/new.txt") == "fresh\n", timeout=5)
    finally:
        out, err = interrupt(up, 30)
    assert "app is up" in out, out + err
    assert "Traceback" not in err, err
