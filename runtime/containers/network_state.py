"""What a running container shows and sees of its networks: NetworkSettings, DNS records, /etc files.

Functions over a container record and what it holds in the kernel (an
`Attachment`): `fill_settings` writes Docker's NetworkSettings,
`register_dns` the embedded DNS server's records (names, aliases, links),
`write_files` /etc/hosts and resolv.conf, in place (they are bind-mounted).
"""

from __future__ import annotations

import contextlib
from ipaddress import IPv4Address
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import anyio.to_thread

from runtime.containers.records import Record
from runtime.network import files
from runtime.network.endpoints import dns_names, exposed_keys, ordered_endpoints, parse_links, ports_json
from runtime.network.manager import Attachment, NetworkManager
from runtime.network.store import NetworkRecord

if TYPE_CHECKING:
    from runtime.containers.table import ContainerTable

ACTIVE = ("running", "paused")


def _mode(record: Record) -> str:
    return str(record.host_config.get("NetworkMode") or "")


def fill_settings(nets: NetworkManager, record: Record, att: Attachment) -> None:
    settings = record.network_settings
    for name, endpoint in (settings.get("Networks") or {}).items():
        network = nets.store.find(str(endpoint.get("NetworkID") or "")) or nets.store.find(name)
        a = att.endpoints.get(network.id) if network is not None else None
        if network is None or a is None:
            continue
        aliases = endpoint.get("Aliases") or ()
        endpoint.update({
            "NetworkID": network.id, "EndpointID": a.endpoint_id, "Gateway": str(network.gateway or ""),
            "IPAddress": str(a.address.ip), "IPPrefixLen": a.address.network.prefixlen, "MacAddress": a.mac,
            "DNSNames": dns_names(record.name, record.id, aliases) if network.user_defined else None,
            "GlobalIPv6Address": str(a.address6.ip) if a.address6 else "",
            "GlobalIPv6PrefixLen": a.address6.network.prefixlen if a.address6 else 0,
            "IPv6Gateway": str(network.gateway6 or "") if a.address6 else "",
        })  # fmt: skip
        if network.default:
            settings.update({"Bridge": network.bridge, "EndpointID": a.endpoint_id, "MacAddress": a.mac,
                             "Gateway": endpoint["Gateway"], "IPAddress": endpoint["IPAddress"],
                             "IPPrefixLen": endpoint["IPPrefixLen"], "IPv6Gateway": endpoint["IPv6Gateway"],
                             "GlobalIPv6Address": endpoint["GlobalIPv6Address"],
                             "GlobalIPv6PrefixLen": endpoint["GlobalIPv6PrefixLen"]})
    settings["Ports"] = ports_json(exposed_keys(record.config, record.host_config), att.published)
    settings["SandboxKey"] = f"/proc/{att.pid}/ns/net"
    settings["SandboxID"] = record.id


def register_dns(table: ContainerTable, nets: NetworkManager, record: Record, att: Attachment) -> None:
    hc = record.host_config
    upstreams = [s for s in hc.get("Dns") or () if _ipv4(str(s))] or None
    user = []
    for name, endpoint in ordered_endpoints(record.network_settings):
        network = nets.store.find(str(endpoint.get("NetworkID") or "")) or nets.store.find(name)
        if network is not None and network.user_defined and network.id in att.endpoints:
            user.append((network, endpoint, att.endpoints[network.id]))
    forward = any(not network.internal for network, _, _ in user)
    for network, endpoint, a in user:
        names = dns_names(record.name, record.id, endpoint.get("Aliases") or ())
        nets.records.add(record.id, network.name, a.address.ip, names, upstreams=upstreams, forward=forward,
                         address6=a.address6.ip if a.address6 else None)
    links: dict[str, str] = {}
    wanted = [*(hc.get("Links") or ()), *(link for _, ep, _ in user for link in ep.get("Links") or ())]
    for target, alias in parse_links(wanted):
        other = table.records.find(target)
        if other is not None:
            links[alias] = other.id
    if links and user:
        nets.records.set_links(record.id, links)


def _ipv4(text: str) -> bool:
    try:
        IPv4Address(text)
    except ValueError:
        return False
    return True


async def write_files(table: ContainerTable, nets: NetworkManager, record: Record, att: Attachment) -> None:
    """/etc/hosts and resolv.conf with the container's addresses and DNS server, written in place (bind-mounted)."""
    hc, config = record.host_config, record.config
    default = nets.store.default()
    extra = list(hc.get("ExtraHosts") or ())
    if default is not None and default.id in att.endpoints:
        extra += _legacy_link_hosts(table, default, hc.get("Links") or ())
    dns_address = None
    for network_id in att.endpoints:
        network = nets.store.find(network_id)
        if network is not None and network.user_defined:
            dns_address = str(network.gateway)
            break
    addresses = [str(a.address.ip) for a in att.endpoints.values()]
    addresses += [str(a.address6.ip) for a in att.endpoints.values() if a.address6 is not None]
    hostname, domainname = str(config.get("Hostname") or ""), str(config.get("Domainname") or "")
    gateway = str(default.gateway) if default is not None and default.gateway else None
    hosts = files.hosts_file(hostname, addresses, domainname=domainname, extra_hosts=extra, host_gateway=gateway)

    def write() -> None:
        resolv = files.resolv_conf(files.read_host_resolv_conf(), dns_address=dns_address, dns=hc.get("Dns") or (),
                                   dns_search=hc.get("DnsSearch") or (), dns_options=hc.get("DnsOptions") or ())
        _write_in_place(record.hosts_path, hosts)
        _write_in_place(record.resolv_conf_path, resolv)

    await anyio.to_thread.run_sync(write)


def _legacy_link_hosts(table: ContainerTable, default: NetworkRecord, links: Any) -> list[str]:
    """Docker's links on the default bridge: `alias` and the target's name in /etc/hosts."""
    out = []
    for target, alias in parse_links(links):
        other = table.records.find(target)
        if other is None or other.state.status not in ACTIVE:
            continue
        endpoint = next((ep for ep in (other.network_settings.get("Networks") or {}).values()
                         if ep.get("NetworkID") == default.id and ep.get("IPAddress")), None)
        if endpoint is not None:
            out += [f"{name}:{endpoint['IPAddress']}" for name in dict.fromkeys([alias, other.name])]
    return out


def _write_in_place(path: str, text: str) -> None:
    # Same inode: the file is bind-mounted into the running container.
    if path:
        with open(path, "w") as out:
            out.write(text)


def copy_peer_files(table: ContainerTable, record: Record) -> None:
    """`container:<ref>` sees its peer's /etc/hosts and resolv.conf (Docker shares the files)."""
    peer = table.records.find(_mode(record).split(":", 1)[1])
    if peer is None:
        return
    for source, target in ((peer.hosts_path, record.hosts_path), (peer.resolv_conf_path, record.resolv_conf_path)):
        with contextlib.suppress(OSError):
            _write_in_place(target, Path(source).read_text())
