"""Stream frames, stdin forwarding and half-close, over a socket pair standing in for the engine."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator

import anyio
import anyio.abc
import pytest

from compose.cli.streams import Demultiplexer, Output, Session, frame, run_session
from compose.client.connection import RawStream


def test_demultiplexer_handles_split_frames() -> None:
    data = frame(1, b"out\n") + frame(2, b"err\n") + frame(0, b"in")
    demux = Demultiplexer()
    pieces = [p for i in range(len(data)) for p in demux.feed(data[i : i + 1])]
    assert pieces == [(1, b"out\n"), (2, b"err\n"), (1, b"in")]
    assert demux.pending == 0


@pytest.fixture
def pipes() -> Iterator[tuple[int, int, int, int]]:
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    yield out_r, out_w, err_r, err_w
    for fd in (out_r, out_w, err_r, err_w):
        os.close(fd)


def test_output_routes_frames_or_raw(pipes: tuple[int, int, int, int]) -> None:
    out_r, out_w, err_r, err_w = pipes
    Output(tty=False, stdout=out_w, stderr=err_w).write(frame(1, b"a") + frame(2, b"b") + frame(1, b"c")[:5])
    Output(tty=True, stdout=out_w, stderr=err_w).write(frame(2, b"raw"))
    assert os.read(out_r, 100) == b"a" + frame(2, b"raw")
    assert os.read(err_r, 100) == b"b"


def test_session_forwards_stdin_and_half_closes(pipes: tuple[int, int, int, int]) -> None:
    """stdin goes to the engine, its end is a half-close, and the session ends with the output."""
    out_r, out_w, _, _ = pipes
    stdin_r, stdin_w = os.pipe()
    os.write(stdin_w, b"hello")
    os.close(stdin_w)
    saved_in, saved_out = os.dup(0), os.dup(1)
    os.dup2(stdin_r, 0)
    os.dup2(out_w, 1)
    os.close(stdin_r)
    received: list[bytes] = []

    async def main() -> None:
        ours, theirs = socket.socketpair()
        stream = await anyio.abc.UNIXSocketStream.from_socket(ours)
        engine = await anyio.abc.UNIXSocketStream.from_socket(theirs)

        async def fake_engine() -> None:
            chunks = []
            while True:
                try:
                    chunks.append(await engine.receive())
                except anyio.EndOfStream:
                    break
            received.append(b"".join(chunks))
            await engine.send(frame(1, b"bye"))
            await engine.aclose()

        with anyio.fail_after(10):
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(fake_engine)
                await run_session(Session(RawStream(stream, b""), tty=False, stdin=True))

    try:
        anyio.run(main)
    finally:
        os.dup2(saved_in, 0)
        os.dup2(saved_out, 1)
        os.close(saved_in)
        os.close(saved_out)
    assert received == [b"hello"]
    assert os.read(out_r, 100) == b"bye"
