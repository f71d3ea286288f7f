"""One HTTP/1.1 connection to the engine (h11) over the byte stream transport.py opens."""

from __future__ import annotations

from collections.abc import AsyncIterable
from typing import Any

import anyio
import anyio.abc
import h11

from compose.client.transport import Endpoint, open_stream, unanswered

READ_SIZE = 65536
_GONE = (anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError, ConnectionError)


class ConnectionLost(Exception):
    """The connection broke; `answered` says whether any response had begun."""

    def __init__(self, message: str, answered: bool) -> None:
        super().__init__(message)
        self.answered = answered


class Connection:
    def __init__(self, stream: anyio.abc.ByteStream, ep: Endpoint | None = None) -> None:
        self.stream = stream
        self.endpoint = ep
        self.fresh = True  # no exchange completed yet
        self.h11 = h11.Connection(h11.CLIENT)
        self.answered = False

    @classmethod
    async def open(cls, ep: Endpoint) -> Connection:
        return cls(await open_stream(ep), ep)

    async def send(self, event: Any) -> None:
        data = self.h11.send(event)
        if data:
            try:
                await self.stream.send(data)
            except _GONE as exc:
                raise ConnectionLost(f"connection lost while sending: {exc!r}", self.answered) from exc

    async def send_request(
        self, method: str, target: str, headers: list[tuple[str, str]], body: bytes | AsyncIterable[bytes]
    ) -> None:
        """Send the request; a server that answers early stops the upload."""
        self.answered = False
        await self.send(h11.Request(method=method, target=target, headers=headers))
        if isinstance(body, bytes):
            if body:
                await self.send(h11.Data(data=body))
        else:
            async for chunk in body:
                if chunk:
                    await self.send(h11.Data(data=chunk))
        await self.send(h11.EndOfMessage())

    async def next_event(self) -> Any:
        while True:
            try:
                event = self.h11.next_event()
            except h11.RemoteProtocolError as exc:
                if self.fresh and not self.answered and self.endpoint is not None:
                    raise unanswered(self.endpoint) from None  # ssh failed, TLS refused us
                raise ConnectionLost(f"bad response from the engine: {exc}", self.answered) from exc
            if event is h11.NEED_DATA:
                try:
                    data = await self.stream.receive(READ_SIZE)
                except _GONE as exc:
                    if _tls_failure(exc):  # e.g. the engine refused our certificate (TLS 1.3 says so late)
                        raise ConnectionLost(_tls_failure(exc), self.answered) from None
                    data = b""
                if data:
                    self.answered = True
                self.h11.receive_data(data)
                continue
            if isinstance(event, h11.ConnectionClosed):
                if self.fresh and not self.answered and self.endpoint is not None:
                    raise unanswered(self.endpoint)
                raise ConnectionLost("the engine closed the connection", self.answered)
            return event

    async def receive_head(self, informational: bool = False) -> h11.Response | h11.InformationalResponse:
        """The response head; 1xx heads are skipped unless `informational`."""
        while True:
            event = await self.next_event()
            if isinstance(event, h11.Response):
                return event
            if isinstance(event, h11.InformationalResponse) and (
                informational or event.status_code == 101
            ):
                return event

    async def receive_data(self) -> bytes:
        """The next piece of the response body; b"" at its end."""
        while True:
            event = await self.next_event()
            if isinstance(event, h11.Data):
                if event.data:
                    return bytes(event.data)
            elif isinstance(event, h11.EndOfMessage):
                return b""

    def reusable(self) -> bool:
        """After a complete exchange: ready for the next request?"""
        if self.h11.our_state is h11.DONE and self.h11.their_state is h11.DONE:
            self.h11.start_next_cycle()
            self.fresh = False
            return True
        return False

    async def aclose(self) -> None:
        await self.stream.aclose()


def _tls_failure(exc: BaseException) -> str:
    import ssl

    from compose.client.tls import describe_tls_error

    cause = exc.__cause__
    return describe_tls_error(cause) if isinstance(cause, ssl.SSLError) else ""


class RawStream:
    """A hijacked connection: bytes both ways after `101 UPGRADED`."""

    def __init__(self, stream: anyio.abc.ByteStream, pending: bytes) -> None:
        self._stream = stream
        self._pending = pending

    async def receive(self, max_bytes: int = READ_SIZE) -> bytes:
        """The next bytes; raises anyio.EndOfStream when the engine is done."""
        if self._pending:
            data, self._pending = self._pending[:max_bytes], self._pending[max_bytes:]
            return data
        return await self._stream.receive(max_bytes)

    async def send(self, data: bytes) -> None:
        await self._stream.send(data)

    async def send_eof(self) -> None:
        try:
            await self._stream.send_eof()
        except NotImplementedError:
            # TLS has no half-close: a TCP one, which the engine takes as the end of the input
            # (Go's CloseWrite sends close_notify, which needs the peer to stop too in Python's ssl).
            transport = getattr(self._stream, "transport_stream", None)
            if transport is None:
                raise
            await transport.send_eof()

    async def aclose(self) -> None:
        await self._stream.aclose()

    async def __aenter__(self) -> RawStream:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
