"""The content of a container's /etc/hosts, /etc/resolv.conf and /etc/hostname.

Pure functions over what the engine knows, except `read_host_resolv_conf`.
Docker's rules: /etc/hosts has the localhost lines, then `extra_hosts`
(`host-gateway` standing for the host's address on the container's network),
then the container's own addresses with its hostname. A container on a
user-defined network asks the embedded DNS (here: our server on the bridge
gateway, where Docker uses 127.0.0.11) with `ndots:0`, and its `dns` entries
become that server's upstreams; on the default bridge it asks the host's
nameservers directly, those it can reach (not loopback), else Google's.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from ipaddress import ip_address
from pathlib import Path

from runtime.network.errors import NetworkInvalid

HOST_GATEWAY = "host-gateway"
HOST_RESOLV_CONF = Path("/etc/resolv.conf")
# systemd-resolved's list of the real upstreams, when /etc/resolv.conf only names its stub.
SYSTEMD_RESOLV_CONF = Path("/run/systemd/resolve/resolv.conf")
FALLBACK_NAMESERVERS = ("8.8.8.8", "8.8.4.4")

_LOCALHOST_LINES = (
    "127.0.0.1\tlocalhost",
    "::1\tlocalhost ip6-localhost ip6-loopback",
    "fe00::0\tip6-localnet",
    "ff00::0\tip6-mcastprefix",
    "ff02::1\tip6-allnodes",
    "ff02::2\tip6-allrouters",
)


@dataclass(frozen=True)
class ResolvConf:
    nameservers: tuple[str, ...] = ()
    search: tuple[str, ...] = ()
    options: tuple[str, ...] = ()
    other: tuple[str, ...] = field(default=(), compare=False)  # lines kept as they are (sortlist…)


def hostname_file(hostname: str) -> str:
    return hostname + "\n"


def hosts_file(hostname: str, addresses: Iterable[str], *, domainname: str = "",
               extra_hosts: Iterable[str] = (), host_gateway: str | None = None) -> str:
    """/etc/hosts: localhost lines, extra hosts, then each of the container's addresses with its names."""
    lines = list(_LOCALHOST_LINES)
    for entry in extra_hosts:
        name, address = parse_extra_host(entry, host_gateway)
        lines.append(f"{address}\t{name}")
    names = f"{hostname}.{domainname} {hostname}" if domainname else hostname
    lines.extend(f"{address}\t{names}" for address in addresses)
    return "\n".join(lines) + "\n"


def parse_extra_host(entry: str, host_gateway: str | None = None) -> tuple[str, str]:
    """`name:ip` (the API's form) or `name=ip` (compose's) -> (name, ip); `host-gateway` -> the gateway."""
    sep = "=" if "=" in entry else ":"
    name, found, address = entry.partition(sep)
    address = address.strip().strip("[]")
    if not found or not name or not address:
        raise NetworkInvalid(f"invalid extra host {entry!r}: expected name:ip")
    if address == HOST_GATEWAY:
        if not host_gateway:
            raise NetworkInvalid(f"invalid extra host {entry!r}: no host gateway address on this network")
        address = host_gateway
    try:
        ip_address(address)
    except ValueError:
        raise NetworkInvalid(f"invalid extra host {entry!r}: {address!r} is not an IP address") from None
    return name.strip(), address


def parse_resolv_conf(text: str) -> ResolvConf:
    nameservers: list[str] = []
    search: list[str] = []
    options: list[str] = []
    other: list[str] = []
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].split(";", 1)[0].strip()
        if not line:
            continue
        key, *values = line.split()
        if key == "nameserver" and values:
            nameservers.append(values[0])
        elif key in ("search", "domain"):
            search = values  # the last one wins, as in the resolver
        elif key == "options":
            options.extend(values)
        else:
            other.append(line)
    return ResolvConf(tuple(nameservers), tuple(search), tuple(options), tuple(other))


def resolv_conf(host: ResolvConf, *, dns_address: str | None, dns: Sequence[str] = (),
                dns_search: Sequence[str] = (), dns_options: Sequence[str] = ()) -> str:
    """A container's /etc/resolv.conf.

    `dns_address`: the embedded DNS server the container asks (user-defined
    networks); None on the default bridge, where the container asks `dns`
    or the host's reachable nameservers itself.
    """
    search = tuple(dns_search) if dns_search else host.search
    if search == (".",):
        search = ()
    options = tuple(dns_options) if dns_options else host.options
    if dns_address:
        nameservers: tuple[str, ...] = (dns_address,)
        if not any(o.startswith("ndots:") for o in options):
            options = ("ndots:0", *options)
    else:
        nameservers = tuple(dns) or tuple(_reachable(host.nameservers)) or FALLBACK_NAMESERVERS
    lines = [f"nameserver {ns}" for ns in nameservers]
    if search:
        lines.append("search " + " ".join(search))
    if options:
        lines.append("options " + " ".join(options))
    lines.extend(host.other)
    return "\n".join(lines) + "\n"


def dns_upstreams(host: ResolvConf, dns: Sequence[str] = ()) -> list[str]:
    """Where the embedded DNS forwards a container's other names: its `dns`, else the host's nameservers.

    Loopback servers are fine here: the DNS server runs in the host's netns.
    """
    return [ns for ns in (dns or host.nameservers) if _is_ipv4(ns)]


def read_host_resolv_conf(path: Path = HOST_RESOLV_CONF) -> ResolvConf:
    """The host's resolver config; systemd-resolved's upstream list when /etc/resolv.conf only has its stub."""
    try:
        conf = parse_resolv_conf(path.read_text())
    except OSError:
        return ResolvConf()
    if conf.nameservers and not list(_reachable(conf.nameservers)) and path == HOST_RESOLV_CONF:
        try:
            real = parse_resolv_conf(SYSTEMD_RESOLV_CONF.read_text())
        except OSError:
            return conf
        if real.nameservers:
            return ResolvConf(real.nameservers, conf.search or real.search, conf.options, conf.other)
    return conf


def _reachable(nameservers: Iterable[str]) -> Iterable[str]:
    """Servers a container on the default bridge can reach: IPv4, not loopback (no IPv6 in containers yet)."""
    for ns in nameservers:
        if _is_ipv4(ns) and not ip_address(ns).is_loopback:
            yield ns


def _is_ipv4(text: str) -> bool:
    try:
        return ip_address(text).version == 4
    except ValueError:
        return False
