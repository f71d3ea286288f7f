"""Short port syntax `[ip:][host[-range]:]container[-range][/proto]` to compose's long form.

Follows docker/go-connections `nat.ParsePortSpec` as compose-go uses it: a
container range becomes one entry per port (host range alongside), a host
range against a single container port stays a range in `published`, and the
entries come out sorted by `<port>/<proto>` as strings, as compose sorts them.
The one port parser: `docker run -p`/`--expose` (cli/container_create.py)
and the compose `expose:` key use it too. Light on purpose (the CLI's fast
path imports it): `ipaddress` loads only when a spec names an address.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

_PROTOCOLS = ("tcp", "udp", "sctp")


def port_range(text: str) -> tuple[int, int]:
    """`80` or `8000-8010` -> (first, last); ValueError if malformed."""
    if not text:
        raise ValueError("empty string specified for ports")
    start_text, sep, end_text = text.partition("-")
    start = _port_number(start_text)
    end = _port_number(end_text) if sep else start
    if end < start:
        raise ValueError(f"invalid range specified for port: {text}")
    return start, end


def _port_number(text: str) -> int:
    if not text.isdigit() or not text.isascii():
        raise ValueError(f"invalid port number {text!r}")
    number = int(text)
    if number > 65535:
        raise ValueError("value out of range (0-65535)")
    return number


def _split(spec: str) -> tuple[str, str, str]:
    parts = spec.split(":")
    if len(parts) == 1:
        return "", "", parts[0]
    if len(parts) == 2:
        return "", parts[0], parts[1]
    return ":".join(parts[:-2]), parts[-2], parts[-1]


def _host_ip(ip: str) -> str:
    if ip.startswith("["):
        if not ip.endswith("]"):
            raise ValueError(f"invalid IP address {ip}")
        ip = ip[1:-1]
    if ip:
        import ipaddress

        try:
            ipaddress.ip_address(ip)
        except ValueError:
            raise ValueError(f"invalid IP address: {ip}") from None
    return ip


def parse_port(spec: str) -> list[dict[str, Any]]:
    """Long-form port entries for one short spec; ValueError with compose's wording if malformed."""
    ip, host, container = _split(spec)
    container, _, proto = container.partition("/")
    if not container:
        raise ValueError(f"no port specified: {spec}<empty>")
    proto = (proto or "tcp").lower()
    if proto not in _PROTOCOLS:
        raise ValueError(f"invalid proto: {proto}")
    ip = _host_ip(ip)
    try:
        start, end = port_range(container)
    except ValueError:
        raise ValueError(f"invalid containerPort: {container}") from None
    host_start = host_end = 0
    if host:
        try:
            host_start, host_end = port_range(host)
        except ValueError:
            raise ValueError(f"invalid hostPort: {host}") from None
        if end - start != host_end - host_start and end != start:
            raise ValueError(f"invalid ranges specified for container and host Ports: {container} and {host}")
    count = end - start + 1
    entries: list[tuple[str, dict[str, Any]]] = []
    for i in range(count):
        entry: dict[str, Any] = {"mode": "ingress"}
        if ip:
            entry["host_ip"] = ip
        entry["target"] = start + i
        if host:
            published = str(host_start + i)
            if count == 1 and host_start != host_end:
                published += f"-{host_end}"
            entry["published"] = published
        entry["protocol"] = proto
        entries.append((f"{start + i}/{proto}", entry))
    entries.sort(key=lambda item: item[0])
    return [entry for _, entry in entries]


def expose_keys(entries: Iterable[Any]) -> list[str]:
    """`expose:` entries or `--expose` values (`80`, `7000-7002/udp`) -> ExposedPorts keys."""
    keys = []
    for entry in entries:
        ports, _, proto = str(entry).partition("/")
        first, last = port_range(ports)
        keys += [f"{n}/{proto or 'tcp'}" for n in range(first, last + 1)]
    return keys
