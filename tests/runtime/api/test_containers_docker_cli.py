"""Containers through the real docker CLI against a private engine: run, ps, logs, exec, stop, rm,
restart policies, events, and interactive `docker exec -it` and `docker run -it` in tmux."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.engine_fixture import start_private_engine
from tests.runtime.api.containers_env import (
    docker_env,
    env,
    eventually,
    import_busybox,
    inspect,
    no_containers_left,
    out,
    private_engine,
    run,
)

pytestmark = [pytest.mark.root, pytest.mark.timeout(90)]
__all__ = ["docker_env", "env", "private_engine"]


def test_run_prints_and_removes(env: dict[str, str]) -> None:
    result = run(env, "run", "--rm", "busybox", "echo", "hi")
    assert result.stdout == b"hi\n"
    assert run(env, "run", "--rm", "busybox", "sh", "-c", "echo oops >&2").stderr == b"oops\n"
    no_containers_left(env)


def test_run_exit_code(env: dict[str, str]) -> None:
    assert run(env, "run", "--rm", "busybox", "sh", "-c", "exit 7", check=False).returncode == 7
    missing = run(env, "run", "--rm", "busybox", "no-such-command", check=False)
    assert missing.returncode == 127 and b"executable file not found" in missing.stderr


def test_log_driver_none_keeps_nothing_but_attach_still_sees_the_output(env: dict[str, str]) -> None:
    assert run(env, "run", "--rm", "--log-driver", "none", "busybox", "echo", "hi").stdout == b"hi\n"
    cid = out(env, "run", "-d", "--log-driver", "none", "busybox", "sh", "-c", "echo kept nowhere").strip()
    try:
        eventually(lambda: out(env, "inspect", "-f", "{{.State.Status}}", cid).strip() == "exited")
        logs = run(env, "logs", cid, check=False)
        assert logs.returncode != 0 and b"does not support reading" in logs.stderr
        bundle = Path(out(env, "inspect", "-f", "{{.ResolvConfPath}}", cid).strip()).parent
        assert not list(bundle.glob("*-json.log*"))
    finally:
        run(env, "rm", "-f", cid)


def test_pause_freezes_unpause_resumes_and_stop_ends_a_paused_container(env: dict[str, str]) -> None:
    cid = out(env, "run", "-d", "busybox", "sh", "-c", "while true; do echo tick; sleep 0.05; done").strip()
    try:
        def ticks() -> int:
            return out(env, "logs", cid).count("tick")

        eventually(lambda: ticks() > 2)
        run(env, "pause", cid)
        assert out(env, "inspect", "-f", "{{.State.Status}} {{.State.Paused}} {{.State.Running}}", cid).split() == [
            "paused", "true", "true"]
        assert "(Paused)" in out(env, "ps", "--format", "{{.Status}}")
        frozen = ticks()
        time.sleep(0.4)
        assert ticks() == frozen  # not a line while frozen
        again = run(env, "pause", cid, check=False)
        assert again.returncode != 0 and b"is already paused" in again.stderr
        refused = run(env, "exec", cid, "true", check=False)
        assert refused.returncode != 0 and b"is paused" in refused.stderr
        run(env, "unpause", cid)
        eventually(lambda: ticks() > frozen)
        not_paused = run(env, "unpause", cid, check=False)
        assert not_paused.returncode != 0 and b"is not paused" in not_paused.stderr
        run(env, "pause", cid)
        run(env, "stop", "-t", "1", cid)  # resumed after the signal, killed after the grace period
        assert out(env, "inspect", "-f", "{{.State.Status}}", cid).strip() == "exited"
    finally:
        run(env, "rm", "-f", cid)


def test_top_lists_the_containers_processes_only(env: dict[str, str]) -> None:
    cid = out(env, "run", "-d", "busybox", "sh", "-c", "sleep 1001 & sleep 1002").strip()
    try:
        eventually(lambda: "sleep 1001" in out(env, "top", cid))
        lines = out(env, "top", cid).splitlines()
        assert lines[0].split()[:3] == ["UID", "PID", "PPID"] and lines[0].split()[-1] == "CMD"
        commands = [line.split(None, 7)[-1] for line in lines[1:]]
        assert "sleep 1001" in commands and "sleep 1002" in commands  # and nothing of the host's
        assert all(c.startswith(("sleep", "sh")) for c in commands)
        custom = out(env, "top", cid, "-o", "pid,comm").splitlines()
        assert custom[0].split() == ["PID", "COMMAND"] and len(custom) == len(lines)
        run(env, "stop", "-t", "0", cid)
        stopped = run(env, "top", cid, check=False)
        assert stopped.returncode != 0 and b"is not running" in stopped.stderr
    finally:
        run(env, "rm", "-f", cid)


def test_run_with_stdin(env: dict[str, str]) -> None:
    result = run(env, "run", "--rm", "-i", "busybox", "sh", "-c", "tr a-z A-Z", stdin=b"shout\n")
    assert result.stdout == b"SHOUT\n"


def test_detached_container_lifecycle(env: dict[str, str]) -> None:
    cid = out(env, "run", "-d", "--name", "ww", "busybox", "sh", "-c", "echo started; sleep 1000").strip()
    assert len(cid) == 64
    ps = out(env, "ps")
    assert "ww" in ps and '"sh -c echo started;' in ps and "Up " in ps
    eventually(lambda: out(env, "logs", "ww") == "started\n")
    assert "bin\n" in out(env, "exec", "ww", "ls", "/")
    assert run(env, "exec", "ww", "sh", "-c", "exit 3", check=False).returncode == 3
    missing = run(env, "exec", "ww", "nosuch", check=False)
    assert missing.returncode in (126, 127) and b"nosuch" in missing.stdout + missing.stderr
    assert out(env, "exec", "-w", "/tmp", "-e", "X=1", "ww", "sh", "-c", "pwd; echo $X") == "/tmp\n1\n"
    started = time.monotonic()
    run(env, "stop", "-t", "1", "ww")
    assert time.monotonic() - started < 10
    info = inspect(env, "ww")
    state = info["State"]
    assert isinstance(state, dict) and state["Status"] == "exited" and state["ExitCode"] == 137
    assert info["Name"] == "/ww" and info["Id"] == cid and info["Path"] == "sh"
    assert isinstance(info["Config"], dict) and info["Config"]["Image"] == "busybox"
    assert "Exited (137)" in out(env, "ps", "-a")
    run(env, "start", "ww")
    assert inspect(env, "ww")["State"]["Running"] is True  # type: ignore[index]
    busy = run(env, "rm", "ww", check=False)
    assert busy.returncode != 0 and b"You cannot remove a running container" in busy.stderr
    run(env, "rm", "-f", "ww")
    no_containers_left(env)


def test_errors_use_dockers_messages(env: dict[str, str]) -> None:
    run(env, "create", "--name", "taken", "busybox")
    clash = run(env, "create", "--name", "taken", "busybox", check=False)
    assert b'Conflict. The container name "/taken" is already in use by container' in clash.stderr
    assert b"No such container: nothing-here" in run(env, "rm", "nothing-here", check=False).stderr
    stopped = run(env, "stop", "taken", check=False)
    assert stopped.returncode == 0  # 304: already stopped is fine for the CLI
    run(env, "rename", "taken", "renamed")
    assert "renamed" in out(env, "ps", "-a", "--format", "{{.Names}}")
    run(env, "rm", "renamed")


def test_restart_policies(env: dict[str, str]) -> None:
    run(env, "run", "-d", "--name", "always", "--restart", "always", "busybox", "true")
    run(env, "run", "-d", "--name", "twice", "--restart", "on-failure:2", "busybox", "sh", "-c", "exit 1")
    run(env, "run", "-d", "--name", "unless", "--restart", "unless-stopped", "busybox", "sleep", "1000")

    def restarts(name: str) -> int:
        return int(out(env, "inspect", "-f", "{{.RestartCount}}", name))

    eventually(lambda: restarts("always") >= 2)
    eventually(lambda: out(env, "inspect", "-f", "{{.State.Status}} {{.RestartCount}}", "twice") == "exited 2\n")
    time.sleep(1)  # a third restart would come after 400 ms
    assert restarts("twice") == 2
    run(env, "stop", "-t", "0", "unless")
    time.sleep(0.5)
    assert out(env, "inspect", "-f", "{{.State.Status}}", "unless") == "exited\n"
    run(env, "rm", "-f", "always", "twice", "unless")


def test_events_stream(env: dict[str, str]) -> None:
    since = str(int(time.time()) - 1)
    run(env, "run", "--rm", "--name", "evented", "busybox", "true")
    until = str(int(time.time()) + 1)
    text = out(env, "events", "--since", since, "--until", until, "--filter", "container=evented",
               "--format", "{{json .}}")
    actions = [json.loads(line)["Action"] for line in text.splitlines()]
    assert actions == ["create", "attach", "start", "die", "destroy"]


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_exec_interactive_in_tmux(env: dict[str, str]) -> None:
    run(env, "run", "-d", "--name", "tty", "busybox", "sleep", "1000")
    server = f"pyc-test-{secrets.token_hex(4)}"
    tmux = ["tmux", "-L", server]
    subprocess.run([*tmux, "new-session", "-d", "-s", "t", "-x", "100", "-y", "20",
                    "-e", f"DOCKER_HOST={env['DOCKER_HOST']}", "-e", f"DOCKER_CONFIG={env['DOCKER_CONFIG']}",
                    "-e", f"HOME={env['HOME']}"], check=True)
    try:
        def keys(*text: str) -> None:
            subprocess.run([*tmux, "send-keys", "-t", "t", *text], check=True)

        def screen() -> str:
            return subprocess.run([*tmux, "capture-pane", "-t", "t", "-p"], capture_output=True, text=True,
                                  check=True).stdout

        keys("docker exec -it tty sh; echo status=$?", "Enter")
        eventually(lambda: "/ #" in screen(), show=screen)
        keys("echo $((6*7))", "Enter")
        eventually(lambda: "\n42\n" in screen(), show=screen)
        keys("exit 5", "Enter")
        eventually(lambda: "status=5" in screen(), show=screen)
        keys("clear", "Enter")
        eventually(lambda: "status=5" not in screen(), show=screen)
        keys("docker run -it --rm busybox sh; echo status=$?", "Enter")
        eventually(lambda: "/ #" in screen(), show=screen)
        keys("stty size", "Enter")  # the terminal's size reached the container's tty
        eventually(lambda: "\n20 100\n" in screen(), show=screen)
        keys("exit 6", "Enter")
        eventually(lambda: "status=6" in screen(), show=screen)
    finally:
        subprocess.run([*tmux, "kill-server"], check=False)
    run(env, "rm", "-f", "tty")


def test_engine_restart_readopts_containers(tmp_path: Path, docker_env: dict[str, str]) -> None:
    """Containers outlive their engine; the next engine on the same root takes them over."""
    first = start_private_engine(tmp_path / "own")
    env = {**docker_env, **first.docker_env}
    import_busybox(env, tmp_path)
    second = None
    try:
        run(env, "run", "-d", "--name", "survivor", "busybox", "sleep", "1000")
        run(env, "run", "-d", "--name", "comeback", "--restart", "always", "busybox", "sh", "-c", "sleep 1000")
        pid = inspect(env, "survivor")["State"]["Pid"]  # type: ignore[index]
        doomed = inspect(env, "comeback")["State"]["Pid"]  # type: ignore[index]
        first.stop()
        os.kill(doomed, signal.SIGKILL)  # dies while no engine watches: its policy applies at boot
        second = start_private_engine(tmp_path / "own")
        env = {**docker_env, **second.docker_env}
        state = inspect(env, "survivor")["State"]
        assert isinstance(state, dict) and state["Running"] is True and state["Pid"] == pid
        assert out(env, "exec", "survivor", "echo", "still here") == "still here\n"

        def back() -> bool:
            state = inspect(env, "comeback")["State"]
            return isinstance(state, dict) and state["Running"] is True and state["Pid"] not in (0, doomed)

        eventually(back)
        run(env, "rm", "-f", "survivor", "comeback")
        no_containers_left(env)
    finally:
        (second or first).stop()
