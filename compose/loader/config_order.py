"""The normalized project as `docker compose config` prints it: key order, omitted zeros, printed forms.

compose-go marshals Go structs: fields come in struct order, zero values of
`omitempty` fields are left out (`privileged: false`, empty lists), maps are
sorted (go-yaml's natural order: `a2` before `a10`), extension `x-` keys come
last, and a few types print their own way (byte sizes as strings, file modes
as octal strings, extra hosts as a sorted `host=ip` list, `create_host_path:
true` omitted as the default). Each struct is one table below.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any

from compose.loader.marks import plain
from compose.loader.units import format_file_mode, go_sprint

Render = Callable[[Any], Any]
Field = str | tuple[str, Render]


def _go_less(a: str, b: str) -> bool:
    """go-yaml's key order: letters after other characters, digit runs compared as numbers."""
    digits = False
    for i in range(min(len(a), len(b))):
        ca, cb = a[i], b[i]
        if ca == cb:
            digits = ca.isdigit()
            continue
        la, lb = ca.isalpha(), cb.isalpha()
        if la and lb:
            return ca < cb
        if la or lb:
            return la if digits else lb
        an = bn = 0
        if ca == "0" or cb == "0":
            j = i - 1
            while j >= 0 and a[j].isdigit():
                if a[j] != "0":
                    an = bn = 1
                    break
                j -= 1
        ai = i
        while ai < len(a) and a[ai].isdigit():
            an = an * 10 + int(a[ai])
            ai += 1
        bi = i
        while bi < len(b) and b[bi].isdigit():
            bn = bn * 10 + int(b[bi])
            bi += 1
        if an != bn:
            return an < bn
        if ai != bi:
            return ai < bi
        return ca < cb
    return len(a) < len(b)


def _go_cmp(a: str, b: str) -> int:
    return -1 if _go_less(a, b) else 1 if _go_less(b, a) else 0


_go_key = functools.cmp_to_key(_go_cmp)


def go_sorted(keys: Any) -> list[str]:
    return sorted((str(k) for k in keys), key=_go_key)


def _value(value: Any) -> Any:
    """Plain copy; floats that are whole print as Go prints them (`1`, not `1.0`)."""
    if isinstance(value, Mapping):
        return {k: _value(value[k]) for k in go_sorted(value)}
    if isinstance(value, list | tuple):
        return [_value(v) for v in value]
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e6:
        return int(value)
    return value


def _is_zero(value: Any) -> bool:
    return value is None or value is False or value == 0 or value == "" or (
        isinstance(value, list | tuple | Mapping) and not value)


def struct(*fields: Field, keep: tuple[str, ...] = (), opt_out: tuple[str, ...] = (),
           hidden: tuple[str, ...] = ()) -> Render:
    """A Go struct: `keep` are pointer/non-omitempty fields, `opt_out` default-true ones, `hidden` never printed."""
    order = [(f, _value) if isinstance(f, str) else f for f in fields]
    known = {name for name, _ in order} | set(hidden)

    def render(value: Any) -> Any:
        if not isinstance(value, Mapping):
            return _value(value)
        out: dict[str, Any] = {}
        for name, child in order:
            if name not in value:
                continue
            item = value[name]
            if name in opt_out:
                if item is True or item is None:
                    continue
            elif item is None if name in keep else _is_zero(item):
                continue
            out[name] = child(item)
        for name in go_sorted(k for k in value if k not in known and not str(k).startswith("x-")):
            if not _is_zero(value[name]):
                out[name] = _value(value[name])
        for name in go_sorted(k for k in value if str(k).startswith("x-")):
            out[name] = plain(value[name])
        return out
    return render


def map_of(child: Render = _value) -> Render:
    def render(value: Any) -> Any:
        if not isinstance(value, Mapping):
            return _value(value)
        return {k: None if value[k] is None else child(value[k]) for k in go_sorted(value)}
    return render


def list_of(child: Render) -> Render:
    def render(value: Any) -> Any:
        return [child(v) for v in value] if isinstance(value, list | tuple) else _value(value)
    return render


def _bytes(value: Any) -> Any:
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _mode(value: Any) -> Any:
    return format_file_mode(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _ulimit(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {"soft": value.get("soft", 0), "hard": value.get("hard", 0)}
    return value


def _hosts(value: Any) -> Any:
    if not isinstance(value, Mapping):
        return _value(value)
    entries = []
    for host, ips in value.items():
        for ip in ips if isinstance(ips, list | tuple) else [ips]:
            entries.append(f"{host}={go_sprint(ip)}")
    return sorted(entries)


def _ssh(value: Any) -> Any:
    if not isinstance(value, Mapping):
        return _value(value)
    return [key if value[key] is None else f"{key}: {value[key]}" for key in sorted(value)]


_FILE_REF = struct("source", "target", "uid", "gid", ("mode", _mode), keep=("mode",))
_ULIMITS = map_of(_ulimit)
_DEVICE_REQUEST = struct("capabilities", "driver", "count", "device_ids", "options")
_THROTTLE = struct("path", ("rate", _bytes), keep=("path", "rate"))
_HOOK = struct("command", "image", "user", "privileged", "working_dir", "environment", "per_replica",
               keep=("command",))
_UPDATE = struct("parallelism", "delay", "failure_action", "monitor", "max_failure_ratio", "order",
                 keep=("parallelism",))
_RESOURCE = struct("cpus", ("memory", _bytes), "pids", ("devices", list_of(_DEVICE_REQUEST)), "generic_resources")

_RESTART = struct("condition", "delay", "max_attempts", "window", keep=("delay", "max_attempts", "window"))
_BUILD = struct(
    "context", "dockerfile", "dockerfile_inline", "entitlements", "args", "provenance", "sbom", ("ssh", _ssh),
    "labels", "cache_from", "cache_to", "no_cache", "no_cache_filter", "additional_contexts", "pull",
    ("extra_hosts", _hosts), "isolation", "network", "target", ("secrets", list_of(_FILE_REF)),
    ("shm_size", _bytes), "tags", ("ulimits", _ULIMITS), "platforms", "privileged",
)
_DEPLOY = struct(
    "mode", "replicas", "labels", ("update_config", _UPDATE), ("rollback_config", _UPDATE),
    ("resources", struct(("limits", _RESOURCE), ("reservations", _RESOURCE), keep=("limits", "reservations"))),
    ("restart_policy", _RESTART),
    ("placement", struct("constraints", "preferences", "max_replicas_per_node")), "endpoint_mode",
    keep=("replicas", "update_config", "rollback_config", "restart_policy"),
)
_MOUNT = struct(
    "type", "source", "target", "read_only", "consistency",
    ("bind", struct("selinux", "propagation", "create_host_path", "recursive", opt_out=("create_host_path",))),
    ("volume", struct("labels", "nocopy", "subpath")),
    ("tmpfs", struct(("size", _bytes), "mode")),
    ("image", struct("subpath")),
    keep=("bind", "volume", "tmpfs", "image"),
)
_BLKIO = struct(
    "weight", ("weight_device", list_of(struct("path", "weight", keep=("path", "weight")))),
    ("device_read_bps", list_of(_THROTTLE)), ("device_read_iops", list_of(_THROTTLE)),
    ("device_write_bps", list_of(_THROTTLE)), ("device_write_iops", list_of(_THROTTLE)),
)
_SERVICE = struct(
    "profiles", "annotations", "attach", ("build", _BUILD), ("develop", struct(("watch", list_of(struct(
        "path", "action", "target", ("exec", _HOOK), "include", "ignore", "initial_sync", keep=("path", "action"),
    ))))), ("blkio_config", _BLKIO), "cap_add", "cap_drop", "cgroup_parent", "cgroup", "cpu_count", "cpu_percent",
    "cpu_period", "cpu_quota", "cpu_rt_period", "cpu_rt_runtime", "cpus", "cpuset", "cpu_shares", "command",
    ("configs", list_of(_FILE_REF)), "container_name", ("credential_spec", struct("config", "file", "registry")),
    ("depends_on", map_of(struct("condition", "restart", "required", keep=("required",)))),
    ("deploy", _DEPLOY), "device_cgroup_rules", ("devices", list_of(struct("source", "target", "permissions"))),
    "dns", "dns_opt", "dns_search", "dockerfile", "domainname", "entrypoint", ("provider", struct("type", "options")),
    "environment", ("env_file", list_of(struct("path", "required", "format", opt_out=("required",)))), "expose",
    ("extends", struct("file", "service")), "external_links", ("extra_hosts", _hosts), "group_add",
    ("gpus", list_of(_DEVICE_REQUEST)), "hostname",
    ("healthcheck", struct("test", "timeout", "interval", "retries", "start_period", "start_interval", "disable",
                           keep=("timeout", "interval", "retries", "start_period", "start_interval"))),
    "image", "init", "ipc", "isolation", "labels", "label_file", "links",
    ("logging", struct("driver", "options")), "log_driver", "log_opt", ("mem_limit", _bytes),
    ("mem_reservation", _bytes), ("memswap_limit", _bytes), ("mem_swappiness", _bytes), "mac_address",
    ("models", map_of(struct("endpoint_var", "model_var"))), "net", "network_mode",
    ("networks", map_of(struct("aliases", "driver_opts", "gw_priority", "interface_name", "ipv4_address",
                               "ipv6_address", "link_local_ips", "mac_address", "priority"))),
    "oom_kill_disable", "oom_score_adj", "pid", "pids_limit", "platform",
    ("ports", list_of(struct("name", "mode", "host_ip", "target", "published", "protocol", "app_protocol"))),
    "privileged", "pull_policy", "read_only", "restart", "runtime", "scale", ("secrets", list_of(_FILE_REF)),
    "security_opt", ("shm_size", _bytes), "stdin_open", "stop_grace_period", "stop_signal", "storage_opt",
    "sysctls", "tmpfs", "tty", ("ulimits", _ULIMITS), "use_api_socket", "user", "userns_mode", "uts",
    "volume_driver", ("volumes", list_of(_MOUNT)), "volumes_from", "working_dir", ("pre_start", list_of(_HOOK)),
    ("post_start", list_of(_HOOK)), ("pre_stop", list_of(_HOOK)),
    keep=("attach", "build", "develop", "blkio_config", "command", "credential_spec", "deploy", "entrypoint",
          "provider", "extends", "healthcheck", "init", "logging", "scale"),
)
_NETWORK = struct(
    "name", "driver", "driver_opts",
    ("ipam", struct("driver", ("config", list_of(struct("subnet", "gateway", "ip_range", "aux_addresses"))),
                    "options")),
    "external", "internal", "attachable", "labels", "enable_ipv4", "enable_ipv6",
    keep=("enable_ipv4", "enable_ipv6"),
)
_VOLUME = struct("name", "driver", "driver_opts", "external", "labels")
_FILE_OBJECT = ("name", "file", "environment", "content", "external", "labels", "driver", "driver_opts",
                "template_driver")
_SECRET = struct(*(f for f in _FILE_OBJECT if f != "content"), hidden=("content",))
_CONFIG = struct(*_FILE_OBJECT)
_MODEL = struct("name", "model", "context_size", "runtime_flags")
_PROJECT = (("name", _value), ("services", map_of(_SERVICE)), ("networks", map_of(_NETWORK)),
            ("volumes", map_of(_VOLUME)), ("secrets", map_of(_SECRET)), ("configs", map_of(_CONFIG)),
            ("models", map_of(_MODEL)))


def canonical_order(doc: Mapping[str, Any]) -> dict[str, Any]:
    """A plain dict in the order and printed forms of `docker compose config` (YAML)."""
    out: dict[str, Any] = {}
    for key, render in _PROJECT:
        value = doc.get(key)
        if key == "services":
            out[key] = render(value or {})
        elif not _is_zero(value):
            out[key] = render(value)
    for key in go_sorted(k for k in doc if str(k).startswith("x-")):
        out[key] = plain(doc[key])
    if isinstance(doc.get("configs"), Mapping):
        _drop_env_content(out.get("configs", {}), doc["configs"])
    return out


def _drop_env_content(rendered: dict[str, Any], configs: Mapping[str, Any]) -> None:
    """A config read from the environment prints its source, not the value."""
    for key, config in configs.items():
        if isinstance(config, Mapping) and config.get("environment") and key in rendered:
            rendered[key].pop("content", None)
