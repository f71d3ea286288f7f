"""A container's place on the networks: decided at create and connect, shaped as Docker shows it.

Pure functions. A container's endpoints live in its record's
`NetworkSettings.Networks` (network name -> Docker's EndpointSettings),
primary network first; addresses and endpoint ids are filled in at start
and cleared at exit, the rest (aliases, static address, MAC address, links)
stays. The MAC address is chosen once, when the endpoint is configured, so
it is stable for the endpoint's life.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv6Address
from typing import Any

from runtime.network.errors import NetworkInvalid
from runtime.network.ports import ANY, PortSpec, Published, from_port_bindings
from runtime.network.store import NetworkRecord

BRIDGE_MODES = ("bridge", "default", "")
IFNAME_OPT = "com.docker.network.endpoint.ifname"
_MAC = re.compile(r"^([0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}$")


class ModeConflict(NetworkInvalid):
    """A network mode that excludes another option (Docker's "conflicting options: …")."""


@dataclass(frozen=True)
class Peer:
    """The container a `container:<ref>` network mode joins."""

    id: str
    hostname: str
    domainname: str


@dataclass(frozen=True)
class CreatePlan:
    """What the networks mean for a new container; create.py turns it into files and a record."""

    kind: str  # "bridge" (any bridge network), "none", "host" or "container"
    settings: dict[str, Any]  # NetworkSettings
    dns_address: str | None = None  # the embedded DNS server (the gateway of a user-defined network)
    host_gateway: str | None = None  # what `host-gateway` in extra_hosts stands for
    peer: Peer | None = None
    networks: tuple[str, ...] = field(default=())  # network ids, primary first


def mode_kind(mode: str) -> str:
    if mode in BRIDGE_MODES:
        return "bridge"
    if mode in ("host", "none"):
        return mode
    if mode.startswith("container:"):
        return "container"
    return "bridge"


def random_mac() -> str:
    """A locally administered unicast address in Docker's 02:42 range."""
    return "02:42:" + ":".join(f"{b:02x}" for b in secrets.token_bytes(4))


def check_mac(mac: str) -> str:
    if not _MAC.match(mac):
        raise NetworkInvalid(f"invalid MAC address: {mac}")
    first = int(mac[:2], 16)
    if first & 1:
        raise NetworkInvalid(f"invalid MAC address {mac}: a multicast address cannot be an interface's")
    return mac.lower().replace("-", ":")


def empty_endpoint() -> dict[str, Any]:
    return {
        "IPAMConfig": None, "Links": None, "Aliases": None, "MacAddress": "", "DriverOpts": None,
        "NetworkID": "", "EndpointID": "", "Gateway": "", "IPAddress": "", "IPPrefixLen": 0,
        "IPv6Gateway": "", "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0, "DNSNames": None,
    }  # fmt: skip


def empty_settings(networks: Mapping[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "Bridge": "", "SandboxID": "", "SandboxKey": "", "Ports": {}, "HairpinMode": False,
        "LinkLocalIPv6Address": "", "LinkLocalIPv6PrefixLen": 0, "SecondaryIPAddresses": None,
        "SecondaryIPv6Addresses": None, "EndpointID": "", "Gateway": "", "GlobalIPv6Address": "",
        "GlobalIPv6PrefixLen": 0, "IPAddress": "", "IPPrefixLen": 0, "IPv6Gateway": "", "MacAddress": "",
        "Networks": dict(networks or {}),
    }  # fmt: skip


def endpoint_settings(network: NetworkRecord, config: Mapping[str, Any] | None, *, name: str, container_id: str,
                      mac: str = "") -> dict[str, Any]:
    """EndpointSettings for joining `network` with the request's EndpointConfig (create or connect)."""
    config = config or {}
    aliases = [str(a) for a in config.get("Aliases") or () if a]
    links = [str(a) for a in config.get("Links") or () if a]
    ipam = dict(config.get("IPAMConfig") or {})
    if network.default and aliases:
        raise NetworkInvalid("network-scoped alias is supported only for containers in user defined networks")
    if network.default and links:
        links = []  # legacy links on the default bridge come from HostConfig.Links
    wanted = str(ipam.get("IPv4Address") or "")
    wanted6 = str(ipam.get("IPv6Address") or "")
    link_local = [str(a) for a in ipam.get("LinkLocalIPs") or () if a]
    if wanted6:
        check_ipv6(network, wanted6)
    if link_local:
        from runtime.network.dual import link_local as check_link_local

        check_link_local(link_local)
    if wanted:
        pool = network.get_pool()
        if not pool.user_configured:
            raise NetworkInvalid("user specified IP address is supported only when connecting to networks "
                                 "with user configured subnets")
        try:
            address = IPv4Address(wanted)
        except ValueError:
            raise NetworkInvalid(f"invalid IPv4 address: {wanted}") from None
        if address not in pool.subnet:
            raise NetworkInvalid(f"no configured subnet or ip-range contain the IP address {wanted}")
    mac = check_mac(str(config.get("MacAddress") or "") or mac or random_mac())
    out = empty_endpoint()
    out.update({
        "IPAMConfig": _ipam_config(wanted, wanted6, link_local),
        "Links": links or None,
        "Aliases": aliases or None,
        "MacAddress": mac,
        "DriverOpts": dict(config.get("DriverOpts") or {}) or None,
        "NetworkID": network.id,
        "DNSNames": dns_names(name, container_id, aliases) if network.user_defined else None,
    })
    return out


def _ipam_config(v4: str, v6: str, link_local: list[str]) -> dict[str, Any] | None:
    out: dict[str, Any] = {}
    if v4:
        out["IPv4Address"] = v4
    if v6:
        out["IPv6Address"] = v6
    if link_local:
        out["LinkLocalIPs"] = link_local
    return out or None


def check_ipv6(network: NetworkRecord, wanted: str) -> None:
    """A static IPv6 address: the network must be dual-stack with a subnet of the user's, holding it."""
    pool = network.get_pool6()
    if pool is None:
        raise NetworkInvalid(f"invalid IPv6 address {wanted}: network {network.name} has no IPv6 subnet "
                             "(create it with --ipv6)")
    if not pool.user_configured:
        raise NetworkInvalid("user specified IP address is supported only when connecting to networks "
                             "with user configured subnets")
    try:
        address = IPv6Address(wanted)
    except ValueError:
        raise NetworkInvalid(f"invalid IPv6 address: {wanted}") from None
    if address not in pool.subnet:
        raise NetworkInvalid(f"no configured subnet or ip-range contain the IP address {wanted}")


def dns_names(name: str, container_id: str, aliases: Iterable[str]) -> list[str]:
    """Names the embedded DNS answers for a container on a network: its name, aliases, short id."""
    return list(dict.fromkeys([name, *aliases, container_id[:12]]))


def plan_create(body: Mapping[str, Any], *, name: str, container_id: str,
                find_network: Callable[[str], NetworkRecord], default: NetworkRecord | None,
                find_peer: Callable[[str], Peer]) -> CreatePlan:
    """The networks of a create request (Config + HostConfig + NetworkingConfig)."""
    hc = body.get("HostConfig") or {}
    mode = str(hc.get("NetworkMode") or "")
    if body.get("NetworkDisabled"):
        mode = "none"
    endpoints = {("bridge" if k in BRIDGE_MODES else k): v
                 for k, v in ((body.get("NetworkingConfig") or {}).get("EndpointsConfig") or {}).items()}
    kind = mode_kind(mode)
    gateway = str(default.gateway) if default is not None and default.gateway else None
    if kind in ("host", "none"):
        others = [k for k in endpoints if k != mode and k != "bridge"]
        if others:
            raise ModeConflict("conflicting options: cannot attach both user-defined and non-user-defined "
                               "network-modes")
        network = find_network(mode)
        return CreatePlan(kind, empty_settings({mode: {**empty_endpoint(), "NetworkID": network.id}}),
                          host_gateway=gateway)
    if kind == "container":
        _check_container_mode(body, hc, endpoints)
        peer = find_peer(mode.split(":", 1)[1])
        return CreatePlan(kind, empty_settings(), peer=peer)
    primary = find_network("bridge" if mode in BRIDGE_MODES else mode)
    ordered = [primary, *(find_network(key) for key in endpoints)]
    networks: dict[str, dict[str, Any]] = {}
    ids: list[str] = []
    top_mac = str(body.get("MacAddress") or "")
    for network in ordered:
        if network.id in ids:
            continue
        if network.driver != "bridge":
            raise ModeConflict("conflicting options: cannot attach both user-defined and non-user-defined "
                               "network-modes")
        config = endpoints.get(network.name) or endpoints.get(network.id) or _by_prefix(endpoints, network)
        mac = top_mac if network is primary else ""
        networks[network.name] = endpoint_settings(network, config, name=name, container_id=container_id, mac=mac)
        ids.append(network.id)
    user = next((n for n in ordered if n.user_defined), None)
    dns = str(user.gateway) if user is not None and user.gateway else None
    return CreatePlan("bridge", empty_settings(networks), dns_address=dns, host_gateway=gateway, networks=tuple(ids))


def _by_prefix(endpoints: Mapping[str, Any], network: NetworkRecord) -> Any:
    return next((v for k, v in endpoints.items() if k and network.id.startswith(k)), None)


def _check_container_mode(body: Mapping[str, Any], hc: Mapping[str, Any], endpoints: Mapping[str, Any]) -> None:
    if endpoints:
        raise ModeConflict("conflicting options: container type network can't be used with other networks")
    checks = (
        (body.get("Hostname"), "conflicting options: hostname and the network mode"),
        (body.get("MacAddress"), "conflicting options: mac-address and the network mode"),
        (hc.get("Dns") or hc.get("DnsSearch") or hc.get("DnsOptions"), "conflicting options: dns and the network mode"),
        (hc.get("ExtraHosts"), "conflicting options: custom host-to-IP mapping and the network mode"),
        (hc.get("PortBindings") or hc.get("PublishAllPorts"),
         "conflicting options: port publishing and the container type network mode"),
        (hc.get("Links"), "conflicting options: container type network can't be used with links"),
    )
    for value, message in checks:
        if value:
            raise ModeConflict(message)


def ordered_endpoints(settings: Mapping[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(network name, EndpointSettings) in attachment order: the primary network first."""
    return list((settings.get("Networks") or {}).items())


def interface_names(configs: Sequence[Mapping[str, Any]], taken: Iterable[str] = ()) -> list[str]:
    """eth0, eth1… in order, or the endpoint's own `com.docker.network.endpoint.ifname`."""
    used = set(taken)
    wanted = [str((c.get("DriverOpts") or {}).get(IFNAME_OPT) or "") for c in configs]
    used |= {w for w in wanted if w}
    out, n = [], 0
    for name in wanted:
        if not name:
            while f"eth{n}" in used:
                n += 1
            name = f"eth{n}"
            used.add(name)
        out.append(name)
    return out


# -- published ports -----------------------------------------------------------------------------


def exposed_keys(config: Mapping[str, Any], hc: Mapping[str, Any]) -> list[str]:
    """`80/tcp` keys of every port the container exposes (ExposedPorts and the bound ones)."""
    keys = [_port_key(k) for k in (config.get("ExposedPorts") or {})]
    keys += [_port_key(k) for k in (hc.get("PortBindings") or {})]
    return list(dict.fromkeys(keys))


def _port_key(key: str) -> str:
    port, _, proto = str(key).partition("/")
    return f"{port}/{proto or 'tcp'}"


def port_specs(config: Mapping[str, Any], hc: Mapping[str, Any], host_binding: str = "") -> list[PortSpec]:
    """The ports to publish: PortBindings, plus every other exposed port when PublishAllPorts (-P)."""
    bindings = {_port_key(k): v for k, v in (hc.get("PortBindings") or {}).items()}
    specs = from_port_bindings(bindings)
    if hc.get("PublishAllPorts"):
        bound = set(bindings)
        extra = {k: None for k in exposed_keys(config, hc) if k not in bound}
        specs += from_port_bindings(extra)
    if host_binding:
        specs = [PortSpec(s.container_port, s.protocol, s.host_ip or host_binding, s.host_port, s.host_port_end)
                 for s in specs]
    return specs


def ports_json(exposed: Iterable[str], published: Iterable[Published]) -> dict[str, Any]:
    """NetworkSettings.Ports of a running container: each exposed port -> its host bindings or None."""
    out: dict[str, Any] = {key: None for key in exposed}
    for p in published:
        entries = out.get(p.key) or []
        entries.append({"HostIp": p.host_ip or "0.0.0.0", "HostPort": str(p.host_port)})
        out[p.key] = entries
    return out


def published_from_json(ports: Mapping[str, Any]) -> list[Published]:
    """The published ports recorded in NetworkSettings.Ports (engine restart)."""
    out = []
    for key, entries in ports.items():
        port, _, proto = key.partition("/")
        for entry in entries or ():
            host_ip = str(entry.get("HostIp") or "")
            out.append(Published(proto or "tcp", "" if host_ip in ("", "0.0.0.0") else host_ip,
                                 int(entry["HostPort"]), int(port)))
    return out


def ports_summary(ports: Mapping[str, Any]) -> list[dict[str, Any]]:
    """`GET /containers/json` Ports: published ones with IP and PublicPort, exposed ones without."""
    out: list[dict[str, Any]] = []
    for key, entries in ports.items():
        port, _, proto = key.partition("/")
        if not port.isdigit():
            continue
        if not entries:
            out.append({"PrivatePort": int(port), "Type": proto or "tcp"})
            continue
        for entry in entries:
            out.append({"IP": entry.get("HostIp") or "0.0.0.0", "PrivatePort": int(port),
                        "PublicPort": int(entry.get("HostPort") or 0), "Type": proto or "tcp"})
    return out


def any_ip(host_ip: str) -> bool:
    return host_ip in (ANY, "0.0.0.0")


# -- links -----------------------------------------------------------------------------------------


def parse_links(links: Iterable[str]) -> list[tuple[str, str]]:
    """`name:alias` or Docker's stored `/name:/me/alias` -> (target name, alias)."""
    out = []
    for link in links:
        target, _, alias = str(link).partition(":")
        target = target.lstrip("/")
        alias = alias.rsplit("/", 1)[-1] if alias else target
        if not target:
            raise NetworkInvalid(f"invalid link {link!r}: expected name:alias")
        out.append((target, alias or target))
    return out
