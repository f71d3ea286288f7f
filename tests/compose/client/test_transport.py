"""How a host reads (unix, tcp with or without TLS, ssh), and TLS settings from the environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from compose.client.errors import EngineConnectionError
from compose.client.tls import TLSSettings, tls_from_environ
from compose.client.transport import endpoint, open_socket


def test_hosts() -> None:
    unix = endpoint("unix:///run/x.sock")
    assert (unix.scheme, unix.path) == ("unix", "/run/x.sock")
    assert endpoint("/run/y.sock").path == "/run/y.sock"
    tcp = endpoint("tcp://10.0.0.1:2375", tls=None)
    assert (tcp.scheme, tcp.address, tcp.port) == ("tcp", "10.0.0.1", 2375)
    assert endpoint("tcp://example.com", tls=TLSSettings(True)).port == 2376
    ssh = endpoint("ssh://me@far:2222")
    assert (ssh.scheme, ssh.user, ssh.address, ssh.port) == ("ssh", "me", "far", 2222)
    assert endpoint("ssh://far").user is None


@pytest.mark.parametrize("host", ["http://x", "unix://relative", "tcp://:12", "tcp://h:notaport", "npipe:////./x"])
def test_bad_hosts_are_one_line(host: str) -> None:
    with pytest.raises(EngineConnectionError) as err:
        endpoint(host)
    assert "\n" not in str(err.value)


def test_tls_from_environ(tmp_path: Path) -> None:
    assert tls_from_environ({}) is None
    (tmp_path / "ca.pem").write_text("x")
    (tmp_path / "cert.pem").write_text("x")
    settings = tls_from_environ({"DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": str(tmp_path)})
    assert settings is not None and settings.verify
    assert (settings.ca, settings.cert, settings.key) == (str(tmp_path / "ca.pem"), str(tmp_path / "cert.pem"), None)
    unverified = tls_from_environ({"DOCKER_TLS": "1", "DOCKER_CERT_PATH": str(tmp_path)})
    assert unverified is not None and not unverified.verify
    given = tls_from_environ({"PYCOMPOSE_TLSCACERT": "/c.pem", "DOCKER_CERT_PATH": str(tmp_path)})
    assert given is not None and given.ca == "/c.pem"


def test_refused_tcp_is_one_line() -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(EngineConnectionError) as err:
        open_socket(endpoint(f"tcp://127.0.0.1:{port}", tls=None))
    assert str(err.value) == f"Cannot connect to the Docker daemon at tcp://127.0.0.1:{port}: Connection refused"
