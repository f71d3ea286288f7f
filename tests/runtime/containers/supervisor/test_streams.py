"""ProcessIO over plain pipes and socketpairs, driven by the supervisor's loop (no containers)."""

from __future__ import annotations

import contextlib
import json
import os
import socket
from collections.abc import Callable
from pathlib import Path

from runtime.containers.supervisor.logs import JsonFileLog
from runtime.containers.supervisor.loop import Loop
from runtime.containers.supervisor.protocol import STDERR, STDOUT, parse_frames
from runtime.containers.supervisor.streams import HIGH_WATER, ProcessIO


def spin(loop: Loop, until: Callable[[], bool], rounds: int = 500) -> None:
    for _ in range(rounds):
        if until():
            return
        loop.run_once(0.01)
    raise AssertionError("condition not reached")


def drain(sock: socket.socket) -> bytes:
    sock.setblocking(False)
    data = b""
    while True:
        try:
            chunk = sock.recv(1 << 20)
        except BlockingIOError:
            return data
        if not chunk:
            return data
        data += chunk


def test_output_goes_to_log_and_attachment_framed(tmp_path: Path) -> None:
    loop = Loop()
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    drained: list[bool] = []
    log = JsonFileLog(tmp_path / "c-json.log")
    io = ProcessIO(loop, {STDOUT: out_r, STDERR: err_r}, -1, False, log, lambda: drained.append(True), False)
    ours, theirs = socket.socketpair()
    io.attach(ours, stdin=False)
    os.write(out_w, b"one\n")
    os.write(err_w, b"two\n")
    os.close(out_w)
    os.close(err_w)
    spin(loop, lambda: bool(drained))
    io.close()
    frames, rest = parse_frames(drain(theirs))
    assert sorted(frames) == [(STDOUT, b"one\n"), (STDERR, b"two\n")] and rest == b""
    assert theirs.recv(1) == b""  # closed once the output was delivered
    entries = [json.loads(line) for line in (tmp_path / "c-json.log").read_text().splitlines()]
    assert sorted((e["stream"], e["log"]) for e in entries) == [("stderr", "two\n"), ("stdout", "one\n")]
    loop.close()


def test_stdin_is_forwarded_and_closed_at_eof_when_asked() -> None:
    loop = Loop()
    in_r, in_w = os.pipe()
    out_r, out_w = os.pipe()
    io = ProcessIO(loop, {STDOUT: out_r}, in_w, False, None, lambda: None, close_stdin_on_eof=True)
    ours, theirs = socket.socketpair()
    io.attach(ours, stdin=True)
    theirs.sendall(b"input\n")
    theirs.shutdown(socket.SHUT_WR)
    spin(loop, lambda: io.stdin < 0)
    assert os.read(in_r, 100) == b"input\n"
    assert os.read(in_r, 100) == b""  # EOF reached the process
    os.close(out_w)
    spin(loop, lambda: io.drained)
    io.close()
    os.close(in_r)
    theirs.close()
    loop.close()


def test_a_slow_reader_pauses_the_output_and_a_fast_one_resumes_it() -> None:
    loop = Loop()
    out_r, out_w = os.pipe()
    os.set_blocking(out_w, False)
    io = ProcessIO(loop, {STDOUT: out_r}, -1, True, None, lambda: None, False)
    ours, theirs = socket.socketpair()
    io.attach(ours, stdin=False)
    written = 0
    chunk = b"x" * 65536
    while not io._paused and written < 8 * HIGH_WATER:
        with contextlib.suppress(BlockingIOError):
            written += os.write(out_w, chunk)
        loop.run_once(0)
    assert io._paused
    received = 0
    theirs.setblocking(False)

    def read_some() -> bool:
        nonlocal received
        received += len(drain(theirs))
        return not io._paused

    spin(loop, read_some)
    os.close(out_w)
    spin(loop, lambda: (read_some() and io.drained))
    io.close()
    received += len(drain(theirs))
    assert received == written  # raw (TTY) output, nothing lost
    theirs.close()
    loop.close()


def test_a_client_that_goes_away_is_dropped() -> None:
    loop = Loop()
    out_r, out_w = os.pipe()
    io = ProcessIO(loop, {STDOUT: out_r}, -1, False, None, lambda: None, False)
    ours, theirs = socket.socketpair()
    io.attach(ours, stdin=True)
    theirs.close()
    spin(loop, lambda: not io.attachments)
    os.write(out_w, b"nobody listens\n")
    loop.run_once(0.01)
    os.close(out_w)
    spin(loop, lambda: io.drained)
    io.close()
    loop.close()
