"""The engine against clients that hold connections: descriptor exhaustion, the limit, idle timeouts."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from runtime.__main__ import parse_config
from tests.compose.cli.engines import cli_env
from tests.engine_fixture import EngineHandle, start_private_engine
from tests.runtime.api.containers_env import import_busybox, remove_all_containers, run
from tests.runtime.images.busybox import busybox_available

DOCKER = shutil.which("docker")
NOFILE = 256
IDLE = 1.0


@pytest.fixture(scope="module")
def short_idle(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EngineHandle]:
    handle = start_private_engine(tmp_path_factory.mktemp("idle"), args=("--api-idle-timeout", str(IDLE)))
    yield handle
    handle.stop()


def test_limits_are_engine_options(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    config = parse_config(["--api-idle-timeout", "2.5", "--api-max-connections", "10"])
    assert (config.api_idle_timeout, config.api_max_connections) == (2.5, 10)
    monkeypatch.setenv("PYCOMPOSE_API_IDLE_TIMEOUT", "30")
    monkeypatch.setenv("PYCOMPOSE_API_MAX_CONNECTIONS", "7")
    config = parse_config([])
    assert (config.api_idle_timeout, config.api_max_connections) == (30.0, 7)
    monkeypatch.delenv("PYCOMPOSE_API_IDLE_TIMEOUT")
    monkeypatch.delenv("PYCOMPOSE_API_MAX_CONNECTIONS")
    assert (parse_config([]).api_idle_timeout, parse_config([]).api_max_connections) == (90.0, 0)
    for bad in (["--api-idle-timeout", "0"], ["--api-idle-timeout", "soon"], ["--api-max-connections", "-1"]):
        with pytest.raises(SystemExit) as exited:
            parse_config(bad)
        assert exited.value.code == 2
        assert "is not a" in capsys.readouterr().err


def docker_version(engine: EngineHandle, home: Path) -> dict[str, object]:
    if DOCKER is None:
        pytest.skip("no docker CLI on PATH")
    result = subprocess.run([DOCKER, "version", "--format", "{{json .Server}}"], env=cli_env(home, engine),
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr + engine.log_text()[-3000:]
    server: dict[str, object] = json.loads(result.stdout)
    return server


def connect(engine: EngineHandle, timeout: float = 30.0) -> socket.socket:
    """A connection; while the listen backlog is full, connect() says EAGAIN: try again."""
    deadline = time.monotonic() + timeout
    while True:
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            conn.connect(os.fspath(engine.socket))
        except BlockingIOError:
            conn.close()
            assert time.monotonic() < deadline, "the engine accepted no connection for {timeout} s"
            time.sleep(0.01)
            continue
        conn.settimeout(timeout)
        return conn


@contextlib.contextmanager
def idle_clients(engine: EngineHandle, count: int) -> Iterator[list[socket.socket]]:
    """`count` connections that never finish a request (every third sends half a request head)."""
    conns: list[socket.socket] = []
    try:
        for n in range(count):
            conn = connect(engine)
            conns.append(conn)
            if n % 3 == 2:
                with contextlib.suppress(OSError):
                    conn.sendall(b"GET /v1.45/version HTTP/1.1\r\nHost: x\r\n")
        yield conns
    finally:
        for conn in conns:
            conn.close()


def closed_by_engine(conns: list[socket.socket]) -> int:
    """How many of `conns` the engine has closed (EOF or reset waiting to be read)."""
    closed = 0
    for conn in conns:
        conn.setblocking(False)
        try:
            closed += conn.recv(1) == b""
        except BlockingIOError:
            pass
        except OSError:
            closed += 1
    return closed


def read_until_eof(conn: socket.socket, limit: float) -> tuple[bytes, float]:
    began = time.monotonic()
    conn.settimeout(limit)
    data = b""
    while chunk := conn.recv(65536):
        data += chunk
    return data, time.monotonic() - began


def test_idle_clients_beyond_the_descriptor_limit_leave_the_engine_answering(
        tmp_path_factory: pytest.TempPathFactory) -> None:
    engine = start_private_engine(tmp_path_factory.mktemp("limit"), nofile=NOFILE)
    home = tmp_path_factory.mktemp("home")
    try:
        with idle_clients(engine, 2 * NOFILE) as conns:
            assert engine.process.poll() is None, engine.log_text()
            # The limit sits below the descriptor limit, and the longest-idle connections make room.
            assert docker_version(engine, home)["Os"] == "linux"
            assert closed_by_engine(conns) >= NOFILE
        assert docker_version(engine, home)["Os"] == "linux"
        log = engine.log_text()
        assert "API: at most 96 connections (from RLIMIT_NOFILE 256), idle ones closed after 90 s" in log
        assert "API: 96 connections open, the limit" in log
        assert "Traceback" not in log, log
    finally:
        engine.stop()


def test_running_out_of_descriptors_is_logged_and_survived(tmp_path_factory: pytest.TempPathFactory) -> None:
    # No connection limit to speak of: accept() itself runs out of descriptors.
    engine = start_private_engine(tmp_path_factory.mktemp("emfile"), nofile=NOFILE,
                                  args=("--api-max-connections", "100000"))
    home = tmp_path_factory.mktemp("home")
    try:
        with idle_clients(engine, 2 * NOFILE):
            deadline = time.monotonic() + 10
            while "out of file descriptors" not in engine.log_text() and time.monotonic() < deadline:
                time.sleep(0.1)
            assert engine.process.poll() is None, engine.log_text()
            assert "API: out of file descriptors ([Errno 24] Too many open files)" in engine.log_text()
        assert docker_version(engine, home)["Os"] == "linux"
        assert engine.process.poll() is None
        assert "Traceback" not in engine.log_text(), engine.log_text()
    finally:
        engine.stop()


def test_the_engine_stops_cleanly_with_connections_open(tmp_path_factory: pytest.TempPathFactory) -> None:
    engine = start_private_engine(tmp_path_factory.mktemp("stop"), nofile=NOFILE)
    try:
        with idle_clients(engine, NOFILE), connect(engine) as events:
            events.sendall(b"GET /v1.45/events HTTP/1.1\r\nHost: x\r\n\r\n")
            assert events.recv(65536).startswith(b"HTTP/1.1 200 OK")
            engine.stop()  # SIGTERM: exit 0 and the socket gone
            events.settimeout(5)
            assert events.recv(65536) in (b"", b"0\r\n\r\n")
    finally:
        engine.stop()


def test_idle_connections_are_closed_after_the_timeout(short_idle: EngineHandle) -> None:
    with connect(short_idle) as silent, connect(short_idle) as half_head, connect(short_idle) as kept_alive:
        half_head.sendall(b"GET /_ping HTTP/1.1\r\nHost: x\r\n")
        kept_alive.sendall(b"GET /_ping HTTP/1.1\r\nHost: x\r\n\r\n")
        answer = b""
        while not answer.endswith(b"\r\n\r\nOK"):
            chunk = kept_alive.recv(65536)
            assert chunk, answer
            answer += chunk
        data, waited = read_until_eof(kept_alive, 10 * IDLE)
        assert answer.startswith(b"HTTP/1.1 200 OK") and data == b""
        assert IDLE * 0.9 <= waited < 10 * IDLE
        for conn in (silent, half_head):
            data, waited = read_until_eof(conn, 10 * IDLE)
            assert data == b"" and waited < 10 * IDLE
    assert "closed a connection waiting for a request idle for 1 s" in short_idle.log_text()


def test_streams_and_requests_in_progress_outlive_the_idle_timeout(short_idle: EngineHandle) -> None:
    with connect(short_idle) as events, connect(short_idle) as slow:
        events.sendall(b"GET /v1.45/events HTTP/1.1\r\nHost: x\r\n\r\n")
        body = b'{"Name": "limits-slow-net"}'
        slow.sendall(b"POST /v1.45/networks/create HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body))
        time.sleep(3 * IDLE)
        slow.sendall(body)
        answer, _ = read_until_eof(slow, 10)
        assert answer.startswith(b"HTTP/1.1 201"), answer
        events.settimeout(10)
        seen = b""
        while b"limits-slow-net" not in seen:
            chunk = events.recv(65536)
            assert chunk, f"the event stream was cut: {seen!r}"
            seen += chunk
        assert seen.startswith(b"HTTP/1.1 200 OK")
    with connect(short_idle) as remove:
        remove.sendall(b"DELETE /v1.45/networks/limits-slow-net HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert read_until_eof(remove, 10)[0].startswith(b"HTTP/1.1 204")


@pytest.mark.root
@pytest.mark.timeout(120)
def test_logs_attach_and_exec_outlive_the_idle_timeout(short_idle: EngineHandle,
                                                       tmp_path_factory: pytest.TempPathFactory) -> None:
    if DOCKER is None or not busybox_available():
        pytest.skip("needs the docker CLI and busybox-static")
    home = tmp_path_factory.mktemp("home")
    env = cli_env(home, short_idle)
    import_busybox(env, home)
    late = f"sleep {3 * IDLE:g}; echo"
    try:
        run(env, "run", "-d", "--name", "limits-logs", "busybox", "sh", "-c", f"{late} logged")
        run(env, "run", "-d", "--name", "limits-exec", "busybox", "sleep", "60")
        clients = [subprocess.Popen([DOCKER, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                   for args in (("logs", "-f", "limits-logs"),
                                ("run", "--rm", "busybox", "sh", "-c", f"{late} attached"),
                                ("exec", "limits-exec", "sh", "-c", f"{late} executed"))]
        for client, word in zip(clients, (b"logged", b"attached", b"executed"), strict=True):
            stdout, stderr = client.communicate(timeout=60)
            assert (client.returncode, stdout.strip()) == (0, word), stderr
    finally:
        remove_all_containers(env)
