"""Registry settings of the engine, read from `<root>/daemon.json` as dockerd reads its own.

Keys: `insecure-registries` (host[:port] or CIDR; 127.0.0.0/8 and ::1 always), `registry-mirrors`
(for docker.io only), `max-concurrent-downloads` (3), `max-concurrent-uploads` (5),
`max-download-attempts` (5). CA certificates per registry come from `<root>/certs.d/<host:port>/`
and `/etc/docker/certs.d/<host:port>/` (`*.crt`; a `client.cert`/`client.key` pair too).
"""

from __future__ import annotations

import ipaddress
import json
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SYSTEM_CERTS = Path("/etc/docker/certs.d")
CONFIG_FILE = "daemon.json"


class ConfigError(ValueError):
    pass


@dataclass(frozen=True)
class RegistryConfig:
    insecure: tuple[str, ...] = ()
    mirrors: tuple[str, ...] = ()
    max_downloads: int = 3
    max_uploads: int = 5
    max_attempts: int = 5
    cert_dirs: tuple[Path, ...] = (SYSTEM_CERTS,)
    implicit_insecure: tuple[str, ...] = ("127.0.0.0/8", "::1/128")  # as dockerd: the loopback
    retry_delay: float = 5.0  # seconds times the attempt number before the 2nd and later retries

    def is_insecure(self, host: str) -> bool:
        """Plain HTTP (or unverified TLS) allowed for `host`: listed, or on the loopback."""
        name = _hostname(host)
        if host in self.insecure or name in self.insecure:
            return True
        addresses = _addresses(name)
        for entry in (*self.insecure, *self.implicit_insecure):
            try:
                network = ipaddress.ip_network(entry, strict=False)
            except ValueError:
                continue
            if any(a in network for a in addresses):
                return True
        return False

    def ca_files(self, host: str) -> list[Path]:
        found: list[Path] = []
        for base in self.cert_dirs:
            folder = base / host
            if folder.is_dir():
                found.extend(sorted(folder.glob("*.crt")))
        return found

    def client_cert(self, host: str) -> tuple[str, str] | None:
        for base in self.cert_dirs:
            cert, key = base / host / "client.cert", base / host / "client.key"
            if cert.is_file() and key.is_file():
                return str(cert), str(key)
        return None


def _hostname(host: str) -> str:
    if host.startswith("["):
        return host[1:].partition("]")[0]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def _addresses(name: str) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        return [ipaddress.ip_address(name)]
    except ValueError:
        pass
    if name == "localhost":
        return [ipaddress.ip_address("127.0.0.1")]
    try:
        infos = socket.getaddrinfo(name, None, proto=socket.IPPROTO_TCP)
    except OSError:
        return []
    return [ipaddress.ip_address(info[4][0]) for info in infos]


def _int(raw: dict[str, Any], key: str, default: int) -> int:
    value = raw.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ConfigError(f"{CONFIG_FILE}: {key} must be a positive integer, not {value!r}")
    return value


def _strings(raw: dict[str, Any], key: str) -> tuple[str, ...]:
    value = raw.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{CONFIG_FILE}: {key} must be a list of strings")
    return tuple(value)


def load_config(root: Path) -> RegistryConfig:
    """The registry settings under the engine's root (defaults when there is no daemon.json)."""
    path = root / CONFIG_FILE
    try:
        raw = json.loads(path.read_text())
    except FileNotFoundError:
        raw = {}
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: {exc}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: must be a JSON object")
    mirrors = tuple(m.rstrip("/") for m in _strings(raw, "registry-mirrors"))
    return RegistryConfig(
        insecure=_strings(raw, "insecure-registries"),
        mirrors=mirrors,
        max_downloads=_int(raw, "max-concurrent-downloads", 3),
        max_uploads=_int(raw, "max-concurrent-uploads", 5),
        max_attempts=_int(raw, "max-download-attempts", 5),
        cert_dirs=(root / "certs.d", SYSTEM_CERTS),
    )
