"""Wire format pieces: lines, frames, times, long socket paths."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from runtime.containers.supervisor.protocol import (
    LineReader,
    ProtocolError,
    encode,
    frame,
    parse_frames,
    rfc3339nano,
    unix_path,
)


def test_line_reader_handles_split_and_joined_lines() -> None:
    reader = LineReader()
    assert list(reader.feed(b'{"a": 1}\n{"b"')) == [{"a": 1}]
    assert list(reader.feed(b': 2}\n\n{"c": 3}\n')) == [{"b": 2}, {"c": 3}]
    assert list(reader.feed(encode({"x": [1, "y"]}))) == [{"x": [1, "y"]}]


def test_line_reader_refuses_garbage() -> None:
    with pytest.raises(ProtocolError):
        list(LineReader().feed(b"nope\n"))
    with pytest.raises(ProtocolError):
        list(LineReader().feed(b"[1]\n"))


def test_frames_round_trip() -> None:
    data = frame(1, b"out") + frame(2, b"") + frame(2, b"err!")
    assert data[:8] == b"\x01\x00\x00\x00\x00\x00\x00\x03"
    frames, rest = parse_frames(data + b"\x01\x00")
    assert frames == [(1, b"out"), (2, b""), (2, b"err!")]
    assert rest == b"\x01\x00"


def test_rfc3339nano_trims_like_go() -> None:
    assert rfc3339nano(0) == "1970-01-01T00:00:00Z"
    assert rfc3339nano(1_500_000_000) == "1970-01-01T00:00:01.5Z"
    assert rfc3339nano(1_700_000_000_000_000_010) == "2023-11-14T22:13:20.00000001Z"


def test_unix_path_for_long_paths_goes_through_proc(tmp_path: Path) -> None:
    deep = tmp_path / ("d" * 60) / ("e" * 60)
    deep.mkdir(parents=True)
    address, fd = unix_path(deep / "s.sock")
    assert fd >= 0 and address.startswith("/proc/self/fd/")
    try:
        with socket.socket(socket.AF_UNIX) as server:
            server.bind(address)
            assert (deep / "s.sock").exists()
    finally:
        os.close(fd)
    assert unix_path(Path("/tmp/short.sock")) == ("/tmp/short.sock", -1)
