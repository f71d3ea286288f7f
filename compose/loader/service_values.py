"""Defaults compose fills in and values it converts, as path rules over the merged project.

Defaults are compose-go's `SetDefaultValues` (port mode/protocol, secret
target, bind `create_host_path`, device request `count`, build context) plus
the ones its `Normalize` adds (dockerfile, pull_policy). Conversions are what
decoding into compose-go's Go types does to a value: durations in Go's form
(`1m30s`), byte sizes as integers, `cpus` as numbers, file modes as integers,
`count: all` as -1.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from compose.errors import Mark
from compose.loader import value_ranges
from compose.loader.marks import MDict
from compose.loader.units import go_sprint, parse_file_mode
from compose.loader.walk import DocPath, Pattern, Rule, Rules, fail, walk

_SVC: Pattern = ("services", "*")


def apply_defaults(doc: MDict) -> MDict:
    result = walk(doc, _DEFAULTS)
    assert isinstance(result, MDict)
    return result


def convert_values(doc: MDict) -> MDict:
    result = walk(doc, _CONVERSIONS)
    assert isinstance(result, MDict)
    return result


def _with_defaults(**defaults: Any) -> Rule:
    def rule(value: Any, path: DocPath, mark: Mark | None) -> Any:
        if not isinstance(value, MDict) or all(k in value for k in defaults):
            return value
        out = value.derive(value)
        for key, default in defaults.items():
            if key not in out:
                out[key] = default
        return out
    return rule


def _build(value: Any, path: DocPath, mark: Mark | None) -> Any:
    if not isinstance(value, MDict):
        return value
    out = value.derive(value)
    if out.get("context") is None:
        out["context"] = "."
    if out.get("dockerfile") is None and out.get("dockerfile_inline") is None:
        out["dockerfile"] = "Dockerfile"
    return out


def _secret_target(value: Any, path: DocPath, mark: Mark | None) -> Any:
    if not isinstance(value, MDict) or "target" in value:
        return value
    out = value.derive(value)
    out["target"] = f"/run/secrets/{go_sprint(value.get('source'))}"
    return out


def _device_request(value: Any, path: DocPath, mark: Mark | None) -> Any:
    if not isinstance(value, MDict) or "count" in value or "device_ids" in value:
        return value
    out = value.derive(value)
    out["count"] = "all"
    return out


def _pull_policy(value: Any, path: DocPath, mark: Mark | None) -> Any:
    return "missing" if value == "if_not_present" else value


_DEFAULTS = Rules({
    (*_SVC, "build"): _build,
    (*_SVC, "secrets", "*"): _secret_target,
    (*_SVC, "ports", "*"): _with_defaults(mode="ingress", protocol="tcp"),
    (*_SVC, "volumes", "*", "bind"): _with_defaults(create_host_path=True),
    (*_SVC, "deploy", "resources", "reservations", "devices", "*"): _device_request,
    (*_SVC, "gpus", "*"): _device_request,
    (*_SVC, "pull_policy"): _pull_policy,
})


def _converter(convert: Callable[[Any], Any], what: str) -> Rule:
    def rule(value: Any, path: DocPath, mark: Mark | None) -> Any:
        if value is None:
            return value
        try:
            return convert(value)
        except (ValueError, TypeError, OverflowError) as exc:
            raise fail(f"invalid {what} {go_sprint(value)!r}: {exc}", path, mark) from None
    return rule


def _count(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = go_sprint(value)
    if text.lower() == "all":
        return -1
    try:
        return int(text, 10)
    except ValueError:
        raise ValueError("the only value allowed is 'all' or a number") from None


def _as_str(value: Any) -> str:
    return go_sprint(value)


def _conversions() -> Rules:
    duration = _converter(value_ranges.duration, "duration")
    size = _converter(value_ranges.size, "size")
    cpus = _converter(value_ranges.cpus, "cpus")
    mode = _converter(parse_file_mode, "mode")
    count = _converter(_count, "count")
    text = _converter(_as_str, "value")
    table: dict[Pattern, Rule] = {
        (*_SVC, "stop_grace_period"): duration,
        (*_SVC, "cpus"): cpus,
        (*_SVC, "gpus", "*", "count"): count,
        (*_SVC, "volumes", "*", "tmpfs", "size"): size,
        (*_SVC, "build", "shm_size"): size,
    }
    for key in ("interval", "timeout", "start_period", "start_interval"):
        table[(*_SVC, "healthcheck", key)] = duration
    for section in ("update_config", "rollback_config"):
        table[(*_SVC, "deploy", section, "delay")] = duration
        table[(*_SVC, "deploy", section, "monitor")] = duration
    for key in ("delay", "window"):
        table[(*_SVC, "deploy", "restart_policy", key)] = duration
    for key in ("mem_limit", "mem_reservation", "shm_size"):
        table[(*_SVC, key)] = size
    table[(*_SVC, "memswap_limit")] = _converter(value_ranges.swap_limit, "size")
    table[(*_SVC, "mem_swappiness")] = _converter(value_ranges.swappiness, "mem_swappiness")
    table[(*_SVC, "ports", "*")] = value_ranges.port
    table[(*_SVC, "ulimits", "*")] = value_ranges.ulimit
    table[(*_SVC, "build", "ulimits", "*")] = value_ranges.ulimit
    table[(*_SVC, "healthcheck", "retries")] = value_ranges.retries
    for kind in ("limits", "reservations"):
        table[(*_SVC, "deploy", "resources", kind, "memory")] = size
        table[(*_SVC, "deploy", "resources", kind, "cpus")] = cpus
    table[(*_SVC, "deploy", "resources", "reservations", "devices", "*", "count")] = count
    for key in ("device_read_bps", "device_read_iops", "device_write_bps", "device_write_iops"):
        table[(*_SVC, "blkio_config", key, "*", "rate")] = size
    for mounts in ((*_SVC, "secrets", "*"), (*_SVC, "configs", "*"), (*_SVC, "build", "secrets", "*")):
        table[(*mounts, "mode")] = mode
        table[(*mounts, "uid")] = text
        table[(*mounts, "gid")] = text
    return Rules(table)


_CONVERSIONS = _conversions()
