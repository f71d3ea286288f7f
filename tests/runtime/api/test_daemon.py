"""The daemon as a process: socket, pidfile, id, signals, the system routes."""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.engine_fixture import REPO, EngineHandle, ping, start_private_engine
from tests.runtime.api.inprocess import short_dir


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EngineHandle]:
    handle = start_private_engine(tmp_path_factory.mktemp("engine"))
    yield handle
    handle.stop()


def request(sock: Path, raw: bytes) -> tuple[int, dict[str, str], bytes]:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.settimeout(5)
        conn.connect(os.fspath(sock))
        conn.sendall(raw)
        data = b""
        while chunk := conn.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status, *lines = head.decode().split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
    return int(status.split()[1]), headers, body


def get(sock: Path, path: str, method: str = "GET") -> tuple[int, dict[str, str], bytes]:
    return request(sock, f"{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())


def run_daemon(*args: str, timeout: float = 10) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "runtime", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=timeout, check=False)


def test_ping_get_and_head_carry_dockers_headers(engine: EngineHandle) -> None:
    for method, body in (("GET", b"OK"), ("HEAD", b"")):
        for path in ("/_ping", "/v1.45/_ping", "/v1.24/_ping"):
            status, headers, got = get(engine.socket, path, method)
            assert (status, got) == (200, body)
            assert headers["api-version"] == "1.45"
            assert headers["ostype"] == "linux"
            assert headers["docker-experimental"] == "false"
            assert headers["builder-version"] == "1"
            assert headers["pragma"] == "no-cache"
            assert "no-cache" in headers["cache-control"]


def test_version_document(engine: EngineHandle) -> None:
    status, headers, body = get(engine.socket, "/v1.45/version")
    assert status == 200 and headers["content-type"] == "application/json"
    version = json.loads(body)
    assert version["ApiVersion"] == "1.45" and version["MinAPIVersion"] == "1.24"
    assert version["Os"] == "linux" and version["KernelVersion"] == os.uname().release
    assert version["Components"][0]["Name"] == "Engine"
    assert all(isinstance(v, str) for v in version["Components"][0]["Details"].values())


def test_errors_are_dockers(engine: EngineHandle) -> None:
    assert get(engine.socket, "/v1.45/nowhere")[::2] == (404, b'{"message":"page not found"}\n')
    status, _, body = get(engine.socket, "/v1.46/version")
    assert status == 400
    assert json.loads(body)["message"] == "client version 1.46 is too new. Maximum supported API version is 1.45"


def test_state_root_socket_and_pidfile(engine: EngineHandle) -> None:
    assert stat.S_IMODE(engine.socket.stat().st_mode) == 0o660
    assert stat.S_ISSOCK(engine.socket.stat().st_mode)
    assert (engine.root / "engine.pid").read_text().strip() == str(engine.pid)
    engine_id = (engine.root / "engine-id").read_text().strip()
    assert len(engine_id) == 4 and int(engine_id, 16) >= 0
    assert engine.prefix == f"pyc{engine_id}"


def test_second_engine_on_the_same_root_refuses(engine: EngineHandle) -> None:
    with short_dir() as d:
        result = run_daemon("--root", str(engine.root), "--host", f"unix://{d}/other.sock")
    assert result.returncode == 1
    assert f"already running with this root (pid {engine.pid})" in result.stderr
    assert (engine.root / "engine.pid").read_text().strip() == str(engine.pid)


def test_socket_in_use_refuses(engine: EngineHandle, tmp_path: Path) -> None:
    result = run_daemon("--root", str(tmp_path / "root"), "--host", engine.host)
    assert result.returncode == 1
    assert "another process is listening" in result.stderr
    assert ping(engine.socket).startswith(b"HTTP/1.1 200")
    assert not (tmp_path / "root" / "engine.pid").exists()


def test_plain_tcp_only_on_loopback() -> None:
    """dockerd's rule, stricter: a tcp listener without TLS only on a loopback address."""
    result = run_daemon("--host", "tcp://0.0.0.0:2375")
    assert result.returncode == 2 and "loopback" in result.stderr, result.stderr


def test_stale_socket_and_pidfile_are_replaced_and_id_persists(tmp_path: Path) -> None:
    first = start_private_engine(tmp_path)
    engine_id = (first.root / "engine-id").read_text()
    first.process.send_signal(signal.SIGKILL)
    first.process.wait()
    # A crash leaves both behind: the next start must not trip over them.
    assert first.socket.exists() and (first.root / "engine.pid").exists()
    first.socket.unlink()
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as stale:
        stale.bind(os.fspath(first.socket))
    second = start_private_engine(tmp_path)
    try:
        assert (second.root / "engine-id").read_text() == engine_id
        assert second.prefix == first.prefix
    finally:
        second.stop()


def test_sigint_stops_cleanly(tmp_path: Path) -> None:
    handle = start_private_engine(tmp_path)
    handle.process.send_signal(signal.SIGINT)
    assert handle.process.wait(10) == 0
    assert not handle.socket.exists()
    assert not (handle.root / "engine.pid").exists()
    assert "received SIGINT" in handle.log_text()
    handle.stop()


def test_daemon_module_imports_nothing_heavy() -> None:
    code = (
        "import sys, runtime.__main__, runtime.daemon; "
        "heavy = [m for m in ('anyio', 'h11', 'runtime.images', 'runtime.store', 'sqlite3', 'tarfile') "
        "if m in sys.modules]; print(heavy)"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_start_up_is_single_threaded_until_the_loop(tmp_path: Path) -> None:
    from runtime.daemon import bind_socket, claim_pidfile
    from runtime.engine import Engine

    before = threading.active_count()
    engine = Engine.open(tmp_path / "root")
    claim_pidfile(engine.pidfile)
    with short_dir() as d:
        sock = bind_socket(d / "e.sock")
        sock.close()
    assert threading.active_count() == before


def test_socket_group_is_set_when_the_group_exists(monkeypatch: pytest.MonkeyPatch) -> None:
    import grp

    from runtime import daemon

    group = grp.getgrgid(1)  # any group other than ours stands in for `pycompose`
    monkeypatch.setattr(daemon, "SOCKET_GROUP", group.gr_name)
    with short_dir() as d:
        sock = daemon.bind_socket(d / "e.sock")
        try:
            assert (d / "e.sock").stat().st_gid == group.gr_gid
            assert stat.S_IMODE((d / "e.sock").stat().st_mode) == 0o660
        finally:
            sock.close()
    # A missing group is created (as dockerd's `docker`); here the creation is refused, as it is
    # where groupadd is absent, so the machine's groups stay as they were: the socket keeps ours.
    monkeypatch.setattr(daemon, "SOCKET_GROUP", "no-such-group-pyc")
    monkeypatch.setattr(daemon, "ensure_group", lambda name: None)
    with short_dir() as d:
        daemon.bind_socket(d / "e.sock").close()
        assert (d / "e.sock").stat().st_gid == os.getgid()
