"""The engine's networks: records, bridges, nftables rules, host ports and the embedded DNS server.

Runs on the engine's event loop; every netlink and nftables call goes to a
worker thread (pyroute2's sync API must not run on the loop). The manager
owns networks as objects (create, remove, boot) and offers containers the
kernel side of their endpoints (addresses, veths, published ports, DNS
records); runtime/containers/networking.py decides when, from container
records. State: the network records (store.py, persisted), and in memory
what each running container holds (`attached`), rebuilt at boot from the
container records (the kernel objects survive an engine crash).

Choosing a subnet and creating its bridge happen under a host-wide lock,
so engines started side by side never take the same predefined subnet.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Interface, IPv4Network, IPv6Address, IPv6Interface
from pathlib import Path
from typing import Any

import anyio
import anyio.abc
import anyio.to_thread

from runtime.network import dual, nat, nat6, publishing
from runtime.network.bridge import EndpointConfig, Links, bridge_name, enable_ip_forward, read_host_routes, veth_name
from runtime.network.dns import DnsServer, Records
from runtime.network.docker_json import BRIDGE_NAME_OPT, parse_create
from runtime.network.errors import NetworkConflict, NetworkError, NetworkInvalid
from runtime.network.files import dns_upstreams, read_host_resolv_conf
from runtime.network.hostlock import HOST_LOCK, host_lock
from runtime.network.ipam import DEFAULT_BRIDGE_SUBNET, plan_pool
from runtime.network.ports import PortReservations, PortSpec, Published
from runtime.network.proxy6 import LoopbackProxies
from runtime.network.store import NetworkRecord, NetworkStore, new_network_id, now_rfc3339

log = logging.getLogger("pycompose.network")

UNPLUG_WAIT = 5.0  # seconds a removed veth may take to disappear (netns teardown runs in the background)


@dataclass(frozen=True)
class Attached:
    """One endpoint of a running container, as plugged in."""

    network_id: str
    endpoint_id: str
    host_ifname: str
    ifname: str
    mac: str
    address: IPv4Interface
    default_route: bool
    address6: IPv6Interface | None = None  # on a dual-stack network
    link_local: tuple[str, ...] = ()


@dataclass
class Attachment:
    """What a running container holds: endpoints (network id -> Attached) and published ports."""

    pid: int
    endpoints: dict[str, Attached] = field(default_factory=dict)
    published: list[Published] = field(default_factory=list)
    container_ip: IPv4Address | None = None  # where published ports lead
    container_ip6: IPv6Address | None = None  # where ports published on IPv6 addresses lead


def rules_of(network: NetworkRecord) -> nat.NetworkRules:
    assert network.pool is not None
    opts = network.bridge_options()
    dns = network.gateway if network.user_defined else None
    return nat.NetworkRules(network.bridge, IPv4Network(network.pool["subnet"]), network.internal, dns,
                            opts.masquerade, opts.icc)


def remove_kernel_objects(prefix: str) -> None:
    """Every link and the nftables table of an engine (clean stop with no container alive, tests)."""
    with Links() as links:
        links.remove_stale(prefix, keep=())
    nat.cleanup(prefix)
    nat6.cleanup6(prefix)


class NetworkManager:
    def __init__(self, root: Path, prefix: str, *, links: Any = None, table: Any = None, dns_port: int = 53,
                 routes: Callable[[str], list[IPv4Network]] = read_host_routes, lock_path: Path = HOST_LOCK) -> None:
        self.root = root
        self.prefix = prefix
        self.store = NetworkStore(root / "networks")
        self.links: Any = links if links is not None else Links()
        self._table = table
        self.dns_port = dns_port
        self.routes = routes
        self.lock_path = lock_path
        self.ports = PortReservations()
        self.records = Records()
        self.attached: dict[str, Attachment] = {}
        self.unplugging: dict[str, list[str]] = {}  # container -> veths being removed after its exit
        # Set once running containers got their endpoints back after an engine start (networking.restore).
        self.restored = anyio.Event()
        self.dns: DnsServer | None = None
        self.proxies: LoopbackProxies | None = None
        self._lock = anyio.Lock()

    @property
    def nat(self) -> Any:
        if self._table is None:
            self._table = nat.NatTable(self.prefix)
        return self._table

    @property
    def nat6(self) -> nat6.NatTable6:
        return nat6.NatTable6(self.prefix, self.nat.nft)

    # -- running ---------------------------------------------------------------------------------

    async def run(self, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Boot (records, bridges, rules, DNS listeners), then serve DNS until cancelled."""
        upstreams = dns_upstreams(await anyio.to_thread.run_sync(read_host_resolv_conf))
        try:
            await self.boot()
            async with DnsServer(self.records, upstreams, port=self.dns_port) as server, \
                    anyio.create_task_group() as group:
                self.dns, self.proxies = server, LoopbackProxies(group)
                for network in self.store:
                    await self._listen(network)
                task_status.started()
                await anyio.sleep_forever()
        finally:
            if self.proxies is not None:
                self.proxies.close()
            self.dns = self.proxies = None
            self.ports.close()
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(self._close)

    def _close(self) -> None:
        self.links.close()
        if self._table is not None and hasattr(self._table, "nft"):
            self._table.nft.close()

    async def boot(self) -> None:
        """Records, then the kernel: forwarding on, a fresh nftables table, every bridge and its rules."""
        for problem in await anyio.to_thread.run_sync(self.store.load):
            log.warning("network record skipped: %s", problem)
        await anyio.to_thread.run_sync(self._boot_kernel)

    def _boot_kernel(self) -> None:
        enable_ip_forward()
        self.nat.reset()
        dual.reset6(self.nat6)
        self._ensure_predefined()
        for network in self.store:
            if network.driver == "bridge":
                self.links.ensure_bridge(network.bridge, network.get_pool().gateway_interface,
                                         network.bridge_options().mtu)
                self.nat.add_network(rules_of(network))
                dual.make6(self.nat6, network)

    def _ensure_predefined(self) -> None:
        for name, driver in (("host", "host"), ("none", "null")):
            if self.store.find_name(name) is None:
                self.store.add(NetworkRecord(new_network_id(self.store.ids()), name, driver, now_rfc3339()))
        default = self.store.default()
        if default is not None and not self._pool_is_free(default):
            # Our default subnet is somebody else's now (another engine, docker0): move while nobody uses it.
            log.warning("default bridge subnet %s is in use on the host: choosing another", default.pool)
            self.links.remove_link(default.bridge)
            self.store.remove(default)
            default = None
        if default is None:
            network = NetworkRecord(new_network_id(self.store.ids()), "bridge", "bridge", now_rfc3339(),
                                    bridge=bridge_name(self.prefix, 0), default=True)
            with host_lock(self.lock_path):
                pool = plan_pool(None, self._taken(), self.routes(self.prefix))
                network.set_pool(pool)
                self.links.ensure_bridge(network.bridge, pool.gateway_interface)
            self.store.add(network)
            if pool.subnet != DEFAULT_BRIDGE_SUBNET:
                log.info("default bridge uses %s (%s is in use on the host)", pool.subnet, DEFAULT_BRIDGE_SUBNET)

    def _pool_is_free(self, network: NetworkRecord) -> bool:
        pool = network.get_pool()
        if any(not owner.startswith("aux:") for owner in pool.allocated.values()):
            return True  # running containers use it (engine restart): keep it
        return not any(pool.subnet.overlaps(route) for route in self.routes(self.prefix))

    def _taken(self) -> list[IPv4Network]:
        return [IPv4Network(n.pool["subnet"]) for n in self.store if n.pool]

    async def _listen(self, network: NetworkRecord) -> None:
        if self.dns is None or not network.user_defined or network.gateway is None:
            return
        try:
            await self.dns.add_listener(str(network.gateway))
        except OSError as exc:
            log.warning("no DNS server on network %s (%s:%d): %s", network.name, network.gateway, self.dns_port,
                        exc.strerror or exc)

    # -- networks --------------------------------------------------------------------------------

    async def create(self, body: Mapping[str, Any]) -> NetworkRecord:
        """`POST /networks/create`: the bridge, its rules and its DNS listener, then the record."""
        async with self._lock:
            request = parse_create(body, {n.name for n in self.store})
            options = dict(request.options)
            bridge = self._bridge_name(options.get(BRIDGE_NAME_OPT, ""))
            if options.get(BRIDGE_NAME_OPT):
                options[BRIDGE_NAME_OPT] = bridge
            network = NetworkRecord(new_network_id(self.store.ids()), request.name, "bridge", now_rfc3339(),
                                    internal=request.internal, attachable=request.attachable,
                                    labels=request.labels, options=options, ipam_options=request.ipam_options,
                                    bridge=bridge, enable_ipv6=request.enable_ipv6)
            mtu = network.bridge_options().mtu

            def make() -> None:
                with host_lock(self.lock_path):
                    pool = plan_pool(request.ipam, self._taken(), self.routes(self.prefix))
                    network.set_pool(pool)
                    if request.enable_ipv6:
                        network.set_pool6(dual.new_pool6(request.ipam6, self.store, self.prefix))
                    self.links.ensure_bridge(bridge, pool.gateway_interface, mtu)
                try:
                    self.nat.add_network(rules_of(network))
                    try:
                        dual.make6(self.nat6, network)
                    except BaseException:
                        self.nat.remove_network(rules_of(network))
                        raise
                except BaseException:
                    self.links.remove_link(bridge)
                    raise

            await anyio.to_thread.run_sync(make)
            self.store.add(network)
            await self._listen(network)
            return network

    def _bridge_name(self, wanted: str) -> str:
        used = {n.bridge for n in self.store if n.bridge}
        if wanted:
            name = wanted if wanted.startswith(self.prefix) else self.prefix + wanted
            if len(name) > 15:
                raise NetworkInvalid(f"bridge name {wanted!r} is too long: with this engine's prefix {self.prefix!r} "
                                     f"it may have at most {15 - len(self.prefix)} characters")
            if name in used:
                raise NetworkConflict(f"bridge name {name} is already in use by another network")
            return name
        index = 1
        while bridge_name(self.prefix, index) in used:
            index += 1
        return bridge_name(self.prefix, index)

    async def remove(self, network: NetworkRecord) -> None:
        """Remove a network nobody uses (the caller checked): DNS listener, rules, bridge, record."""
        from runtime.network.docker_json import Forbidden

        if network.predefined:
            raise Forbidden(f"{network.name} is a pre-defined network and cannot be removed")
        async with self._lock:
            if self.dns is not None and network.gateway is not None:
                await self.dns.remove_listener(str(network.gateway))

            def unmake() -> None:
                self.nat.remove_network(rules_of(network))
                if (rules6 := dual.rules6_of(network)) is not None:
                    self.nat6.remove_network(rules6)
                self.links.remove_link(network.bridge)

            await anyio.to_thread.run_sync(unmake)
            self.store.remove(network)

    # -- endpoints -------------------------------------------------------------------------------

    def allocate(self, network: NetworkRecord, owner: str, wanted: str = "",
                 held: str = "") -> IPv4Interface:
        """An address on `network` for endpoint `owner` (`wanted`: static; `held`: re-adopted after a restart).

        Kept in memory only: who holds what follows from the container records, and the boot
        rebuilds it from them (`networking.restore`, `reconcile_pools`). Writing the network's
        file twice per container run cost the event loop more than anything else in a start."""
        pool = network.get_pool()
        if held:
            pool.allocated[held] = owner
            address = IPv4Address(held)
        else:
            address = pool.allocate(owner, wanted or None)
        network.set_pool(pool)
        return pool.interface(address)

    def release(self, network_id: str, owner: str) -> None:
        network = self.store.find(network_id)
        if network is None or network.pool is None:
            return
        pool = network.get_pool()
        if pool.release_owner(owner):
            network.set_pool(pool)
        dual.release6(network, owner)

    def reconcile_pools(self, live_owners: set[str]) -> None:
        """Give back addresses of endpoints that no longer run (crash while they stopped)."""
        for network in self.store:
            if network.pool is None:
                continue
            pool = network.get_pool()
            stale = {o for o in pool.allocated.values() if not o.startswith("aux:") and o not in live_owners}
            for owner in stale:
                pool.release_owner(owner)
                dual.release6(network, owner)
            if stale:
                network.set_pool(pool)
                self.store.save(network)

    async def plug(self, pid: int, endpoints: Sequence[Attached]) -> None:
        """The veths of `endpoints` into the container's netns; all or none."""
        configs = []
        for a in endpoints:
            network = self.store.get(a.network_id)
            pool = network.get_pool()
            configs.append(EndpointConfig(network.bridge, a.host_ifname, pid, a.address,
                                          pool.gateway if a.default_route else None, a.ifname, a.mac,
                                          network.bridge_options().mtu, a.address6,
                                          network.gateway6 if a.address6 is not None else None, a.link_local))

        def work() -> None:
            done: list[str] = []
            try:
                for cfg in configs:
                    self.links.attach(cfg)
                    done.append(cfg.host_ifname)
            except BaseException:
                for name in done:
                    with contextlib.suppress(Exception):
                        self.links.detach(name)
                raise

        await anyio.to_thread.run_sync(work)

    async def route_through(self, pid: int, a: Attached) -> None:
        """Make `a` the container's default route (after the endpoint that had it went away)."""
        network = self.store.get(a.network_id)
        await anyio.to_thread.run_sync(self.links.default_route, pid, a.ifname, network.get_pool().gateway)
        if a.address6 is not None and network.gateway6 is not None:
            await anyio.to_thread.run_sync(self.links.default_route, pid, a.ifname, network.gateway6)

    async def unplug(self, host_ifnames: Iterable[str]) -> None:
        """Remove veths and return once they are gone.

        They usually go with the container's netns, but the kernel tears a
        netns down in the background: a caller (container removal) that
        must see them gone waits here."""
        names = list(host_ifnames)

        def work() -> None:
            for name in names:
                try:
                    self.links.detach(name)
                except NetworkError as exc:
                    log.warning("cannot remove %s: %s", name, exc)
            deadline = time.monotonic() + UNPLUG_WAIT
            while any(os.path.exists(f"/sys/class/net/{n}") for n in names) and time.monotonic() < deadline:
                time.sleep(0.002)  # the kernel tears a netns down in ~15 ms: do not add 10 to it

        if names:
            await anyio.to_thread.run_sync(work)

    async def loopback_up(self, pid: int) -> None:
        await anyio.to_thread.run_sync(self.links.loopback_up, pid)

    async def publish(self, owner: str, specs: Sequence[PortSpec], container_ip: IPv4Address,
                      exact: Sequence[Published] = (), container_ip6: IPv6Address | None = None) -> list[Published]:
        """Hold the host ports (PortAllocated if one is taken) and DNAT them to the container; all or none.

        `exact`: ports recorded before an engine restart, taken again as they were."""
        return await publishing.publish(self, owner, specs, container_ip, exact, container_ip6)

    def unpublish(self, owner: str, container_ip: IPv4Address | None, container_ip6: IPv6Address | None = None) -> None:
        """Release the ports and drop their DNAT elements (on the loop: one nftables batch, ~0.1 ms)."""
        publishing.unpublish(self, owner, container_ip, container_ip6)

    async def remove_stale_links(self, keep: Iterable[str]) -> list[str]:
        wanted = {n.bridge for n in self.store if n.bridge} | set(keep)
        return await anyio.to_thread.run_sync(self.links.remove_stale, self.prefix, wanted)


def new_endpoint_id() -> str:
    return secrets.token_hex(32)


def host_ifname(prefix: str, endpoint_id: str) -> str:
    return veth_name(prefix, endpoint_id)
