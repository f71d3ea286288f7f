"""The engine's -H and TLS flags: several listeners, plain tcp only on loopback, TLS material checked."""

from __future__ import annotations

from pathlib import Path

import pytest

from runtime.__main__ import parse_config
from runtime.listen import ListenError, is_loopback, parse_listen


def test_several_hosts() -> None:
    config = parse_config(["-H", "unix:///run/a.sock", "-H", "tcp://127.0.0.1:2375", "-H", "unix:///run/b.sock"])
    assert config.socket == Path("/run/a.sock")
    assert [h.host for h in config.hosts] == ["tcp://127.0.0.1:2375", "unix:///run/b.sock"]
    assert config.tls is None
    only_tcp = parse_config(["-H", "tcp://[::1]:2375"])
    assert only_tcp.socket is None and only_tcp.hosts[0].address == "::1"


@pytest.mark.parametrize("host", ["tcp://0.0.0.0:2375", "tcp://10.0.0.1:2375", "tcp://example.com:1"])
def test_plain_tcp_off_loopback_is_refused(host: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        parse_config(["-H", host])
    assert exit_.value.code == 2
    assert f"refusing to listen on {host} without TLS" in capsys.readouterr().err


def test_tls_material_must_exist(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parse_config(["-H", "tcp://0.0.0.0:2376", "--tlsverify", "--tlscacert", str(tmp_path / "ca.pem"),
                      "--tlscert", str(tmp_path / "c.pem"), "--tlskey", str(tmp_path / "k.pem")])
    assert "could not load TLS material: --tlscert" in capsys.readouterr().err
    for name in ("ca.pem", "c.pem", "k.pem"):
        (tmp_path / name).write_text("x")
    config = parse_config(["-H", "tcp://0.0.0.0:2376", "--tlsverify", "--tlscacert", str(tmp_path / "ca.pem"),
                           "--tlscert", str(tmp_path / "c.pem"), "--tlskey", str(tmp_path / "k.pem")])
    assert config.tls is not None and config.tls.verify and config.hosts[0].port == 2376


def test_parse_and_loopback() -> None:
    assert parse_listen("tcp://127.0.0.1", tls=False).port == 2375
    assert parse_listen("tcp://127.0.0.1", tls=True).port == 2376
    with pytest.raises(ListenError):
        parse_listen("ssh://x", tls=False)
    assert is_loopback("127.0.0.2") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("10.0.0.1") and not is_loopback("example.com")
