"""`POST /build`'s query, read as dockerd reads it (pure).

Numbers, JSON maps and lists are checked here so that a bad parameter is a 400 before any
work: dockerd's "error reading build args: …" and friends.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from runtime.build.named import CONTEXTS_PARAM, SECRETS_HEADER, Named, parse_contexts, parse_secrets
from runtime.errors import EngineError, bad_request

# Query values as the API layer has them: name -> every value given.
Query = Mapping[str, Sequence[str]]

_FALSE = frozenset({"", "0", "no", "false", "none"})


@dataclass(frozen=True)
class BuildOptions:
    dockerfile: str = "Dockerfile"
    tags: tuple[str, ...] = ()
    remote: str = ""
    quiet: bool = False
    no_cache: bool = False
    cache_from: tuple[str, ...] = ()
    pull: bool = False
    rm: bool = True
    force_rm: bool = False
    memory: int = 0
    memory_swap: int = 0
    cpu_shares: int = 0
    cpu_quota: int = 0
    cpu_period: int = 0
    cpuset_cpus: str = ""
    cpuset_mems: str = ""
    shm_size: int = 0
    build_args: tuple[tuple[str, str | None], ...] = ()
    labels: tuple[tuple[str, str], ...] = ()
    network_mode: str = ""
    platform: str = ""
    target: str = ""
    extra_hosts: tuple[str, ...] = ()
    ulimits: tuple[Mapping[str, Any], ...] = ()
    registry_auths: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # X-Registry-Config
    # Our extension (named.py): secrets from its header (never printed), named contexts from its param.
    secrets: Mapping[str, bytes] = field(default_factory=dict, repr=False)
    named_contexts: tuple[Named, ...] = ()

    def host_config(self, network: str = "") -> dict[str, Any]:
        """The HostConfig of a RUN step's container: the build's limits, network and hosts."""
        out: dict[str, Any] = {"NetworkMode": network or self.network_mode or "default"}
        if out["NetworkMode"] in ("", "default"):
            out["NetworkMode"] = "bridge"
        for key, value in (("Memory", self.memory), ("MemorySwap", self.memory_swap), ("CpuShares", self.cpu_shares),
                           ("CpuQuota", self.cpu_quota), ("CpuPeriod", self.cpu_period),
                           ("CpusetCpus", self.cpuset_cpus), ("CpusetMems", self.cpuset_mems),
                           ("ShmSize", self.shm_size)):
            if value:
                out[key] = value
        if self.extra_hosts:
            out["ExtraHosts"] = list(self.extra_hosts)
        if self.ulimits:
            out["Ulimits"] = [dict(u) for u in self.ulimits]
        return out


def _first(query: Query, name: str) -> str:
    values = query.get(name) or ()
    return values[0] if values else ""


def _flag(query: Query, name: str, default: bool) -> bool:
    if name not in query:
        return default
    return _first(query, name).strip().lower() not in _FALSE


def _int(query: Query, name: str) -> int:
    text = _first(query, name)
    if not text:
        return 0
    try:
        return int(text)
    except ValueError:
        raise bad_request(f"strconv.ParseInt: parsing {text!r}: invalid syntax") from None


def _json(query: Query, name: str, what: str, check: Callable[[Any], bool]) -> Any:
    text = _first(query, name)
    if not text:
        return None
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise bad_request(f"error reading {what}: {exc}") from None
    if value is not None and not check(value):
        raise bad_request(f"error reading {what}: json: cannot unmarshal {type(value).__name__} into the expected type")
    return value


def _string_map(value: Any, nullable: bool) -> bool:
    return isinstance(value, dict) and all(
        isinstance(v, str) or (nullable and v is None) for v in value.values())


def parse(query: Query, headers: Mapping[str, str] | None = None) -> BuildOptions:
    """The options of one build; EngineError 400 with dockerd's wording on bad input."""
    version = _first(query, "version")
    if version == "2":
        raise bad_request("BuildKit is not supported by this engine: use the classic builder (version=1)")
    if version not in ("", "1"):
        raise bad_request(f"unsupported builder version {version}")
    if _flag(query, "squash", False):
        raise bad_request("squash is only supported with experimental mode")
    if _first(query, "outputs"):
        raise bad_request("outputs are only supported by BuildKit")
    isolation = _first(query, "isolation")
    if isolation not in ("", "default"):
        raise bad_request(f"Unsupported isolation: {isolation!r}")
    build_args = _json(query, "buildargs", "build args", lambda v: _string_map(v, True)) or {}
    labels = _json(query, "labels", "labels", lambda v: _string_map(v, False)) or {}
    cache_from = _json(query, "cachefrom", "cache from", lambda v: isinstance(v, list)
                       and all(isinstance(x, str) for x in v)) or []
    ulimits = _json(query, "ulimits", "ulimits", lambda v: isinstance(v, list)
                    and all(isinstance(x, dict) for x in v)) or []
    hosts: list[str] = []
    for value in query.get("extrahosts") or ():
        hosts += [h for h in value.split(",") if h]
    dockerfile = _first(query, "dockerfile") or "Dockerfile"
    return BuildOptions(
        dockerfile=dockerfile, tags=tuple(t for t in query.get("t") or () if t), remote=_first(query, "remote"),
        quiet=_flag(query, "q", False), no_cache=_flag(query, "nocache", False), cache_from=tuple(cache_from),
        pull=_flag(query, "pull", False), rm=_flag(query, "rm", True), force_rm=_flag(query, "forcerm", False),
        memory=_int(query, "memory"), memory_swap=_int(query, "memswap"), cpu_shares=_int(query, "cpushares"),
        cpu_quota=_int(query, "cpuquota"), cpu_period=_int(query, "cpuperiod"),
        cpuset_cpus=_first(query, "cpusetcpus"), cpuset_mems=_first(query, "cpusetmems"),
        shm_size=_int(query, "shmsize"), build_args=tuple(build_args.items()), labels=tuple(labels.items()),
        network_mode=_first(query, "networkmode"), platform=_first(query, "platform"),
        target=_first(query, "target"), extra_hosts=tuple(hosts), ulimits=tuple(ulimits),
        registry_auths=registry_config((headers or {}).get("x-registry-config", "")),
        secrets=parse_secrets((headers or {}).get(SECRETS_HEADER.lower(), "")),
        named_contexts=parse_contexts(_first(query, CONTEXTS_PARAM)),
    )


def registry_config(header: str) -> dict[str, dict[str, Any]]:
    """`X-Registry-Config`: base64url JSON of {registry: AuthConfig}; empty or unreadable gives {}
    (dockerd ignores a header it cannot decode, as its auth comes per registry at pull time)."""
    import base64

    if not header.strip():
        return {}
    try:
        padded = header.strip() + "=" * (-len(header.strip()) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded))
    except (ValueError, TypeError):
        return {}
    if not isinstance(value, dict):
        return {}
    return {str(k): v for k, v in value.items() if isinstance(v, dict)}


__all__ = ["BuildOptions", "EngineError", "parse", "registry_config"]
