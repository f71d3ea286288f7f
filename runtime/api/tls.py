"""Server-side TLS that survives a client's half-close.

`docker exec -i` ends its input with Go's CloseWrite (a close_notify) and
keeps reading the output; our own client ends it with a TCP half-close
(compose/client/connection.py). anyio's TLSStream closes both directions on
either, so the output after the input's end would be lost. Here, the end of
the client's data only ends reading: `receive` raises EndOfStream and
sending goes on (TLS 1.3 allows it; the context ignores an unexpected EOF,
which makes a TCP half-close read as a close_notify).
"""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import Callable
from typing import Any, TypeVar

import anyio
import anyio.abc
from anyio.streams.tls import TLSStream

T = TypeVar("T")
# A client has this long to finish its TLS handshake.
HANDSHAKE_TIMEOUT = 10.0
LINGER = 2.0


class HalfClosableTLS(TLSStream):
    """anyio's TLSStream, but the client's end of data leaves our sending side open (anyio's
    `_call_sslobject_method`, with EOF and close_notify handled on the reading side only)."""

    async def _call_sslobject_method(self, func: Callable[..., T], *args: Any) -> T:  # type: ignore[override]
        while True:
            try:
                result = func(*args)
            except ssl.SSLWantReadError:
                try:
                    await self._flush_write_bio()
                    data = await self.transport_stream.receive()
                except anyio.EndOfStream:
                    self._read_bio.write_eof()
                except OSError as exc:
                    self._read_bio.write_eof()
                    self._write_bio.write_eof()
                    raise anyio.BrokenResourceError from exc
                else:
                    self._read_bio.write(data)
            except ssl.SSLWantWriteError:
                await self._flush_write_bio()
            except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
                self._read_bio.write_eof()
                raise anyio.EndOfStream from None
            except ssl.SSLError as exc:
                self._read_bio.write_eof()
                self._write_bio.write_eof()
                if "UNEXPECTED_EOF_WHILE_READING" in (exc.strerror or ""):
                    raise anyio.EndOfStream from None
                raise anyio.BrokenResourceError from exc
            else:
                await self._flush_write_bio()
                return result

    async def aclose(self) -> None:
        """close_notify, our end of data, then what the client still sends is read to its end
        (for at most LINGER s) before the socket closes: closing with unread data (a client's
        close_notify) would reset the connection and lose the end of our output on its side."""
        with anyio.move_on_after(LINGER):
            try:
                with contextlib.suppress(ssl.SSLError):
                    self._ssl_object.unwrap()
                await self._flush_write_bio()
                await self.transport_stream.send_eof()
                while await self.transport_stream.receive():
                    pass
            except (anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
                pass
        await self.transport_stream.aclose()


def prepare(context: ssl.SSLContext) -> ssl.SSLContext:
    context.options |= getattr(ssl, "OP_IGNORE_UNEXPECTED_EOF", 0)
    return context


async def wrap(stream: anyio.abc.ByteStream, context: ssl.SSLContext) -> anyio.abc.ByteStream:
    with anyio.fail_after(HANDSHAKE_TIMEOUT):
        return await HalfClosableTLS.wrap(stream, server_side=True, ssl_context=context, standard_compatible=False)
