"""A misbehaving front for a test registry: forwards GET/HEAD to it, and on blob downloads can
corrupt a byte, drop the connection once half-way, or throttle. Traffic stays on 127.0.0.1."""

from __future__ import annotations

import http.client
import http.server
import threading
import time
from dataclasses import dataclass, field
from typing import Any

CHUNK = 64 * 1024


@dataclass
class Faults:
    corrupt: bool = False  # flip one byte in the middle of every blob over 64 KiB (layers, not configs)
    drop_once: set[str] = field(default_factory=set)  # digests whose first download stops half-way
    rate: float = 0.0  # bytes per second for blobs (0: as fast as possible)
    range_requests: list[str] = field(default_factory=list)  # Range headers seen
    ignore_range: bool = False  # answer a Range request with the whole blob (200), as some servers do
    served: int = 0  # blob bytes sent
    active: int = 0  # blob downloads in flight
    peak: int = 0  # the most blob downloads in flight at once


class RegistryProxy:
    def __init__(self, upstream_port: int) -> None:
        self.upstream = upstream_port
        self.faults = Faults()
        self._lock = threading.Lock()
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                proxy._forward(self, "GET")

            def do_HEAD(self) -> None:
                proxy._forward(self, "HEAD")

        class Server(http.server.ThreadingHTTPServer):
            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a client that hung up mid-blob (a cancelled pull) is expected here

        self._httpd = Server(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self._httpd.server_address[1]}"

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(5)

    def _forward(self, req: http.server.BaseHTTPRequestHandler, method: str) -> None:
        upstream = http.client.HTTPConnection("127.0.0.1", self.upstream, timeout=30)
        dropped = ("host", "connection", "range") if self.faults.ignore_range else ("host", "connection")
        headers = {k: v for k, v in req.headers.items() if k.lower() not in dropped}
        upstream.request(method, req.path, headers=headers)
        response = upstream.getresponse()
        body_headers = [(k, v) for k, v in response.getheaders()
                        if k.lower() not in ("connection", "transfer-encoding", "keep-alive")]
        digest = req.path.rsplit("/", 1)[-1]
        is_blob = "/blobs/sha256:" in req.path and method == "GET" and response.status in (200, 206)
        if is_blob and "Range" in req.headers:
            self.faults.range_requests.append(req.headers["Range"])
        req.send_response(response.status)
        for key, value in body_headers:
            req.send_header(key, value)
        req.end_headers()
        if method == "HEAD":
            upstream.close()
            return
        length = int(response.getheader("Content-Length") or 0)
        sent = 0
        if is_blob:
            with self._lock:
                self.faults.active += 1
                self.faults.peak = max(self.faults.peak, self.faults.active)
        drop = is_blob and digest in self.faults.drop_once and "Range" not in req.headers
        try:
            while data := response.read(CHUNK):
                if is_blob and self.faults.corrupt and length > CHUNK and sent <= length // 2 < sent + len(data):
                    i = length // 2 - sent
                    data = data[:i] + bytes([data[i] ^ 0xFF]) + data[i + 1 :]
                if drop and sent + len(data) > length // 2:
                    self.faults.drop_once.discard(digest)
                    req.wfile.write(data[: length // 2 - sent])
                    req.wfile.flush()
                    req.close_connection = True
                    req.connection.shutdown(2)
                    return
                req.wfile.write(data)
                sent += len(data)
                if is_blob:
                    self.faults.served += len(data)
                    if self.faults.rate:
                        time.sleep(len(data) / self.faults.rate)
        except (BrokenPipeError, ConnectionResetError):
            req.close_connection = True
        finally:
            upstream.close()
            if is_blob:
                with self._lock:
                    self.faults.active -= 1
