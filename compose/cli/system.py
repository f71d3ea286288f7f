"""`pycompose system dial-stdio`: stdin and stdout as a connection to the engine.

What `docker system dial-stdio` does, and what an ssh:// client runs on the
far side (compose/client/transport.py): the engine's bytes go to stdout, stdin's
to the engine; stdin's end half-closes the connection (the engine still
answers), the engine's end ends the command. The engine is the one every
command talks to: -H, $DOCKER_HOST, the context, else the default socket.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading

import click

from compose.client.place import default_host
from compose.client.transport import endpoint, open_socket

READ_SIZE = 65536


@click.group()
def system() -> None:
    """Engine-wide commands."""


@system.command("dial-stdio")
def dial_stdio() -> None:
    """Proxy the stdio stream to the engine's connection."""
    sock = open_socket(endpoint(os.environ.get("DOCKER_HOST") or default_host()))
    threading.Thread(target=_upstream, args=(sock,), daemon=True).start()
    try:
        while data := sock.recv(READ_SIZE):
            _write_all(1, data)
    except OSError:
        pass
    finally:
        sock.close()


def _upstream(sock: socket.socket) -> None:
    """stdin to the engine, then a half-close (not on TLS: SSLSocket.shutdown drops the TLS layer)."""
    import ssl

    try:
        while data := os.read(0, READ_SIZE):
            sock.sendall(data)
        if not isinstance(sock, ssl.SSLSocket):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_WR)
    except OSError:
        return


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
