"""Attach and detach against a private engine: the detach keys (ctrl-p ctrl-q, --detach-keys) through the docker
CLI in tmux, the engine's own detection on a raw attach/exec stream, logs=1 replay, and stdin closing cleanly."""

from __future__ import annotations

import json
import secrets
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import docker as docker_py
import pytest

from tests.engine_fixture import EngineHandle
from tests.runtime.api.containers_env import docker_env, docker_py_client, env, eventually, out, private_engine, run

pytestmark = [pytest.mark.root, pytest.mark.timeout(120)]
__all__ = ["docker_env", "docker_py_client", "env", "private_engine"]


@pytest.fixture
def tmux(env: dict[str, str]) -> Iterator[tuple[Callable[..., None], Callable[[], str]]]:
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed")
    server = ["tmux", "-L", f"pyc-test-{secrets.token_hex(4)}"]
    subprocess.run([*server, "new-session", "-d", "-s", "t", "-x", "120", "-y", "30",
                    "-e", f"DOCKER_HOST={env['DOCKER_HOST']}", "-e", f"DOCKER_CONFIG={env['DOCKER_CONFIG']}",
                    "-e", f"HOME={env['HOME']}"], check=True)

    def keys(*text: str) -> None:
        subprocess.run([*server, "send-keys", "-t", "t", *text], check=True)

    def screen() -> str:
        return subprocess.run([*server, "capture-pane", "-t", "t", "-p"], capture_output=True, text=True,
                              check=True).stdout
    try:
        yield keys, screen
    finally:
        subprocess.run([*server, "kill-server"], check=False)


def status(env: dict[str, str], cid: str) -> str:
    return out(env, "inspect", "-f", "{{.State.Status}}", cid).strip()


def test_docker_attach_detaches_with_ctrl_p_ctrl_q_and_the_container_runs_on(
        env: dict[str, str], tmux: tuple[Callable[..., None], Callable[[], str]]) -> None:
    keys, screen = tmux

    def fresh(command: str, ready: str) -> None:
        keys("clear", "Enter")
        eventually(lambda: len(screen().strip().splitlines()) == 1, show=screen)  # only the prompt
        keys(command, "Enter")
        eventually(lambda: ready in screen(), show=screen)

    cid = out(env, "run", "-dit", "--name", "attached", "busybox", "sh").strip()
    try:
        fresh("docker attach attached; echo status=$?", "")
        time.sleep(0.5)
        keys("echo $((6*7))", "Enter")
        eventually(lambda: "\n42\n" in screen(), show=screen)
        keys("C-p", "C-q")
        eventually(lambda: "read escape sequence" in screen() and "status=" in screen(), show=screen)
        assert status(env, cid) == "running"
        fresh("docker attach --detach-keys ctrl-x,y attached; echo status=$?", "")
        time.sleep(0.5)
        keys("echo $((7*7))", "Enter")
        eventually(lambda: "\n49\n" in screen(), show=screen)
        keys("C-x", "y")
        eventually(lambda: "status=" in screen(), show=screen)
        assert status(env, cid) == "running"
        fresh("docker run -it --name runit busybox sh; echo status=$?", "/ #")
        keys("C-p", "C-q")
        eventually(lambda: "status=0" in screen(), show=screen)
        assert status(env, "runit") == "running"
        fresh("docker exec -it attached sh; echo status=$?", "/ #")
        keys("C-p", "C-q")
        eventually(lambda: "status=" in screen(), show=screen)
        assert status(env, cid) == "running"
    finally:
        run(env, "rm", "-f", cid, "runit", check=False)


def _read_until(sock: socket.socket, wanted: bytes, timeout: float = 10.0) -> bytes:
    sock.settimeout(timeout)
    seen = b""
    while wanted not in seen:
        data = sock.recv(65536)
        assert data, seen
        seen += data
    return seen


def _read_until_closed(sock: socket.socket, timeout: float = 10.0) -> bytes:
    sock.settimeout(timeout)
    chunks = []
    while data := sock.recv(65536):
        chunks.append(data)
    return b"".join(chunks)


def test_the_engine_detects_the_detach_keys_on_a_raw_attach(client: Any) -> None:
    container = client.containers.run("busybox", ["cat"], detach=True, stdin_open=True, tty=True)
    sock = client.api.attach_socket(container.id, params={"stdin": 1, "stdout": 1, "stream": 1})._sock
    try:
        sock.sendall(b"before\x10x\n")  # a broken sequence goes through
        seen = _read_until(sock, b"before")
        sock.sendall(b"\x10\x11after\n")  # the whole one detaches
        seen += _read_until_closed(sock)
    finally:
        sock.close()
    assert b"before" in seen and b"after" not in seen
    container.reload()
    assert container.status == "running"
    custom = client.api.attach_socket(container.id, params={"stdin": 1, "stdout": 1, "stream": 1,
                                                           "detachKeys": "ctrl-a,b"})._sock
    try:
        custom.sendall(b"\x10\x11still\n")
        _read_until(custom, b"still")
        custom.sendall(b"\x01b")
        _read_until_closed(custom)
    finally:
        custom.close()
    with pytest.raises(docker_py.errors.APIError) as bad:
        client.api.attach_socket(container.id, params={"stdin": 1, "stream": 1, "detachKeys": "shift-a"})
    assert "Invalid detach keys (shift-a) provided" in str(bad.value)
    with pytest.raises(docker_py.errors.APIError) as bad_exec:
        client.api.exec_create(container.id, ["true"], detach_keys="ctrl-zz")  # type: ignore[no-untyped-call]
    assert "Invalid escape keys (ctrl-zz) provided" in str(bad_exec.value)


def test_the_engine_detects_the_detach_keys_on_an_exec(client: Any) -> None:
    container = client.containers.run("busybox", ["sleep", "1000"], detach=True)
    exec_id = client.api.exec_create(container.id, ["sh", "-c", "cat; echo never"], stdin=True, tty=True)["Id"]
    sock = client.api.exec_start(exec_id, socket=True, tty=True)._sock
    try:
        sock.sendall(b"typed\n")
        seen = _read_until(sock, b"typed")
        sock.sendall(b"\x10\x11")
        seen += _read_until_closed(sock)
    finally:
        sock.close()
    assert b"typed" in seen and b"never" not in seen
    assert client.api.exec_inspect(exec_id)["Running"] is True


def _raw_attach(engine: EngineHandle, container: str, query: str) -> tuple[socket.socket, bytes]:
    """An attach over a socket of our own: docker-py's attach_socket drops what its HTTP reader
    already buffered past the 101 head (here: the replayed log, sent at once)."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(str(engine.socket))
    sock.sendall(f"POST /v1.45/containers/{container}/attach?{query} HTTP/1.1\r\nHost: engine\r\n"
                 "Connection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: 0\r\n\r\n".encode())
    head = _read_until(sock, b"\r\n\r\n")
    status, _, rest = head.partition(b"\r\n\r\n")
    assert status.startswith(b"HTTP/1.1 101"), status
    return sock, rest


def test_attach_with_logs_replays_the_log_first(client: Any, private_engine: EngineHandle) -> None:
    container = client.containers.run("busybox", ["sh", "-c", "echo early; read x; echo late:$x"], detach=True,
                                      stdin_open=True)
    eventually(lambda: container.logs() == b"early\n")
    sock, seen = _raw_attach(private_engine, container.id, "stdin=1&stdout=1&stream=1&logs=1")
    try:
        sock.sendall(b"given\n")
        sock.shutdown(socket.SHUT_WR)  # stdin closes cleanly: the container reads EOF after the line
        seen += _read_until_closed(sock)
    finally:
        sock.close()
    assert b"early" in seen and b"late:given" in seen, seen
    assert seen.index(b"early") < seen.index(b"late:given")
    assert container.wait()["StatusCode"] == 0


def test_stdin_closing_cleanly_through_the_docker_cli(env: dict[str, str]) -> None:
    done = run(env, "run", "-i", "--rm", "busybox", "sh", "-c", "cat; echo end", stdin=b"piped\n")
    assert done.stdout == b"piped\nend\n"


def test_our_cli_detaches_run_exec_and_attach_with_config_json_keys_and_the_flag(
        env: dict[str, str], tmux: tuple[Callable[..., None], Callable[[], str]], tmp_path: Path) -> None:
    keys, screen = tmux
    ours = str(Path(sys.executable).with_name("pycompose"))
    config = tmp_path / "docker-config"
    config.mkdir()
    (config / "config.json").write_text(json.dumps({"detachKeys": "ctrl-a,a"}))

    def fresh(command: str) -> None:
        keys("clear", "Enter")
        eventually(lambda: len(screen().strip().splitlines()) == 1, show=screen)
        keys(command, "Enter")
        eventually(lambda: "/ #" in screen(), show=screen)

    try:
        fresh(f"DOCKER_CONFIG={config} {ours} container run -it --name ourrun busybox sh; echo status=$?")
        keys("C-p", "C-q", "echo $((6*7))", "Enter")  # not the keys in force: they reach the shell
        eventually(lambda: "42" in screen(), show=screen)
        keys("C-a", "a")
        eventually(lambda: "status=0" in screen(), show=screen)
        assert status(env, "ourrun") == "running"
        fresh(f"{ours} container exec -it --detach-keys ctrl-x,y ourrun sh -c 'sh; echo after-$((1+1))'; "
              "echo status=$?")
        keys("C-x", "y")
        eventually(lambda: "status=0" in screen(), show=screen)
        assert "after-2" not in screen() and status(env, "ourrun") == "running"
        fresh(f"{ours} container exec -it ourrun sh; echo status=$?")
        keys("C-p", "C-q")
        eventually(lambda: "status=0" in screen(), show=screen)
        keys("clear", "Enter")
        eventually(lambda: len(screen().strip().splitlines()) == 1, show=screen)
        keys(f"{ours} container attach ourrun; echo status=$?", "Enter")
        time.sleep(1)
        keys("echo $((8*8))", "Enter")
        eventually(lambda: "\n64\n" in screen(), show=screen)
        keys("C-p", "C-q")
        eventually(lambda: "read escape sequence" in screen() and "status=1" in screen(), show=screen)
        assert status(env, "ourrun") == "running"
        bad = subprocess.run([ours, "container", "exec", "-i", "--detach-keys", "shift-a", "ourrun", "true"],
                             env=env, capture_output=True, stdin=subprocess.DEVNULL, check=False)
        assert bad.returncode == 2 and b"invalid detach keys (shift-a)" in bad.stderr
    finally:
        run(env, "rm", "-f", "ourrun", check=False)
