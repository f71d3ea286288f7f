"""Docker's JSON for networks: the create request read and checked, the Network object, list filters.

Pure functions over records and request bodies. Errors are NetworkErrors
carrying Docker's status codes (400 bad input, 403 predefined networks,
404 unknown drivers, 409 duplicate names).
"""

from __future__ import annotations

import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from runtime.filters import match_labels
from runtime.network.bridge import parse_driver_opts
from runtime.network.errors import NetworkConflict, NetworkError, NetworkInvalid
from runtime.network.store import PREDEFINED, NetworkRecord

LIST_FILTERS = frozenset({"dangling", "driver", "id", "label", "name", "scope", "type"})
PRUNE_FILTERS = frozenset({"until", "label", "label!"})
BRIDGE_NAME_OPT = "com.docker.network.bridge.name"


class Forbidden(NetworkError):
    status = 403


class PluginNotFound(NetworkError):
    status = 404

    def __init__(self, name: str) -> None:
        super().__init__(f'plugin "{name}" not found')


@dataclass(frozen=True)
class CreateRequest:
    """A checked `POST /networks/create` body."""

    name: str
    internal: bool
    attachable: bool
    labels: dict[str, str]
    options: dict[str, str]
    ipam: dict[str, Any] | None  # the one IPv4 IPAM config entry, if any
    ipam_options: dict[str, str]
    enable_ipv6: bool = False
    ipam6: dict[str, Any] | None = None  # the one IPv6 IPAM config entry, if any


def parse_create(body: Mapping[str, Any], existing: Collection[str]) -> CreateRequest:
    """Docker's checks of a create request; `existing` are the names in use."""
    name = body.get("Name")
    if not isinstance(name, str) or not name.strip():
        raise NetworkInvalid("network name is required")
    if name in PREDEFINED:
        raise Forbidden(f"operation is not permitted on predefined {name} network ")
    if name in existing:
        raise NetworkConflict(f"network with name {name} already exists")
    driver = body.get("Driver") or "bridge"
    if driver in ("host", "null"):
        raise Forbidden(f'only one instance of "{driver}" network is allowed')
    if driver != "bridge":
        raise PluginNotFound(str(driver))
    if body.get("Scope") not in (None, "", "local"):
        raise NetworkInvalid(f"scope {body['Scope']!r} is not supported: bridge networks are local")
    for key in ("Ingress", "ConfigOnly"):
        if body.get(key):
            raise NetworkInvalid(f"{key} networks are not supported by this engine")
    if (body.get("ConfigFrom") or {}).get("Network"):
        raise NetworkInvalid("ConfigFrom networks are not supported by this engine")
    if body.get("EnableIPv4") is False:
        raise NetworkInvalid("IPv4 cannot be disabled on a bridge network of this engine")
    options = _strings(body.get("Options"), "Options")
    parse_driver_opts(options)  # bad MTU, names and booleans are refused at create time
    ipam = body.get("IPAM") or {}
    if not isinstance(ipam, Mapping):
        raise NetworkInvalid("IPAM must be an object")
    if (ipam.get("Driver") or "default") != "default":
        raise PluginNotFound(str(ipam["Driver"]))
    configs = [c for c in ipam.get("Config") or () if c]
    v4 = [c for c in configs if not _is_v6(c)]
    v6 = [c for c in configs if _is_v6(c)]
    if len(v4) > 1:
        raise NetworkInvalid("only one IPv4 subnet per network is supported by this engine")
    if len(v6) > 1:
        raise NetworkInvalid("only one IPv6 subnet per network is supported by this engine")
    enable_ipv6 = bool(body.get("EnableIPv6"))
    if v6 and not enable_ipv6:
        raise NetworkInvalid(f"IPv6 subnet {v6[0].get('Subnet') or ''} is configured but IPv6 is not enabled "
                             "on the network (EnableIPv6, docker network create --ipv6)")
    return CreateRequest(
        name=name,
        internal=bool(body.get("Internal")),
        attachable=bool(body.get("Attachable")),
        labels=_strings(body.get("Labels"), "Labels"),
        options=options,
        ipam=dict(v4[0]) if v4 else None,
        ipam_options=_strings(ipam.get("Options"), "IPAM.Options"),
        enable_ipv6=enable_ipv6,
        ipam6=dict(v6[0]) if v6 else None,
    )


def _is_v6(config: Mapping[str, Any]) -> bool:
    return any(":" in str(config.get(k) or "") for k in ("Subnet", "IPRange", "Gateway"))


def _strings(value: Any, what: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise NetworkInvalid(f"{what} must be an object of strings")
    return {str(k): str(v) for k, v in value.items()}


def network_json(record: NetworkRecord, containers: Mapping[str, Mapping[str, str]] | None = None) -> dict[str, Any]:
    """Docker's Network object; `containers` (id -> NetworkContainer) for inspect, {} in lists."""
    return {
        "Name": record.name,
        "Id": record.id,
        "Created": record.created,
        "Scope": "local",
        "Driver": record.driver,
        "EnableIPv6": record.enable_ipv6,
        "EnableIPv4": True,
        "IPAM": {"Driver": record.ipam_driver, "Options": dict(record.ipam_options) or None,
                 "Config": ipam_config(record)},
        "Internal": record.internal,
        "Attachable": record.attachable,
        "Ingress": False,
        "ConfigFrom": {"Network": ""},
        "ConfigOnly": False,
        "Containers": dict(containers or {}),
        "Options": shown_options(record),
        "Labels": dict(record.labels),
    }


def ipam_config(record: NetworkRecord) -> list[dict[str, Any]]:
    return [_config_entry(pool) for pool in (record.pool, record.pool6) if pool is not None]


def _config_entry(pool: Mapping[str, Any]) -> dict[str, Any]:
    entry: dict[str, Any] = {"Subnet": pool["subnet"], "Gateway": pool["gateway"]}
    if pool.get("ip_range"):
        entry["IPRange"] = pool["ip_range"]
    aux = {owner[4:]: address for address, owner in (pool.get("allocated") or {}).items()
           if owner.startswith("aux:")}
    if aux:
        entry["AuxiliaryAddresses"] = aux
    return entry


def shown_options(record: NetworkRecord) -> dict[str, str]:
    """The options as Docker shows them: the default bridge lists its settings, others what they were given."""
    if not record.default:
        return dict(record.options)
    return {
        "com.docker.network.bridge.default_bridge": "true",
        "com.docker.network.bridge.enable_icc": "true",
        "com.docker.network.bridge.enable_ip_masquerade": "true",
        "com.docker.network.bridge.host_binding_ipv4": "0.0.0.0",
        BRIDGE_NAME_OPT: record.bridge,
        "com.docker.network.driver.mtu": record.options.get("com.docker.network.driver.mtu", "1500"),
    }


def network_container(name: str, endpoint: Mapping[str, Any]) -> dict[str, str]:
    """One entry of an inspected network's `Containers`, from the container's EndpointSettings."""
    address = str(endpoint.get("IPAddress") or "")
    prefixlen = endpoint.get("IPPrefixLen") or 0
    address6 = str(endpoint.get("GlobalIPv6Address") or "")
    prefixlen6 = endpoint.get("GlobalIPv6PrefixLen") or 0
    return {
        "Name": name,
        "EndpointID": str(endpoint.get("EndpointID") or ""),
        "MacAddress": str(endpoint.get("MacAddress") or ""),
        "IPv4Address": f"{address}/{prefixlen}" if address else "",
        "IPv6Address": f"{address6}/{prefixlen6}" if address6 else "",
    }


def check_filters(filters: Mapping[str, Sequence[str]], allowed: frozenset[str]) -> None:
    for key in filters:
        if key not in allowed:
            raise NetworkInvalid(f"invalid filter '{key}'")
    for value in filters.get("type", ()):
        if value not in ("custom", "builtin"):
            raise NetworkInvalid(f"invalid filter: 'type'='{value}'")
    for value in filters.get("dangling", ()):
        if value.lower() not in ("true", "false", "1", "0"):
            raise NetworkInvalid(f"invalid filter 'dangling={value}'")


def matches(record: NetworkRecord, filters: Mapping[str, Sequence[str]], in_use: Collection[str]) -> bool:
    """Docker's network list filters; `in_use` are ids of networks with containers (for `dangling`)."""
    if (names := filters.get("name")) and not any(n in record.name for n in names):
        return False
    if (ids := filters.get("id")) and not any(i in record.id for i in ids):
        return False
    if (drivers := filters.get("driver")) and record.driver not in drivers:
        return False
    if (scopes := filters.get("scope")) and "local" not in scopes:
        return False
    if types := filters.get("type"):
        builtin = record.predefined
        if not any((t == "builtin") == builtin for t in types):
            return False
    if not match_labels(filters, record.labels):
        return False
    for value in filters.get("dangling", ()):
        dangling = value.lower() in ("true", "1")
        # Docker counts the predefined networks as in use: they are never dangling.
        unused = record.id not in in_use and not record.predefined
        if dangling != unused:
            return False
    return True


def prunable(record: NetworkRecord, filters: Mapping[str, Sequence[str]], in_use: Collection[str],
             created_s: float, now: float | None = None) -> bool:
    """Whether `network prune` removes the network: user-defined, unused, and matching the filters."""
    from runtime.images.errors import ImageInvalid
    from runtime.images.filters import parse_until

    if record.predefined or record.id in in_use:
        return False
    if not match_labels(filters, record.labels):
        return False
    now = time.time() if now is None else now
    for value in filters.get("until", ()):
        try:
            until = parse_until(value, now)
        except ImageInvalid as exc:
            raise NetworkInvalid(str(exc)) from None
        if created_s >= until:
            return False
    return True
