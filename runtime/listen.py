"""Where the engine listens: `-H unix:///path` and `-H tcp://addr:port`, several at once, and TLS.

As dockerd: `--tlsverify` (or `--tls`) with `--tlscacert`, `--tlscert`,
`--tlskey` (defaults `ca.pem`, `cert.pem`, `key.pem` in $DOCKER_CERT_PATH,
else ~/.docker) puts TLS on every tcp listener; `--tlsverify` refuses a
client without a certificate signed by the CA. UNIX sockets never use TLS
(their file mode and group guard them). A tcp listener without TLS exposes
root on the machine to whoever reaches it: the engine allows it only on a
loopback address (dockerd warns, then refuses since 27.0).
"""

from __future__ import annotations

import ipaddress
import os
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    import ssl


class ListenError(Exception):
    """A listen address or TLS setting the engine cannot use; the message is for the operator."""


@dataclass(frozen=True)
class ListenAddress:
    host: str  # as given
    path: Path | None = None  # unix
    address: str = ""  # tcp
    port: int = 0

    @property
    def is_tcp(self) -> bool:
        return self.path is None


@dataclass(frozen=True)
class ServerTLS:
    verify: bool
    ca: Path | None
    cert: Path
    key: Path


def parse_listen(host: str, tls: bool) -> ListenAddress:
    """`unix:///path`, a bare absolute path, or `tcp://addr[:port]` (2376 with TLS, 2375 without)."""
    if host.startswith("/") or host.startswith("unix://"):
        path = host.removeprefix("unix://")
        if not path.startswith("/"):
            raise ListenError(f"socket path must be absolute: {host!r}")
        return ListenAddress(host, path=Path(path))
    if not host.startswith("tcp://"):
        raise ListenError(f"unsupported host {host!r}: the engine listens on unix:// and tcp:// addresses")
    try:
        parts = urlsplit(host)
        port = parts.port
    except ValueError as exc:
        raise ListenError(f"invalid host {host!r}: {exc}") from None
    if parts.hostname is None or parts.path not in ("", "/"):
        raise ListenError(f"invalid host {host!r}: expected tcp://address:port")
    return ListenAddress(host, address=parts.hostname, port=port if port is not None else (2376 if tls else 2375))


def is_loopback(address: str) -> bool:
    if address == "localhost":
        return True
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def check_plain_tcp(listen: ListenAddress, tls: ServerTLS | None) -> None:
    """A tcp listener without TLS only on loopback."""
    if listen.is_tcp and tls is None and not is_loopback(listen.address):
        raise ListenError(f"refusing to listen on {listen.host} without TLS: anyone who reaches it is root "
                          "on this machine; use --tlsverify with --tlscacert, --tlscert and --tlskey, "
                          "or a loopback address")


def server_tls(tls: bool, verify: bool, ca: str | None, cert: str | None, key: str | None) -> ServerTLS | None:
    """The TLS settings of dockerd's flags, defaults from $DOCKER_CERT_PATH or ~/.docker; None without TLS."""
    if not (tls or verify):
        return None
    folder = Path(os.environ.get("DOCKER_CERT_PATH") or Path.home() / ".docker")
    ca_path = Path(ca) if ca else folder / "ca.pem"
    cert_path, key_path = Path(cert) if cert else folder / "cert.pem", Path(key) if key else folder / "key.pem"
    needed = [("--tlscert", cert_path), ("--tlskey", key_path)] + ([("--tlscacert", ca_path)] if verify else [])
    for what, path in needed:
        if not path.is_file():
            raise ListenError(f"could not load TLS material: {what} {path}: no such file")
    return ServerTLS(verify, ca_path if verify or ca_path.is_file() else None, cert_path, key_path)


def server_context(tls: ServerTLS) -> ssl.SSLContext:
    """The listeners' SSL context: our certificate; with verify, the client's is required."""
    import ssl

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(tls.cert, tls.key)
        if tls.ca is not None:
            context.load_verify_locations(tls.ca)
        context.verify_mode = ssl.CERT_REQUIRED if tls.verify else (
            ssl.CERT_OPTIONAL if tls.ca is not None else ssl.CERT_NONE)
    except (OSError, ssl.SSLError) as exc:
        raise ListenError(f"could not load TLS material: {exc}") from None
    return context


def bind_tcp(listen: ListenAddress, backlog: int) -> socket.socket:
    """The listening tcp socket (IPv4 or IPv6 as the address is)."""
    try:
        infos = socket.getaddrinfo(listen.address, listen.port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise ListenError(f"cannot listen on {listen.host}: {exc.strerror}") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(backlog)
    except OSError as exc:
        sock.close()
        raise ListenError(f"cannot listen on {listen.host}: {exc.strerror}") from None
    return sock


def ensure_group(name: str) -> int | None:
    """The gid of `name`, the group created (as a system group) when missing, as dockerd's `docker`."""
    import grp
    import subprocess

    try:
        return grp.getgrnam(name).gr_gid
    except KeyError:
        pass
    if os.geteuid() != 0:
        return None
    try:
        subprocess.run(["groupadd", "--system", name], check=True, capture_output=True)
        return grp.getgrnam(name).gr_gid
    except (OSError, subprocess.CalledProcessError, KeyError):
        return None
