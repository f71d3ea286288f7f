"""The container's /etc/hostname, /etc/hosts and /etc/resolv.conf, as Docker writes them.

Pure text builders; the create step writes them into the bundle and
bind-mounts them. Networking will add the container's addresses and
aliases to `hosts` and the embedded DNS server to `resolv_conf`.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

LOCAL_HOSTS = (
    "127.0.0.1\tlocalhost\n"
    "::1\tlocalhost ip6-localhost ip6-loopback\n"
    "fe00::0\tip6-localnet\n"
    "ff00::0\tip6-mcastprefix\n"
    "ff02::1\tip6-allnodes\n"
    "ff02::2\tip6-allrouters\n"
)
# Docker's fallback when the host's resolv.conf names only local resolvers,
# which a container in its own network namespace cannot reach.
FALLBACK_NAMESERVERS = ("8.8.8.8", "8.8.4.4")


def hostname_file(hostname: str) -> str:
    return hostname + "\n"


def extra_host_lines(extra_hosts: Sequence[str]) -> str:
    """`host:ip` (or `host=ip`) entries as hosts lines; `host-gateway` is left to networking."""
    lines = []
    for entry in extra_hosts:
        sep = "=" if "=" in entry else ":"
        name, _, address = entry.partition(sep)
        if address.startswith("[") and address.endswith("]"):
            address = address[1:-1]
        lines.append(f"{address}\t{name}\n")
    return "".join(lines)


def hosts_file(
    hostname: str,
    domainname: str,
    extra_hosts: Sequence[str],
    addresses: Sequence[str] = (),
    host_hosts: str | None = None,
) -> str:
    """Docker's hosts file: localhost lines (or the host's file for network host), extra hosts, own addresses."""
    text = host_hosts if host_hosts is not None else LOCAL_HOSTS
    if text and not text.endswith("\n"):
        text += "\n"
    text += extra_host_lines(extra_hosts)
    names = f"{hostname}.{domainname}\t{hostname}" if domainname else hostname
    for address in addresses:
        text += f"{address}\t{names}\n"
    return text


def _local(address: str) -> bool:
    try:
        return ipaddress.ip_address(address.split("%")[0]).is_loopback
    except ValueError:
        return False


def resolv_conf(
    host_text: str,
    dns: Sequence[str] = (),
    search: Sequence[str] = (),
    options: Sequence[str] = (),
    keep_local: bool = False,
) -> str:
    """The host's resolv.conf with Docker's changes: Dns/DnsSearch/DnsOptions replace the host's
    values; local nameservers are dropped (unless `keep_local`, network host), with a fallback."""
    servers: list[str] = []
    host_search: list[str] = []
    host_options: list[str] = []
    other: list[str] = []
    for raw in host_text.splitlines():
        line = raw.strip()
        words = line.split()
        if not words or line.startswith(("#", ";")):
            continue
        if words[0] == "nameserver" and len(words) > 1:
            servers.append(words[1])
        elif words[0] in ("search", "domain"):
            host_search = words[1:]
        elif words[0] == "options":
            host_options += words[1:]
        else:
            other.append(line)
    if dns:
        servers = list(dns)
    elif not keep_local:
        servers = [s for s in servers if not _local(s)] or list(FALLBACK_NAMESERVERS)
    chosen_search = [s for s in search if s != "."] if search else host_search
    chosen_options = list(options) if options else host_options
    out = [f"nameserver {s}" for s in servers]
    if chosen_search:
        out.append("search " + " ".join(chosen_search))
    if chosen_options:
        out.append("options " + " ".join(chosen_options))
    out += other
    return "\n".join(out) + "\n"
