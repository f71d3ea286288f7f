"""The process half of a birth: pure parts (lookup, environment, errors)."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from runtime.containers.supervisor import process_setup as ps


def test_find_executable_uses_the_path(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    tool = tmp_path / "b" / "tool"
    tool.write_text("#!/bin/sh\n")
    tool.chmod(0o755)
    (tmp_path / "a" / "tool").write_text("not executable")
    assert ps.find_executable("tool", f"{tmp_path}/a:{tmp_path}/b") == str(tool)
    assert ps.find_executable(str(tool), "") == str(tool)


def test_find_executable_errors_are_dockers(tmp_path: Path) -> None:
    with pytest.raises(ps.RuntimeFailure) as info:
        ps.find_executable("nope", str(tmp_path))
    assert info.value.exit_code == 127 and info.value.phase == "exec"
    assert info.value.message == 'exec: "nope": executable file not found in $PATH'
    (tmp_path / "plain").write_text("x")
    with pytest.raises(ps.RuntimeFailure) as info:
        ps.find_executable(str(tmp_path / "plain"), "")
    assert info.value.exit_code == 126
    with pytest.raises(ps.RuntimeFailure) as info:
        ps.find_executable(str(tmp_path / "missing"), "")
    assert info.value.exit_code == 127


def test_environment_last_wins_and_home_from_passwd(tmp_path: Path) -> None:
    passwd = tmp_path / "passwd"
    passwd.write_text("root:x:0:0:root:/root:/bin/sh\nweb:x:33:33::/var/www:/bin/false\n")
    assert ps.home_of(33, str(passwd)) == "/var/www"
    assert ps.home_of(99, str(passwd)) == "/"
    env = ps.environment(["A=1", "A=2", "B=x=y", "=bad"], 0)
    assert env["A"] == "2" and env["B"] == "x=y" and "" not in env
    assert ps.environment(["HOME=/h"], 0)["HOME"] == "/h"


def test_phase_wraps_errors() -> None:
    with pytest.raises(ps.RuntimeFailure) as info, ps.phase("mounts"):
        raise FileNotFoundError(2, "No such file or directory", "/x")
    assert info.value.phase == "mounts" and info.value.message == "/x: No such file or directory"
    assert str(info.value) == "mounts: /x: No such file or directory"


def test_report_failure_sends_phase_and_code() -> None:
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    with a, b:
        code = ps.report_failure(a, "rootfs", ps.RuntimeFailure("boom", "exec", 127))
        assert code == 127
        assert b.recv(4096) == b'{"error": "boom", "phase": "exec", "exit_code": 127}'
        assert ps.report_failure(a, "rootfs", ValueError("bad")) == 1
        assert b'"phase": "rootfs"' in b.recv(4096)


def test_send_ready_passes_the_master_fd() -> None:
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    r, w = os.pipe()
    with a, b:
        ps.send_ready(a, r)
        data, fds, _, _ = socket.recv_fds(b, 100, 1)
        assert data == b'{"ready": true}' and len(fds) == 1
        os.write(w, b"z")
        assert os.read(fds[0], 1) == b"z"
        for fd in (*fds, r, w):
            os.close(fd)
