"""Engine API versions: which one to speak, and what each one knows (pure).

The client speaks `min(ours, the engine's)` as the docker CLI and docker-py
do, and before a request leaves it passes through `fit()`: a field or query
parameter newer than the version spoken is dropped when it carries only the
default (None, false, 0, empty), and refused in one line when the project
asked for it (Docker's words: `"X" requires API version N, but the Docker
daemon API version is M`), so an older engine never receives a field it
does not know and never ignores one silently. The table is the Engine API's
version history (moby docs/api/version-history.md) for every field the
project sends.

At our own version (1.45) nothing is changed: our engine also understands
the few later fields the project sends (GwPriority, image mounts, tmpfs
options), which an older version refuses.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any, NamedTuple

from compose.client.errors import EngineError
from compose.client.wire import API_VERSION

MIN_API_VERSION = "1.24"
MULTI_ENDPOINT = "1.44"  # several EndpointsConfig at create, a MacAddress per endpoint


class ApiVersionError(EngineError):
    """The version spoken cannot carry what was asked (status 400, as Docker's client errors)."""

    def __init__(self, message: str) -> None:
        super().__init__(400, message)


def parse(version: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in version.strip().split("."))
    except ValueError:
        raise ApiVersionError(f"invalid API version {version!r}") from None


def older(a: str, b: str) -> bool:
    """a < b as API versions."""
    return parse(a) < parse(b)


def negotiate(engine_max: str, engine_min: str | None = None, ours: str = API_VERSION) -> str:
    """The version to speak with an engine whose maximum is `engine_max` (empty: an old engine, 1.24)."""
    theirs = engine_max.strip() or MIN_API_VERSION
    if older(theirs, MIN_API_VERSION):
        raise ApiVersionError(f"the engine's API version {theirs} is too old: pycompose needs at least "
                              f"{MIN_API_VERSION}")
    if engine_min and older(ours, engine_min):
        raise ApiVersionError(f"client version {ours} is too old. Minimum supported API version is {engine_min}")
    return theirs if older(theirs, ours) else ours


class Since(NamedTuple):  # not a dataclass: the CLI's fast path imports this module, never dataclasses
    """`field` (keys into the body; `*` is each entry of a mapping or list) came with API `version`."""

    version: str
    field: tuple[str, ...]
    what: str
    drop: bool = False  # always dropped, never refused (cosmetic: a console size)


class Param(NamedTuple):
    version: str
    name: str
    what: str


_EP = ("NetworkingConfig", "EndpointsConfig", "*")
_MOUNT = ("HostConfig", "Mounts", "*")
BODY: Mapping[str, tuple[Since, ...]] = {
    "POST /containers/create": (
        Since("1.25", ("StopTimeout",), "stop_grace_period"),
        Since("1.25", ("HostConfig", "Init"), "init"),
        Since("1.25", ("HostConfig", "AutoRemove"), "--rm"),
        Since("1.25", ("HostConfig", "Mounts"), "mounts"),
        Since("1.29", ("Healthcheck", "StartPeriod"), "healthcheck.start_period"),
        Since("1.40", ("HostConfig", "DeviceRequests"), "deploy.resources.reservations.devices"),
        Since("1.40", (*_MOUNT, "BindOptions", "NonRecursive"), "bind.recursive"),
        Since("1.41", ("HostConfig", "CgroupnsMode"), "cgroup"),
        Since("1.42", ("HostConfig", "ConsoleSize"), "console size", drop=True),
        Since("1.42", (*_MOUNT, "BindOptions", "CreateMountpoint"), "bind.create_host_path"),
        Since("1.43", ("HostConfig", "Annotations"), "annotations"),
        Since("1.44", ("Healthcheck", "StartInterval"), "healthcheck.start_interval"),
        Since("1.44", (*_MOUNT, "BindOptions", "ReadOnlyNonRecursive"), "bind.recursive: writable"),
        Since("1.44", (*_MOUNT, "BindOptions", "ReadOnlyForceRecursive"), "bind.recursive: enabled"),
        Since("1.44", (*_EP, "MacAddress"), "mac_address of a network"),
        Since("1.45", (*_MOUNT, "VolumeOptions", "Subpath"), "volume.subpath"),
        Since("1.46", (*_MOUNT, "TmpfsOptions", "Options"), "tmpfs options"),
        Since("1.47", (*_MOUNT, "ImageOptions"), "image mounts"),
        Since("1.48", (*_EP, "GwPriority"), "networks.gw_priority"),
    ),
    "POST /containers/{}/exec": (
        Since("1.25", ("Env",), "exec --env"),
        Since("1.35", ("WorkingDir",), "exec --workdir"),
        Since("1.42", ("ConsoleSize",), "console size", drop=True),
    ),
    "POST /networks/create": (
        Since("1.25", ("Attachable",), "attachable"),
        Since("1.29", ("Ingress",), "ingress"),
        Since("1.30", ("ConfigOnly",), "config-only networks"),
        Since("1.30", ("ConfigFrom",), "config-from networks"),
        Since("1.47", ("EnableIPv4",), "enable_ipv4"),
    ),
    "POST /networks/{}/connect": (
        Since("1.44", ("EndpointConfig", "MacAddress"), "mac_address of a network"),
        Since("1.48", ("EndpointConfig", "GwPriority"), "networks.gw_priority"),
    ),
    "POST /volumes/create": (
        Since("1.42", ("ClusterVolumeSpec",), "cluster volumes"),
    ),
}
PARAMS: Mapping[str, tuple[Param, ...]] = {
    "POST /containers/create": (Param("1.41", "platform", "platform"),),
    "POST /containers/{}/stop": (Param("1.42", "signal", "stop --signal"),),
    "POST /containers/{}/restart": (Param("1.42", "signal", "restart --signal"),),
    "POST /containers/{}/wait": (Param("1.30", "condition", "wait condition"),),
    "POST /images/create": (Param("1.32", "platform", "platform"),),
    "GET /containers/{}/logs": (Param("1.35", "until", "logs --until"),),
}
_ID = re.compile(r"^/(containers|networks)/[^/]+/")


def route(method: str, path: str) -> str:
    """The table's key of a request: `POST /containers/{}/exec`."""
    return f"{method} {_ID.sub(lambda m: f'/{m.group(1)}/{{}}/', path, count=1)}"


def _empty(value: Any) -> bool:
    return value is None or value is False or value == 0 or value == "" or value == [] or value == {}


def _refusal(what: str, since: str, version: str) -> ApiVersionError:
    return ApiVersionError(f'"{what}" requires API version {since}, but the Docker daemon API version is {version}')


def _parents(node: Any, keys: tuple[str, ...]) -> Iterator[dict[str, Any]]:
    """Each mapping holding the field `keys` ends with."""
    if not keys:
        return
    head, rest = keys[0], keys[1:]
    if not rest:
        if isinstance(node, dict):
            yield node
        return
    if head == "*":
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
        for child in children:
            yield from _parents(child, rest)
    elif isinstance(node, dict) and head in node:
        yield from _parents(node[head], rest)


def _copy(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _copy(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_copy(v) for v in node]
    return node


def fit_body(key: str, body: Any, version: str) -> Any:
    """`body` as version `version` may carry it: a copy without newer default fields, or ApiVersionError."""
    if not isinstance(body, dict) or version == API_VERSION:
        return body
    rules = [rule for rule in BODY.get(key, ()) if older(version, rule.version)]
    if not rules and key != "POST /containers/create":
        return body
    body = _copy(body)
    if key == "POST /containers/create" and older(version, MULTI_ENDPOINT):
        _single_endpoint(body, version)
    for rule in rules:
        name = rule.field[-1]
        for parent in _parents(body, rule.field):
            if name not in parent:
                continue
            if not rule.drop and not _empty(parent[name]):
                raise _refusal(rule.what, rule.version, version)
            del parent[name]
    return body


def _single_endpoint(body: dict[str, Any], version: str) -> None:
    """Before 1.44: one endpoint at create, its MacAddress the container's (`Config.MacAddress`)."""
    endpoints = (body.get("NetworkingConfig") or {}).get("EndpointsConfig") or {}
    if len(endpoints) > 1:
        raise _refusal("several networks at create", MULTI_ENDPOINT, version)
    for endpoint in endpoints.values():
        mac = endpoint.pop("MacAddress", None) if isinstance(endpoint, dict) else None
        if mac:
            body["MacAddress"] = mac


def fit_params(key: str, params: Mapping[str, Any] | None, version: str) -> Mapping[str, Any] | None:
    """The query parameters version `version` knows; a newer one with a value is refused."""
    if not params or version == API_VERSION:
        return params
    out = dict(params)
    for rule in PARAMS.get(key, ()):
        if rule.name in out and older(version, rule.version):
            if not _empty(out[rule.name]):
                raise _refusal(rule.what, rule.version, version)
            del out[rule.name]
    return out


def split_endpoints(body: Mapping[str, Any], version: str) -> tuple[Mapping[str, Any], dict[str, Any]]:
    """Before 1.44 a container joins one network at create: the body with its primary endpoint only,
    and the other endpoints to connect after create (docker compose does the same)."""
    endpoints = (body.get("NetworkingConfig") or {}).get("EndpointsConfig") or {}
    if not older(version, MULTI_ENDPOINT) or len(endpoints) <= 1:
        return body, {}
    primary = str((body.get("HostConfig") or {}).get("NetworkMode") or next(iter(endpoints)))
    if primary not in endpoints:
        primary = next(iter(endpoints))
    rest = {name: ep for name, ep in endpoints.items() if name != primary}
    out = dict(body)
    out["NetworkingConfig"] = {**body["NetworkingConfig"], "EndpointsConfig": {primary: endpoints[primary]}}
    return out, rest
