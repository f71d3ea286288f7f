"""An engine on tcp://127.0.0.1 with mutual TLS: our CLI and the docker CLI drive it, by the
environment and by a context the docker CLI made; a client without a certificate is refused."""

from __future__ import annotations

import grp
import json
import os
import shutil
import socket
import ssl
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.compose.cli.engines import PYCOMPOSE, import_busybox, stop_engine
from tests.compose.client.tlscerts import Certs, make_certs
from tests.engine_fixture import EngineHandle, start_private_engine
from tests.runtime.images.busybox import build_busybox_rootfs_tar

pytestmark = pytest.mark.root
DOCKER = shutil.which("docker")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    return make_certs(tmp_path_factory.mktemp("certs"))


@pytest.fixture(scope="module")
def tls_engine(tmp_path_factory: pytest.TempPathFactory, certs: Certs) -> Iterator[tuple[EngineHandle, str]]:
    tmp = tmp_path_factory.mktemp("tls-engine")
    port = free_port()
    host = f"tcp://127.0.0.1:{port}"
    handle = start_private_engine(tmp / "engine", args=[
        "--host", host, "--tlsverify", "--tlscacert", str(certs.ca), "--tlscert", str(certs.server_cert),
        "--tlskey", str(certs.server_key)])
    try:
        import_busybox(handle, build_busybox_rootfs_tar(tmp / "rootfs.tar"))
        yield handle, host
    finally:
        stop_engine(handle)


def env(home: Path, **extra: str) -> dict[str, str]:
    """A clean environment with its own docker config (the session's CLI server directory kept)."""
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), "LANG": "C.UTF-8",
            "DOCKER_CONFIG": str(home / ".docker"), "PYCOMPOSE_CLI_DIR": os.environ["PYCOMPOSE_CLI_DIR"], **extra}


def tls_env(home: Path, host: str, cert_dir: Path) -> dict[str, str]:
    return env(home, DOCKER_HOST=host, DOCKER_TLS_VERIFY="1", DOCKER_CERT_PATH=str(cert_dir))


def run(argv: list[str], environ: dict[str, str], stdin: str | None = None,
        cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, env=environ, input=stdin, capture_output=True, text=True, timeout=90, check=False,
                          cwd=cwd)


def ok(argv: list[str], environ: dict[str, str], stdin: str | None = None, cwd: Path | None = None) -> str:
    result = run(argv, environ, stdin, cwd)
    assert result.returncode == 0, result.stderr
    return result.stdout


def docker() -> str:
    if DOCKER is None:
        pytest.skip("no docker CLI on PATH")
    return DOCKER


def test_unix_socket_is_0660_root_pycompose(tls_engine: tuple[EngineHandle, str]) -> None:
    handle, _ = tls_engine
    info = handle.socket.stat()
    assert stat.S_IMODE(info.st_mode) == 0o660
    assert info.st_uid == 0 and info.st_gid == grp.getgrnam("pycompose").gr_gid


def test_our_cli_by_environment(tls_engine: tuple[EngineHandle, str], certs: Certs, tmp_path: Path) -> None:
    _, host = tls_engine
    environ = tls_env(tmp_path, host, certs.client_dir)
    assert ok([PYCOMPOSE, "container", "run", "--rm", "busybox", "echo", "over tls"], environ) == "over tls\n"
    ok([PYCOMPOSE, "container", "run", "-d", "--name", "tls-c", "busybox", "sleep", "60"], environ)
    try:
        # stdin's end reaches the engine (a TCP half-close under TLS) and the output still comes back
        assert ok([PYCOMPOSE, "container", "exec", "-i", "tls-c", "cat"], environ, stdin="in\n") == "in\n"
    finally:
        ok([PYCOMPOSE, "container", "rm", "-f", "tls-c"], environ)
    project = tmp_path / "proj"
    project.mkdir()
    (project / "compose.yaml").write_text(
        "services:\n  web:\n    image: busybox\n    command: [sh, -c, 'echo up over tls; sleep 60']\n    init: true\n")
    ok([PYCOMPOSE, "-p", "tlsproj", "up", "-d"], environ, cwd=project)
    try:
        assert "tlsproj-web-1" in ok([PYCOMPOSE, "-p", "tlsproj", "ps"], environ, cwd=project)
        assert "up over tls" in ok([PYCOMPOSE, "-p", "tlsproj", "logs"], environ, cwd=project)
    finally:
        ok([PYCOMPOSE, "-p", "tlsproj", "down", "-t", "1"], environ, cwd=project)
    # the global flags instead of the environment
    flags = ["-H", host, "--tlsverify", "--tlscacert", str(certs.client_dir / "ca.pem"),
             "--tlscert", str(certs.client_dir / "cert.pem"), "--tlskey", str(certs.client_dir / "key.pem")]
    assert "CONTAINER ID" in ok([PYCOMPOSE, *flags, "container", "ls"], env(tmp_path))


def test_docker_cli_by_environment(tls_engine: tuple[EngineHandle, str], certs: Certs, tmp_path: Path) -> None:
    _, host = tls_engine
    environ = tls_env(tmp_path, host, certs.client_dir)
    assert ok([docker(), "run", "--rm", "busybox", "echo", "docker over tls"], environ) == "docker over tls\n"
    ok([docker(), "run", "-d", "--name", "tls-d", "busybox", "sleep", "60"], environ)
    try:
        result = run([docker(), "exec", "-i", "tls-d", "cat"], environ, stdin="close_notify\n")
        assert (result.returncode, result.stdout, result.stderr) == (0, "close_notify\n", "")
    finally:
        ok([docker(), "rm", "-f", "tls-d"], environ)


def test_context_the_docker_cli_made(tls_engine: tuple[EngineHandle, str], certs: Certs, tmp_path: Path) -> None:
    _, host = tls_engine
    environ = env(tmp_path)
    c = certs.client_dir
    ok([docker(), "context", "create", "tlsctx", "--description", "tls engine",
        "--docker", f"host={host},ca={c / 'ca.pem'},cert={c / 'cert.pem'},key={c / 'key.pem'}"], environ)
    for argv in (["--context", "tlsctx"], ["-c", "tlsctx"]):
        assert ok([PYCOMPOSE, *argv, "container", "run", "--rm", "busybox", "echo", "ctx"], environ) == "ctx\n"
    assert ok([PYCOMPOSE, "container", "run", "--rm", "busybox", "echo", "env"],
              {**environ, "DOCKER_CONTEXT": "tlsctx"}) == "env\n"
    ok([docker(), "context", "use", "tlsctx"], environ)
    assert ok([PYCOMPOSE, "container", "run", "--rm", "busybox", "echo", "current"], environ) == "current\n"
    ours = ok([PYCOMPOSE, "context", "ls"], environ).splitlines()
    theirs = ok([docker(), "context", "ls"], environ).splitlines()
    assert ours[0].split() == theirs[0].split() == ["NAME", "DESCRIPTION", "DOCKER", "ENDPOINT", "ERROR"]
    row = [line for line in ours if line.startswith("tlsctx")]
    assert [r.split() for r in row] == [["tlsctx", "*", "tls", "engine", host]]
    assert json.loads(ok([PYCOMPOSE, "context", "inspect", "tlsctx"], environ)) == json.loads(
        ok([docker(), "context", "inspect", "tlsctx"], environ))
    # DOCKER_HOST wins over the current context, as in the docker CLI
    result = run([PYCOMPOSE, "container", "ls"], {**environ, "DOCKER_HOST": "tcp://127.0.0.1:1"})
    assert result.returncode == 1
    assert result.stderr == "Cannot connect to the Docker daemon at tcp://127.0.0.1:1: Connection refused\n"
    ok([PYCOMPOSE, "context", "use", "default"], environ)
    assert "currentContext" not in json.loads((tmp_path / ".docker" / "config.json").read_text())


def test_context_we_made_docker_reads(tls_engine: tuple[EngineHandle, str], certs: Certs, tmp_path: Path) -> None:
    _, host = tls_engine
    environ = env(tmp_path)
    c = certs.client_dir
    ok([PYCOMPOSE, "context", "create", "ours", "--docker",
        f"host={host},ca={c / 'ca.pem'},cert={c / 'cert.pem'},key={c / 'key.pem'}"], environ)
    assert ok([docker(), "--context", "ours", "run", "--rm", "busybox", "echo", "theirs"], environ) == "theirs\n"
    assert json.loads(ok([PYCOMPOSE, "context", "inspect", "ours"], environ)) == json.loads(
        ok([docker(), "context", "inspect", "ours"], environ))
    assert ok([PYCOMPOSE, "context", "rm", "ours"], environ) == "ours\n"
    assert run([docker(), "context", "inspect", "ours"], environ).returncode == 1


@pytest.mark.parametrize("which", ["ca_only_dir", "stranger_dir"])
def test_refused_without_a_trusted_client_certificate(tls_engine: tuple[EngineHandle, str], certs: Certs,
                                                      tmp_path: Path, which: str) -> None:
    _, host = tls_engine
    environ = tls_env(tmp_path, host, getattr(certs, which))
    for argv in (["container", "ls"], ["container", "run", "--rm", "busybox", "true"]):
        result = run([PYCOMPOSE, *argv], environ)
        assert result.returncode == 1 and "Traceback" not in result.stderr
        assert len(result.stderr.splitlines()) == 1 and "TLS" in result.stderr, result.stderr
    assert run([docker(), "ps"], environ).returncode != 0
    # below the clients: the engine never answers a request on such a connection
    context = ssl.create_default_context(cafile=str(certs.ca))
    if which == "stranger_dir":
        context.load_cert_chain(certs.stranger_dir / "cert.pem", certs.stranger_dir / "key.pem")
    port = int(host.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        try:
            with context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
                tls.sendall(b"GET /_ping HTTP/1.1\r\nHost: x\r\n\r\n")
                assert tls.recv(100) == b""
        except (ssl.SSLError, ConnectionResetError):
            pass


def test_plain_tcp_refused_or_one_line(tls_engine: tuple[EngineHandle, str], tmp_path: Path) -> None:
    _, host = tls_engine
    # TLS asked of a client that has no CA: one line
    result = run([PYCOMPOSE, "container", "ls"], env(tmp_path, DOCKER_HOST=host, DOCKER_TLS_VERIFY="1",
                                                      DOCKER_CERT_PATH=str(tmp_path)))
    assert result.returncode == 1 and len(result.stderr.splitlines()) == 1 and "CA certificate" in result.stderr
    # plain HTTP to a TLS listener: refused, one line
    result = run([PYCOMPOSE, "container", "ls"], env(tmp_path, DOCKER_HOST=host))
    assert result.returncode == 1 and len(result.stderr.splitlines()) == 1, result.stderr
    assert "Traceback" not in result.stderr
