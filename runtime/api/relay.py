"""Relaying a hijacked API connection to a supervisor stream (attach, exec).

Output flows from the supervisor's socket to the client until the process
is done (the socket closes); stdin, when asked for, flows the other way,
and the client's half-close becomes a half-close towards the process (EOF
on its stdin). Docker's frames can be filtered to the streams the client
asked for. The detach keys (detach.py) on stdin end the relay, leaving the
process running.
"""

from __future__ import annotations

import contextlib
import socket
import struct
from collections.abc import Container

import anyio
import anyio.abc

from runtime.api.detach import DetachWatch
from runtime.api.http import RawStream

_GONE = (anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError, ConnectionError, OSError)
MULTIPLEXED = "application/vnd.docker.multiplexed-stream"
RAW = "application/vnd.docker.raw-stream"


def stream_content_type(tty: bool, api_version: str | None) -> str:
    """Docker's media type for attach/logs/exec output (the multiplexed one from API 1.42)."""
    if tty:
        return RAW
    if api_version is not None:
        try:
            if tuple(int(p) for p in api_version.split(".")) < (1, 42):
                return RAW
        except ValueError:
            return RAW
    return MULTIPLEXED


class FrameFilter:
    """Keeps only the frames of the wanted streams (1 stdout, 2 stderr) of a multiplexed byte stream."""

    def __init__(self, wanted: Container[int]) -> None:
        self.wanted = wanted
        self._buf = b""

    def feed(self, data: bytes) -> bytes:
        self._buf += data
        out = []
        while len(self._buf) >= 8:
            stream, size = struct.unpack(">BxxxI", self._buf[:8])
            if len(self._buf) < 8 + size:
                break
            if stream in self.wanted:
                out.append(self._buf[: 8 + size])
            self._buf = self._buf[8 + size :]
        return b"".join(out)


async def relay(client: RawStream, sock: socket.socket, stdin: bool, keep: FrameFilter | None = None,
                detach_keys: bytes = b"") -> bool:
    """Pump bytes between the client and the process until the process's output ends, the client goes, or
    the client sends the detach keys; True when it ended by the detach keys."""
    stream = await anyio.abc.UNIXSocketStream.from_socket(sock)
    watch = DetachWatch(detach_keys)
    async with stream, anyio.create_task_group() as tasks:
        if stdin:
            tasks.start_soon(_pump_stdin, client, stream, watch, tasks.cancel_scope)
        with contextlib.suppress(*_GONE):
            while True:
                data = await stream.receive()
                if keep is not None:
                    data = keep.feed(data)
                if data:
                    await client.send(data)
        tasks.cancel_scope.cancel()
    return watch.detached


async def _pump_stdin(client: RawStream, stream: anyio.abc.SocketStream, watch: DetachWatch,
                      scope: anyio.CancelScope) -> None:
    try:
        while True:
            data = watch.feed(await client.receive())
            if data:
                await stream.send(data)
            if watch.detached:
                scope.cancel()  # the attach ends here; the process keeps running and its stdin open
                return
    except anyio.EndOfStream:
        with contextlib.suppress(*_GONE):
            await stream.send_eof()
    except _GONE:
        pass
