"""A recording proxy that makes an engine claim an older API version.

It listens on a UNIX socket of its own and pipes every connection to the
engine's socket, byte for byte, except that the engine's `Api-Version`
header (what `/_ping` answers and the client negotiates from) claims
`claim` instead of the engine's own. It keeps what clients sent; after the
test `requests()` parses those bytes as HTTP (h11) into request lines and
bodies, so a test can check what an engine of that version would have
received.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from dataclasses import dataclass
from pathlib import Path

import h11


@dataclass(frozen=True)
class Sent:
    method: str
    target: str
    body: bytes


class VersionProxy:
    def __init__(self, listen: Path, upstream: str, claim: str, real: str = "1.45") -> None:
        self.listen, self.upstream = listen, upstream
        self._from, self._to = f"Api-Version: {real}".encode(), f"Api-Version: {claim}".encode()
        self.sent: list[bytearray] = []
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(str(listen))
        self.listener.listen(64)
        self._accepting = threading.Thread(target=self._accept, daemon=True)
        self._accepting.start()

    @property
    def host(self) -> str:
        return f"unix://{self.listen}"

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            engine = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            engine.connect(self.upstream)
            record = bytearray()
            with self._lock:
                self.sent.append(record)
            for args in ((client, engine, record, False), (engine, client, None, True)):
                thread = threading.Thread(target=self._pump, args=args, daemon=True)
                thread.start()
                self._threads.append(thread)

    def _pump(self, source: socket.socket, sink: socket.socket, record: bytearray | None, rewrite: bool) -> None:
        try:
            while data := source.recv(65536):
                if record is not None:
                    record += data
                if rewrite:
                    data = data.replace(self._from, self._to)
                sink.sendall(data)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                sink.shutdown(socket.SHUT_WR)

    def close(self) -> None:
        self.listener.close()
        for thread in self._threads:
            thread.join(10)
        self._accepting.join(10)
        self.listen.unlink(missing_ok=True)

    def requests(self) -> list[Sent]:
        """Every request clients sent, in connection order (up to a protocol switch)."""
        out: list[Sent] = []
        with self._lock:
            records = [bytes(r) for r in self.sent]
        for data in records:
            conn = h11.Connection(h11.SERVER)
            conn.receive_data(data)
            conn.receive_data(b"")
            method, target, body = "", "", b""
            while True:
                try:
                    event = conn.next_event()
                except h11.RemoteProtocolError:
                    break
                if isinstance(event, h11.Request):
                    method, target, body = event.method.decode(), event.target.decode(), b""
                elif isinstance(event, h11.Data):
                    body += bytes(event.data)
                elif isinstance(event, h11.EndOfMessage):
                    out.append(Sent(method, target, body))
                    if conn.their_state is not h11.DONE:
                        break
                    # Fake our side of the exchange so h11 reads the next request.
                    conn.send(h11.Response(status_code=204, headers=[]))
                    conn.send(h11.EndOfMessage())
                    conn.start_next_cycle()
                else:
                    break
        return out
