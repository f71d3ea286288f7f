"""The `KEY=VALUE` list-or-dict attributes in their mapping form, as compose-go decodes them.

Three flavours, as in compose-go's types: environment-like mappings keep a
bare `KEY` as None (to be resolved later); label-like mappings make it "";
options make null "". Scalars become strings the way Go prints them.
Extra hosts become `host -> [ip, ...]` (one host may map to several IPs).
"""

from __future__ import annotations

from typing import Any

from compose.errors import Mark
from compose.loader.marks import MDict, MList
from compose.loader.units import go_sprint
from compose.loader.walk import DocPath, fail, item_mark, mdict, mlist


def _from_list(value: MList | list[Any], path: DocPath, mark: Mark | None, bare: str | None,
               check_space: bool = False) -> MDict:
    out = mdict({}, getattr(value, "mark", None) or mark)
    for index, item in enumerate(value):
        where = item_mark(value, index, mark)
        key, sep, val = go_sprint(item).partition("=")
        if check_space and key and key[-1].isspace():
            raise fail(f"environment variable {key} is declared with a trailing space", (*path, index), where)
        out[key] = val if sep else bare
        if where is not None:
            out.key_marks[key] = where
    return out


def _from_dict(value: MDict | dict[str, Any], null: str | None) -> MDict:
    items = {k: null if v is None else go_sprint(v) for k, v in value.items()}
    if isinstance(value, MDict):
        return value.derive(items)
    return mdict(items, None)


def environment_like(value: Any, path: DocPath, mark: Mark | None) -> Any:
    """`environment`, `build.args`: `[K=V, K]` -> `{K: V, K: None}`."""
    if isinstance(value, list):
        return _from_list(value, path, mark, None, check_space=True)
    if isinstance(value, dict):
        return _from_dict(value, None)
    return value


def label_like(value: Any, path: DocPath, mark: Mark | None) -> Any:
    """`labels`, `annotations`, `sysctls`: `[K=V, K]` -> `{K: V, K: ""}`."""
    if isinstance(value, list):
        return _from_list(value, path, mark, "")
    if isinstance(value, dict):
        return _from_dict(value, "")
    return value


def options(value: Any, path: DocPath, mark: Mark | None) -> Any:
    """`driver_opts`, `logging.options`: values as strings, null as ""."""
    if isinstance(value, dict):
        return _from_dict(value, "")
    return value


def key_value(value: Any, path: DocPath, mark: Mark | None) -> Any:
    """`build.additional_contexts`: `[K=V]` -> `{K: V}`; a bare `K` is an error."""
    if isinstance(value, list):
        for index, item in enumerate(value):
            if "=" not in go_sprint(item):
                raise fail(f"invalid value {go_sprint(item)}, expected key=value", (*path, index),
                           item_mark(value, index, mark))
        return _from_list(value, path, mark, "")
    if isinstance(value, dict):
        return _from_dict(value, "")
    return value


def _host_ips(host: str, ips: list[str], path: DocPath, mark: Mark | None) -> list[str]:
    if not host or ":" in host or "=" in host:
        raise fail(f"bad host name '{host}'", path, mark)
    return [ip[1:-1] if len(ip) > 2 and ip[0] == "[" and ip[-1] == "]" else ip for ip in ips]


def extra_hosts(value: Any, path: DocPath, mark: Mark | None) -> Any:
    """`[host:ip, host=ip1,ip2]` or `{host: ip | [ips]}` -> `{host: [ips]}`, brackets dropped."""
    if isinstance(value, list):
        out = mdict({}, getattr(value, "mark", None) or mark)
        for index, item in enumerate(value):
            where = item_mark(value, index, mark)
            text = go_sprint(item)
            for sep in ("=", ":"):
                host, found, ips = text.partition(sep)
                if found:
                    break
            else:
                raise fail(f"invalid additional host, missing IP: {text}", (*path, index), where)
            previous = out.get(host, [])
            out[host] = mlist(previous + _host_ips(host, ips.split(","), (*path, index), where), where)
            if host not in out.key_marks and where is not None:
                out.key_marks[host] = where
        return out
    if isinstance(value, dict):
        items: dict[str, Any] = {}
        for host, ips in value.items():
            where = value.mark_of(host) if isinstance(value, MDict) else mark
            raw = [go_sprint(ip) for ip in ips] if isinstance(ips, list) else [go_sprint(ips)]
            items[host] = mlist(_host_ips(host, raw, (*path, host), where), where)
        return value.derive(items) if isinstance(value, MDict) else mdict(items, mark)
    return value
