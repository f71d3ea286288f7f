"""The supervisor-holder wire (keep.py) and peek-then-consume draining (peek.py), on real sockets and pipes."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

from runtime.containers.supervisor import keep
from runtime.containers.supervisor import loop as ev
from runtime.containers.supervisor.logs import JsonFileLog
from runtime.containers.supervisor.peek import Peeker
from runtime.containers.supervisor.protocol import STDOUT, parse_frames
from runtime.containers.supervisor.streams import ProcessIO
from tests.runtime.containers.supervisor.test_streams import drain


def test_a_handover_gives_descriptors_back_by_role() -> None:
    holder, supervisor = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    r, w = os.pipe()
    keep.send(holder, {"op": "kept", "cid": "c1", "roles": ["stdout", "stdin"]}, [r, w])
    keep.send(holder, {"op": "end"})
    keeper = keep.Keeper(supervisor.detach(), ev.Loop())
    kept = keeper.handover()
    assert set(kept) == {"c1"} and set(kept["c1"]) == {"stdout", "stdin"}
    os.write(kept["c1"]["stdin"], b"through")
    assert os.read(kept["c1"]["stdout"], 100) == b"through"
    keep.close_all([r, w, *kept["c1"].values()])
    holder.close()


def test_sends_never_block_and_queue_in_order_when_the_holder_is_slow() -> None:
    holder, supervisor = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    keep.send(holder, {"op": "end"})
    loop = ev.Loop()
    keeper = keep.Keeper(supervisor.detach(), loop)
    keeper.handover()
    pipes = [os.pipe() for _ in range(40)]  # more than net.unix.max_dgram_qlen packets
    for n, (r, _w) in enumerate(pipes):
        keeper.keep(f"c{n}", {"stdout": r})
        os.close(r)  # the supervisor may close its own before the packet goes: a duplicate went in the queue
    holder.setblocking(False)
    got: list[tuple[str, int]] = []
    while len(got) < len(pipes):
        loop.run_once(0.1)
        while True:
            try:
                message, fds = keep.receive(holder)
            except BlockingIOError:
                break
            assert message is not None and len(fds) == 1
            got.append((str(message["cid"]), fds[0]))
    assert [cid for cid, _ in got] == [f"c{n}" for n in range(len(pipes))]
    for (_cid, fd), (_r, w) in zip(got, pipes, strict=True):
        os.write(w, b"x")
        assert os.read(fd, 1) == b"x"  # the very pipe, still open through the holder's copy
        os.close(fd)
        os.close(w)
    holder.close()


def test_a_peek_leaves_the_bytes_until_consumed() -> None:
    peeker = Peeker()
    r, w = os.pipe()
    try:
        os.write(w, b"one\ntwo\n")
        assert peeker.peek(r, 65536) == b"one\ntwo\n"
        assert peeker.peek(r, 4) == b"one\n"  # still there
        peeker.consume(r, 4)
        assert peeker.peek(r, 65536) == b"two\n"
        peeker.consume(r, 4)
        os.set_blocking(r, False)
        try:
            peeker.peek(r, 65536)
            raise AssertionError("an empty pipe with a writer must say EAGAIN")
        except BlockingIOError:
            pass
        os.close(w)
        w = -1
        assert peeker.peek(r, 65536) == b""  # EOF
    finally:
        os.close(r)
        if w >= 0:
            os.close(w)
        peeker.close()


class CountingPeeker(Peeker):
    def __init__(self) -> None:
        super().__init__()
        self.peeks = 0

    def peek(self, fd: int, size: int) -> bytes:
        self.peeks += 1
        return super().peek(fd, size)


def test_a_kept_pipe_keeps_a_partial_line_until_its_end_comes(tmp_path: Path) -> None:
    loop = ev.Loop()
    r, w = os.pipe()
    drained: list[bool] = []
    log = JsonFileLog(tmp_path / "c-json.log")
    io = ProcessIO(loop, {STDOUT: r}, -1, False, log, lambda: drained.append(True), False)
    peeker = CountingPeeker()
    io.make_durable(peeker, lambda: None)
    ours, theirs = socket.socketpair()
    io.attach(ours, stdin=False)

    def logged() -> list[str]:
        return [json.loads(line)["log"] for line in (tmp_path / "c-json.log").read_text().splitlines()]

    os.write(w, b"one\nab")
    for _ in range(20):
        loop.run_once(0.01)
    assert logged() == ["one\n"]
    assert peeker.available(r) == 2  # the partial line waits in the pipe, where a next supervisor finds it
    assert peeker.peeks <= 3  # and, edge-triggered, does not wake the loop over and over
    os.write(w, b"c\nlast")
    os.close(w)
    for _ in range(50):
        if drained:
            break
        loop.run_once(0.01)
    assert drained and logged() == ["one\n", "abc\n", "last"]
    frames, _ = parse_frames(drain(theirs))
    assert b"".join(payload for _stream, payload in frames) == b"one\nabc\nlast"  # shown at once, never twice
    io.close()
    theirs.close()
    peeker.close()
