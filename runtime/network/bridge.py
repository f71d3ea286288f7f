"""Bridges and veth pairs through netlink (pyroute2), plus the sysctls they need.

A network is a Linux bridge `<prefix>br<n>` holding the gateway address; an
endpoint is a veth pair whose host end `<prefix>v<id>` is a port of the
bridge and whose other end is created directly inside the container's netns
under its final name (eth0, eth1…): creating it elsewhere and moving it costs
20 ms, creating it in place under 1 ms (RUNTIME-FACTS). The container side is
configured through a netlink socket opened inside the container's netns by
entering it with setns(2) on the calling thread and coming back at once (a
socket stays bound to the netns it was opened in); pyroute2's `netns=`
option would fork a helper instead (8 ms).

`Links` serialises its calls with a lock (one netlink socket, not
thread-safe). Call it from worker threads, never from the event loop's
thread: pyroute2's synchronous API runs an asyncio loop of its own.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Interface, IPv4Network, IPv6Address, IPv6Interface, ip_interface
from pathlib import Path
from typing import Any

from runtime.linux.rtnl import Rtnl
from runtime.network.errors import KernelFailure, NetworkInvalid
from runtime.network.ipam import parse_proc_routes

IFNAMSIZ = 15  # usable characters of an interface name
CLONE_NEWNET = 0x40000000
LOOPBACK_INDEX = 1  # the kernel registers lo first in every netns, always with this index
PROC = Path("/proc")


@dataclass(frozen=True)
class EndpointConfig:
    """One container's attachment to one bridge."""

    bridge: str
    host_ifname: str  # `veth_name(prefix, endpoint_id)`
    netns: str | int  # a netns file (/run/netns/X, /proc/PID/ns/net) or a PID
    address: IPv4Interface  # with the subnet's prefix length
    gateway: IPv4Address | None = None  # the default route goes through it; None: no default route
    ifname: str = "eth0"
    mac: str | None = None  # None: `mac_address(address.ip)`
    mtu: int | None = None
    address6: IPv6Interface | None = None  # on a dual-stack network
    gateway6: IPv6Address | None = None  # the default IPv6 route (with `gateway`)
    link_local: tuple[str, ...] = ()  # IPAMConfig.LinkLocalIPs, "addr/len"


@dataclass(frozen=True)
class Endpoint:
    host_ifname: str
    ifname: str
    mac: str
    address: IPv4Interface


@dataclass(frozen=True)
class BridgeOptions:
    """What Docker's `com.docker.network.*` driver options ask of a bridge network."""

    name: str | None = None  # com.docker.network.bridge.name (None: `bridge_name(prefix, n)`)
    mtu: int | None = None  # com.docker.network.driver.mtu
    masquerade: bool = True  # com.docker.network.bridge.enable_ip_masquerade
    icc: bool = True  # com.docker.network.bridge.enable_icc (containers of the bridge talk to each other)
    host_binding_ipv4: str = ""  # com.docker.network.bridge.host_binding_ipv4: default host ip of published ports


def parse_driver_opts(opts: Mapping[str, str]) -> BridgeOptions:
    """The bridge options among a network's `driver_opts`; others are left to their owners."""
    name = opts.get("com.docker.network.bridge.name") or None
    if name is not None:
        _check_ifname(name)
    mtu = None
    if opts.get("com.docker.network.driver.mtu"):
        text = opts["com.docker.network.driver.mtu"]
        if not text.isdigit() or not 68 <= int(text) <= 65535:
            raise NetworkInvalid(f"invalid MTU {text!r}: a number from 68 to 65535")
        mtu = int(text) or None
    binding = opts.get("com.docker.network.bridge.host_binding_ipv4", "")
    if binding in ("0.0.0.0", ""):
        binding = ""
    else:
        try:
            binding = str(IPv4Address(binding))
        except ValueError:
            raise NetworkInvalid(f"invalid host_binding_ipv4 {binding!r}") from None
    return BridgeOptions(name, mtu, _bool(opts, "com.docker.network.bridge.enable_ip_masquerade"),
                         _bool(opts, "com.docker.network.bridge.enable_icc"), binding)


def _bool(opts: Mapping[str, str], key: str, default: bool = True) -> bool:
    text = opts.get(key)
    if text is None or text == "":
        return default
    if text in ("1", "t", "T", "true", "TRUE", "True"):
        return True
    if text in ("0", "f", "F", "false", "FALSE", "False"):
        return False
    raise NetworkInvalid(f"invalid value {text!r} for {key}: true or false")


def bridge_name(prefix: str, index: int) -> str:
    name = f"{prefix}br{index}"
    _check_ifname(name)
    return name


def veth_name(prefix: str, endpoint_id: str) -> str:
    """The host end of an endpoint's veth: the prefix, `v`, and as much of the endpoint id as fits."""
    room = IFNAMSIZ - len(prefix) - 1
    if room < 4:
        raise NetworkInvalid(f"prefix {prefix!r} too long for interface names")
    return f"{prefix}v{endpoint_id[:room]}"


def mac_address(address: IPv4Address) -> str:
    """Docker's stable MAC: locally administered 02:42 followed by the four bytes of the IPv4 address."""
    return "02:42:" + ":".join(f"{b:02x}" for b in address.packed)


def read_host_routes(ignore_prefix: str = "") -> list[IPv4Network]:
    """The host's IPv4 route destinations (not the default), without those of our own bridges."""
    try:
        text = (PROC / "net/route").read_text()
    except OSError:
        return []
    return parse_proc_routes(text, ignore_prefix)


def enable_ip_forward() -> None:
    """Routing between bridges and out of the host needs it; Docker turns it on too and leaves it on."""
    _write_sysctl("net/ipv4/ip_forward", "1")


def set_route_localnet(ifname: str, on: bool = True) -> None:
    """Let DNATed 127.0.0.1 traffic leave through the bridge (published ports on localhost)."""
    _write_sysctl(f"net/ipv4/conf/{ifname}/route_localnet", "1" if on else "0")


class Links:
    """The engine's netlink handle in the host netns (opened on first use)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()  # the host socket serves one request at a time
        self._ipr: Any = None
        self._bridges: dict[str, int] = {}  # bridge name -> index, saving a lookup per attach

    def close(self) -> None:
        with self._lock:
            if self._ipr is not None:
                self._ipr.close()
                self._ipr = None

    def __enter__(self) -> Links:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def ensure_bridge(self, name: str, gateway: IPv4Interface, mtu: int | None = None,
                      *, route_localnet: bool = True) -> int:
        """Create the bridge (or take the existing one after a restart), give it the gateway address, bring it up."""
        _check_ifname(name)
        with self._lock, _phase("bridge " + name):
            ipr = self._host()
            index = _lookup(ipr, name)
            if index is None:
                options: dict[str, Any] = {"address": mac_address(gateway.ip)}
                if mtu:
                    options["mtu"] = mtu
                ipr.link("add", ifname=name, kind="bridge", **options)
                index = _lookup(ipr, name)
                assert index is not None
            elif mtu:
                ipr.link("set", index=index, mtu=mtu)
            have = {(a.get("IFA_ADDRESS"), a["prefixlen"]) for a in ipr.get_addr(index=index, family=2)}
            if (str(gateway.ip), gateway.network.prefixlen) not in have:
                ipr.addr("add", index=index, address=str(gateway.ip), prefixlen=gateway.network.prefixlen)
            ipr.link("set", index=index, state="up")
            self._bridges[name] = int(index)
        if route_localnet:
            set_route_localnet(name)
        return int(index)

    def remove_link(self, name: str) -> bool:
        """Delete a link (bridge or veth host end, which takes its peer along); False if it was gone."""
        with self._lock, _phase("remove " + name):
            ipr = self._host()
            self._bridges.pop(name, None)
            index = _lookup(ipr, name)
            if index is None:
                return False
            try:
                ipr.link("del", index=index)
            except Exception as exc:
                if getattr(exc, "code", None) == errno.ENODEV:
                    return False
                raise
            return True

    def links(self, prefix: str) -> list[str]:
        """Names of the host's links starting with `prefix` (leftovers after a crash)."""
        with self._lock:
            ipr = self._host()
            names = (link.get("IFLA_IFNAME") for link in ipr.get_links())
            return sorted(n for n in names if n and n.startswith(prefix))

    def remove_stale(self, prefix: str, keep: Iterable[str]) -> list[str]:
        """Remove every link of ours not in `keep` (veths first, then bridges); returns the removed names."""
        wanted = set(keep)
        stale = [n for n in self.links(prefix) if n not in wanted]
        stale.sort(key=lambda n: n.startswith(prefix + "br"))
        return [n for n in stale if self.remove_link(n)]

    def attach(self, cfg: EndpointConfig) -> Endpoint:
        """Create the veth pair with its peer in the container's netns and configure both ends.

        Raw rtnetlink (runtime.linux.rtnl) on sockets of its own, so attaches run side by
        side: the host end is made enslaved and up in one request, the container's end
        configured over a socket opened in its netns."""
        _check_ifname(cfg.host_ifname)
        _check_ifname(cfg.ifname)
        mac = cfg.mac or mac_address(cfg.address.ip)
        with _open_netns(cfg.netns) as ns_fd:
            with _phase(f"veth {cfg.host_ifname}"), Rtnl() as rt:
                self._add_veth(rt, cfg, ns_fd, mac)
            try:
                # A container reaching its own published port comes back through its own port.
                _write_sysfs(f"class/net/{cfg.host_ifname}/brport/hairpin_mode", "1")
                with _phase(f"{cfg.ifname} in container"), _netns_rtnl(ns_fd) as inner:
                    _configure_inside(inner, cfg)
            except BaseException:
                # Best effort on a path that is failing already: the first error is the one to report.
                with contextlib.suppress(Exception), Rtnl() as rt:
                    rt.delete(cfg.host_ifname)
                raise
        return Endpoint(cfg.host_ifname, cfg.ifname, mac, cfg.address)

    def _add_veth(self, rt: Rtnl, cfg: EndpointConfig, ns_fd: int, mac: str) -> None:
        cached = self._bridges.get(cfg.bridge)
        if cached is not None:
            try:
                rt.add_veth(cfg.host_ifname, cached, cfg.ifname, ns_fd, mac, cfg.mtu)
                return
            except OSError as exc:
                # A bridge made again behind our back has another index: look it up and try once more.
                if exc.errno not in (errno.ENODEV, errno.EINVAL, errno.EOPNOTSUPP):
                    raise
                self._bridges.pop(cfg.bridge, None)
        bridge = rt.index(cfg.bridge)
        if bridge is None:
            raise KernelFailure(f"veth {cfg.host_ifname}", f"no bridge {cfg.bridge}")
        rt.add_veth(cfg.host_ifname, bridge, cfg.ifname, ns_fd, mac, cfg.mtu)
        self._bridges[cfg.bridge] = bridge

    def loopback_up(self, netns: str | int) -> None:
        """Bring `lo` up in a netns (a new netns starts with it down; network mode none needs it up)."""
        with _open_netns(netns) as ns_fd, _phase("lo in container"), _netns_rtnl(ns_fd) as inner:
            inner.set_up(LOOPBACK_INDEX)

    def default_route(self, netns: str | int, ifname: str, gateway: IPv4Address | IPv6Address) -> None:
        """Route the container's outbound traffic through `ifname` (its old route went with its interface)."""
        with _open_netns(netns) as ns_fd, _phase(f"default route via {ifname}"), _netns_rtnl(ns_fd) as inner:
            index = inner.index(ifname)
            if index is None:
                raise KernelFailure(f"default route via {ifname}", "no such interface in the container")
            inner.add_default_route(gateway, index)

    def detach(self, host_ifname: str) -> bool:
        """Remove an endpoint's veth pair; False if it was gone (the netns died with the container)."""
        with _phase("remove " + host_ifname), Rtnl() as rt:
            return rt.delete(host_ifname)

    def _host(self) -> Any:
        if self._ipr is None:
            from pyroute2 import IPRoute

            self._ipr = IPRoute()
        return self._ipr


def _configure_inside(inner: Rtnl, cfg: EndpointConfig) -> None:
    inner.set_up(LOOPBACK_INDEX)
    index = inner.index(cfg.ifname)
    if index is None:
        raise KernelFailure(f"{cfg.ifname} in container", "the veth peer did not appear in the container's netns")
    inner.add_address(index, cfg.address)
    if cfg.address6 is not None:
        inner.add_address(index, cfg.address6)
    for extra in cfg.link_local:
        inner.add_address(index, ip_interface(extra))
    inner.set_up(index)
    if cfg.gateway is not None:
        inner.add_default_route(cfg.gateway, index)
        if cfg.gateway6 is not None:
            inner.add_default_route(cfg.gateway6, index)


def _lookup(ipr: Any, name: str) -> int | None:
    found = ipr.link_lookup(ifname=name)
    return int(found[0]) if found else None


def _check_ifname(name: str) -> None:
    if not name or len(name) > IFNAMSIZ or "/" in name or name.strip() != name:
        raise NetworkInvalid(f"invalid interface name {name!r}: at most {IFNAMSIZ} characters, no '/' or spaces")


@contextmanager
def _phase(phase: str) -> Iterator[None]:
    """Netlink errors become KernelFailure naming the step."""
    try:
        yield
    except KernelFailure:
        raise
    except OSError as exc:
        raise KernelFailure(phase, os.strerror(exc.errno) if exc.errno else str(exc)) from exc
    except Exception as exc:
        code = getattr(exc, "code", None)  # pyroute2's NetlinkError carries the errno as `code`
        if not isinstance(code, int):
            raise
        raise KernelFailure(phase, os.strerror(code)) from exc


@contextmanager
def _open_netns(netns: str | int) -> Iterator[int]:
    path = f"/proc/{netns}/ns/net" if isinstance(netns, int) else netns
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as exc:
        raise KernelFailure("netns", f"cannot open {path}: {exc.strerror}") from exc
    try:
        yield fd
    finally:
        os.close(fd)


@contextmanager
def _netns_rtnl(ns_fd: int) -> Iterator[Rtnl]:
    """A raw rtnetlink socket bound to the netns `ns_fd`, opened by visiting it with this thread."""
    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    try:
        _setns(ns_fd)
        try:
            inner = Rtnl()
        finally:
            # Failing to come back would leave this thread in the container's netns.
            _setns(own)
    finally:
        os.close(own)
    with inner:
        yield inner


def _setns(fd: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise KernelFailure("setns", os.strerror(err))


def _write_sysctl(name: str, value: str) -> None:
    try:
        (PROC / "sys" / name).write_text(value)
    except OSError as exc:
        raise KernelFailure("sysctl " + name.replace("/", "."), exc.strerror or str(exc)) from exc


def _write_sysfs(name: str, value: str) -> None:
    try:
        (Path("/sys") / name).write_text(value)
    except OSError as exc:
        raise KernelFailure("sysfs " + name, exc.strerror or str(exc)) from exc
