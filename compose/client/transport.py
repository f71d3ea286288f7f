"""A byte stream to the engine: the one transport both clients use.

`endpoint(host)` reads a host as the docker CLI does: `unix:///path` (or a
bare absolute path), `tcp://addr[:port]` (plain, or TLS when the environment
asks for it: compose/client/tls.py; port 2376 with TLS, 2375 without) and
`ssh://[user@]host[:port]`. `open_socket` opens a blocking socket (the
blocking client), `open_stream` an anyio byte stream (the anyio client).

ssh:// runs the system's `ssh` with the far side's `pycompose system
dial-stdio` (else `docker system dial-stdio`), as the docker CLI does; its
stdin and stdout are one end of a socketpair whose other end is our
connection, so both clients see a plain socket and a half-close (shutdown
of our writing side) reaches the far engine as ssh's EOF. One ssh per
connection, as the docker CLI; ssh's own messages (host keys, passwords)
go to our stderr. The system's ssh keeps what users already set up
(~/.ssh/config, agents, known_hosts, ProxyJump) which an SSH library would not.
"""

from __future__ import annotations

import os
import socket
import subprocess
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from compose.client.errors import EngineConnectionError
from compose.client.tls import TLSSettings, client_context, describe_tls_error, tls_from_environ

if TYPE_CHECKING:
    import anyio.abc

RETRY = 0.002  # seconds between connects to a unix socket whose accept backlog is full
DIAL_ENV = "PYCOMPOSE_SSH_DIAL_STDIO"
# The last ssh started per host: its stderr explains a connection that closed unanswered.
_SSH: dict[str, subprocess.Popen[bytes]] = {}
# The far side's command: ours where it is installed, else the docker CLI's.
DIAL_STDIO = ("if command -v pycompose >/dev/null 2>&1; then exec pycompose system dial-stdio; "
              "else exec docker system dial-stdio; fi")


class Endpoint:
    """Where the engine is; read-only by convention (not a dataclass: the CLI's fast path
    runs on the blocking client and importing dataclasses costs it more than it runs)."""

    __slots__ = ("address", "host", "path", "port", "scheme", "tls", "user")

    def __init__(self, host: str, scheme: str, path: str = "", address: str = "", port: int = 0,
                 user: str | None = None, tls: TLSSettings | None = None) -> None:
        self.host = host  # as given, for messages
        self.scheme = scheme  # unix, tcp or ssh
        self.path, self.address, self.port, self.user, self.tls = path, address, port, user, tls

    def failure(self, reason: str) -> EngineConnectionError:
        if self.scheme == "unix":
            return EngineConnectionError(f"cannot connect to the engine at unix://{self.path}: {reason}")
        return EngineConnectionError(f"Cannot connect to the Docker daemon at {self.host}: {reason}")


def endpoint(host: str, tls: TLSSettings | None = None) -> Endpoint:
    """The endpoint of `host`; TLS for tcp:// from `tls`, else from the environment."""
    if host.startswith("/"):
        return Endpoint(f"unix://{host}", "unix", path=host)
    scheme, sep, rest = host.partition("://")
    if not sep:
        raise EngineConnectionError(f"unsupported engine host {host!r}: use unix://, tcp:// or ssh://")
    if scheme == "unix":
        if not rest.startswith("/"):
            raise EngineConnectionError(f"unsupported engine host {host!r}: the socket path must be absolute")
        return Endpoint(host, "unix", path=rest)
    if scheme not in ("tcp", "ssh"):
        raise EngineConnectionError(f"unsupported engine host {host!r}: use unix://, tcp:// or ssh://")
    try:
        parts = urlsplit(host)
        port = parts.port
    except ValueError as exc:
        raise EngineConnectionError(f"invalid engine host {host!r}: {exc}") from None
    if not parts.hostname or parts.path not in ("", "/"):
        raise EngineConnectionError(f"invalid engine host {host!r}: expected {scheme}://host[:port]")
    if scheme == "ssh":
        return Endpoint(host, "ssh", address=parts.hostname, port=port or 0, user=parts.username)
    tls = tls if tls is not None else tls_from_environ()
    return Endpoint(host, "tcp", address=parts.hostname, port=port or (2376 if tls else 2375), tls=tls)


def open_socket(ep: Endpoint) -> socket.socket:
    """A connected blocking socket (TLS done) to the engine."""
    if ep.scheme == "unix":
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(ep.path)
        except OSError as exc:
            sock.close()
            raise ep.failure(reason(exc)) from None
        return sock
    if ep.scheme == "ssh":
        return dial_ssh(ep)
    try:
        sock = socket.create_connection((ep.address, ep.port))
    except OSError as exc:
        raise ep.failure(reason(exc)) from None
    if ep.tls is None:
        return sock
    context = client_context(ep.tls, ep.host)
    try:
        return context.wrap_socket(sock, server_hostname=ep.address)
    except OSError as exc:
        sock.close()
        raise ep.failure(reason(exc)) from None


async def connect_unix(path: str) -> anyio.abc.SocketStream:
    """anyio.connect_unix without its flaws: a unix socket whose accept backlog is full refuses a
    non-blocking connect, and poll says writable at once, so anyio's wait spins; cancelled as room
    comes, it left a callback that set the cancelled future, which asyncio printed as a traceback
    on the user's terminal (parallel pulls, one failing). Here: try again every RETRY seconds."""
    import anyio
    import anyio.abc

    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.setblocking(False)
    try:
        while True:
            try:
                sock.connect(path)
                break
            except BlockingIOError:
                await anyio.sleep(RETRY)
    except BaseException:
        sock.close()
        raise
    return await anyio.abc.UNIXSocketStream.from_socket(sock)


async def open_stream(ep: Endpoint) -> anyio.abc.ByteStream:
    """A connected anyio byte stream (TLS done) to the engine."""
    import anyio
    import anyio.abc

    try:
        if ep.scheme == "unix":
            return await connect_unix(ep.path)
        if ep.scheme == "ssh":
            return await anyio.abc.UNIXSocketStream.from_socket(dial_ssh(ep))
        if ep.tls is None:
            return await anyio.connect_tcp(ep.address, ep.port)
        context = client_context(ep.tls, ep.host)
        return await anyio.connect_tcp(ep.address, ep.port, ssl_context=context,
                                       tls_standard_compatible=False, tls_hostname=ep.address)
    except EngineConnectionError:
        raise
    except (OSError, anyio.BrokenResourceError) as exc:
        raise ep.failure(reason(exc)) from None


def dial_ssh(ep: Endpoint) -> socket.socket:
    """`ssh [-l user] [-p port] -- host <dial-stdio>` on one end of a socketpair; the other end."""
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    argv = ["ssh", "-T", "-o", "ConnectTimeout=30"]
    if ep.user:
        argv += ["-l", ep.user]
    if ep.port:
        argv += ["-p", str(ep.port)]
    argv += ["--", ep.address, os.environ.get(DIAL_ENV) or DIAL_STDIO]
    try:
        _SSH[ep.host] = subprocess.Popen(argv, stdin=theirs.fileno(), stdout=theirs.fileno(), stderr=subprocess.PIPE,
                                         start_new_session=True)
    except OSError as exc:
        ours.close()
        raise ep.failure(f"cannot run ssh: {exc.strerror or exc}") from None
    finally:
        theirs.close()
    return ours


def unanswered(ep: Endpoint) -> EngineConnectionError:
    """The error of a fresh connection that closed before any answer: ssh's last word, TLS's refusal."""
    from compose.client.tls import REFUSED_TLS

    if ep.scheme == "ssh":
        said: list[str] = []
        proc = _SSH.get(ep.host)
        if proc is not None and proc.stderr is not None:
            try:
                proc.wait(5)
                said = proc.stderr.read().decode(errors="replace").strip().splitlines()[-1:]
            except (OSError, ValueError, subprocess.TimeoutExpired):
                pass
        return ep.failure(f"ssh: {said[0]}" if said else "the ssh connection closed without an answer")
    if ep.tls is not None:
        return ep.failure(REFUSED_TLS)
    return ep.failure("the engine closed the connection without an answer")


def reason(exc: BaseException) -> str:
    import ssl

    cause = exc if isinstance(exc, ssl.SSLError) else exc.__cause__
    if isinstance(cause, ssl.SSLError):
        return describe_tls_error(cause)
    if isinstance(exc.__cause__, OSError) and exc.__cause__.strerror:  # anyio: "All connection attempts failed"
        exc = exc.__cause__
    if isinstance(exc, FileNotFoundError):
        return "no such socket (is it running?)"
    if isinstance(exc, OSError) and exc.errno:
        return os.strerror(exc.errno)  # asyncio's strerror is "Connect call failed (...)"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__
