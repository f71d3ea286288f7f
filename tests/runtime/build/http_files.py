"""A real HTTP server on 127.0.0.1 for ADD <url> and remote= contexts: GETs answered from a table."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

Routes = dict[str, tuple[int, dict[str, str], bytes]]  # path -> (status, headers, body)


class _Handler(BaseHTTPRequestHandler):
    routes: ClassVar[Routes] = {}
    blank_type: ClassVar[bool] = False  # a route without Content-Type gets an empty one (else none at all)

    def do_GET(self) -> None:
        status, headers, body = self.routes.get(self.path, (404, {}, b"not found"))
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        if self.blank_type and "Content-Type" not in headers:
            self.send_header("Content-Type", "")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def serving(routes: Routes, blank_type: bool = False) -> Iterator[str]:
    """The server's base URL while the block runs; `routes` is read at each request, so a test may add
    to it; a path it lacks is a 404."""
    handler = type("Handler", (_Handler,), {"routes": routes, "blank_type": blank_type})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()
