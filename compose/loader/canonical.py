"""Per-file stage: short syntaxes to the compose-spec long forms (compose-go's `transform` package).

Runs on one validated file before extends and merge, so every file reaches
the merge in the same shapes. It changes forms only: paths stay relative and
project-level defaults are left to `normalize`. Positions are kept; a
malformed short value is a ComposeFileError at that value.
"""

from __future__ import annotations

from typing import Any

from compose.errors import Mark, warn
from compose.loader import mappings
from compose.loader.marks import MDict, MList
from compose.loader.ports import parse_port
from compose.loader.shellwords import split_command
from compose.loader.units import go_sprint
from compose.loader.volumes_syntax import parse_volume
from compose.loader.walk import DocPath, Pattern, Rule, Rules, fail, item_mark, mdict, mlist, place, positioned, walk


def canonical(doc: MDict, *, lenient: bool = False) -> MDict:
    """`doc` with long forms everywhere compose has them.

    `lenient` keeps a short value that does not parse instead of failing, as
    compose does when interpolation is off (`${PORT}:80` cannot be parsed yet).
    """
    result = walk(positioned(doc), _LENIENT if lenient else _STRICT)
    assert isinstance(result, MDict)
    return result


def _string_list(value: Any, path: DocPath, mark: Mark | None) -> Any:
    return mlist([value], mark) if isinstance(value, str) else value


def _wrap_string(key: str) -> Rule:
    def rule(value: Any, path: DocPath, mark: Mark | None) -> Any:
        return mdict({key: value}, mark) if isinstance(value, str) else value
    return rule


def _names_to_map(value: Any, path: DocPath, mark: Mark | None) -> Any:
    if isinstance(value, list):
        marks = {str(name): item_mark(value, i, mark) for i, name in enumerate(value)}
        return mdict({str(name): None for name in value}, getattr(value, "mark", None) or mark, marks)
    return value


def _dependency(entry: Any, path: DocPath, mark: Mark | None) -> MDict:
    if not isinstance(entry, dict):
        raise fail(f"unsupported value {go_sprint(entry)}", path, mark)
    out = entry.derive(entry) if isinstance(entry, MDict) else mdict(entry, mark)
    for key, default in (("condition", "service_started"), ("required", True)):
        if key not in out:
            out[key] = default
            if mark is not None:
                out.key_marks[key] = out.mark or mark
    return out


def _depends_on(value: Any, path: DocPath, mark: Mark | None) -> Any:
    if isinstance(value, list):
        marks = {str(name): item_mark(value, i, mark) for i, name in enumerate(value)}
        return mdict(
            {str(name): mdict({"condition": "service_started", "required": True}, marks[str(name)])
             for name in value},
            getattr(value, "mark", None) or mark, marks,
        )
    if isinstance(value, MDict):
        return value.derive((k, _dependency(v, (*path, k), value.mark_of(k))) for k, v in value.items())
    return value


def _env_file_entry(entry: Any, path: DocPath, mark: Mark | None) -> Any:
    if isinstance(entry, str):
        return mdict({"path": entry, "required": True}, mark)
    if isinstance(entry, dict):
        out = entry.derive(entry) if isinstance(entry, MDict) else mdict(entry, mark)
        out.setdefault("required", True)
        return out
    raise fail(f"invalid type {type(entry).__name__} for env_file", path, mark)


def _env_file(value: Any, path: DocPath, mark: Mark | None) -> Any:
    items = mlist([value], mark) if isinstance(value, str | dict) else value
    if not isinstance(items, list):
        raise fail(f"invalid type {type(value).__name__} for env_file", path, mark)
    out = items.derive(items) if isinstance(items, MList) else mlist(list(items), mark)
    for index, entry in enumerate(out):
        out[index] = _env_file_entry(entry, (*path, index), item_mark(out, index, mark))
    return out


def _gpus(value: Any, path: DocPath, mark: Mark | None) -> Any:
    if isinstance(value, str):  # `gpus: all`
        return mlist([mdict({"count": "all"}, mark)], mark)
    return value


def _external(value: Any, path: DocPath, mark: Mark | None) -> Any:
    """`external: {name: x}` (deprecated) -> `external: true` and `name: x`."""
    if not isinstance(value, MDict) or not isinstance(value.get("external"), dict):
        return value
    out = value.derive(value)
    external = out["external"]
    out["external"] = True
    if "name" in external:
        warn(f"{'.'.join(map(str, path))}: external.name is deprecated. Please set name and external: true",
             value.mark_of("external"))
        if "name" in out and out["name"] != external["name"]:
            raise fail("name and external.name conflict; only use name", path, value.mark_of("name"))
        out["name"] = external["name"]
        place(out, "name", value.mark_of("external") or mark)
    return out


def _ssh(value: Any, path: DocPath, mark: Mark | None) -> Any:
    if not isinstance(value, list):
        return value
    out = mdict({}, getattr(value, "mark", None) or mark)
    for index, entry in enumerate(value):
        where = item_mark(value, index, mark)
        key, sep, key_path = str(entry).partition("=")
        if not sep and key != "default":
            raise fail(f"invalid ssh key {str(entry)!r}", (*path, index), where)
        out[key] = key_path if sep else None
        if where is not None:
            out.key_marks[key] = where
    return out


def _healthcheck_test(value: Any, path: DocPath, mark: Mark | None) -> Any:
    return mlist(["CMD-SHELL", value], mark) if isinstance(value, str) else value


def _expose(value: Any, path: DocPath, mark: Mark | None) -> Any:
    if isinstance(value, str | int):
        return mlist([go_sprint(value)], mark)
    if isinstance(value, list):
        return value.derive(go_sprint(v) for v in value) if isinstance(value, MList) else [go_sprint(v) for v in value]
    return value


def _device(value: Any, path: DocPath, mark: Mark | None) -> Any:
    if not isinstance(value, str):
        return value
    parts = value.split(":")
    if len(parts) > 3:
        raise fail(f"confusing device mapping, please use long syntax: {value}", path, mark)
    source = parts[0]
    target = parts[1] if len(parts) > 1 and parts[1] else source
    permissions = parts[2] if len(parts) > 2 else "rwm"
    return mdict({"source": source, "target": target, "permissions": permissions}, mark)


def _file_mount(value: Any, path: DocPath, mark: Mark | None) -> Any:
    if isinstance(value, str):
        return mdict({"source": value}, mark)
    if not isinstance(value, dict):
        raise fail(f"unsupported type {type(value).__name__}", path, mark)
    return value


def _ulimit(value: Any, path: DocPath, mark: Mark | None) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | dict):
        raise fail(f"invalid type {type(value).__name__} for ulimit", path, mark)
    return value


def _as_string(value: Any, path: DocPath, mark: Mark | None) -> Any:
    return value if isinstance(value, str) or value is None else go_sprint(value)


def _make_command(lenient: bool) -> Rule:
    def rule(value: Any, path: DocPath, mark: Mark | None) -> Any:
        if not isinstance(value, str):
            return value
        try:
            return mlist(split_command(value), mark)
        except ValueError as exc:
            if lenient:
                return value
            raise fail(f"{exc}: {value}", path, mark) from None
    return rule


def _make_volume(lenient: bool) -> Rule:
    def rule(value: Any, path: DocPath, mark: Mark | None) -> Any:
        if isinstance(value, dict) or value is None:
            return value
        if not isinstance(value, str):
            raise fail(f"invalid type {type(value).__name__} for service volume mount", path, mark)
        try:
            return positioned(parse_volume(value), mark)
        except ValueError as exc:
            if lenient:
                return value
            raise fail(str(exc), path, mark) from None
    return rule


def _long_port(entry: MDict | dict[str, Any], mark: Mark | None) -> MDict:
    out = entry.derive(entry) if isinstance(entry, MDict) else mdict(entry, mark)
    if "published" in out and out["published"] is not None and not isinstance(out["published"], str):
        out["published"] = go_sprint(out["published"])
    target = out.get("target")
    if isinstance(target, str) and target.isdigit():
        out["target"] = int(target)
    return out


def _make_ports(lenient: bool) -> Rule:
    def rule(value: Any, path: DocPath, mark: Mark | None) -> Any:
        if not isinstance(value, list):
            raise fail(f"invalid type {type(value).__name__} for port", path, mark)
        entries: list[Any] = []
        marks: list[Mark | None] = []
        for index, item in enumerate(value):
            where = item_mark(value, index, mark)
            if isinstance(item, dict):
                entries.append(_long_port(item, where))
                marks.append(where)
                continue
            if isinstance(item, bool) or not isinstance(item, str | int):
                raise fail(f"invalid type {type(item).__name__} for port", (*path, index), where)
            spec = go_sprint(item)
            try:
                parsed = parse_port(spec)
            except ValueError as exc:
                if lenient:
                    return value
                raise fail(f"invalid port {spec!r}: {exc}", (*path, index), where) from None
            entries.extend(mdict(p, where) for p in parsed)
            marks.extend([where] * len(parsed))
        return mlist(entries, getattr(value, "mark", None) or mark, marks)
    return rule


def _hook_rules(prefix: Pattern, command: Rule) -> dict[Pattern, Rule]:
    return {(*prefix, "command"): command, (*prefix, "environment"): mappings.environment_like}


def _table(lenient: bool) -> Rules:
    command = _make_command(lenient)
    svc: Pattern = ("services", "*")
    table: dict[Pattern, Rule] = {
        (*svc, "build"): _wrap_string("context"),
        (*svc, "build", "args"): mappings.environment_like,
        (*svc, "build", "labels"): mappings.label_like,
        (*svc, "build", "additional_contexts"): mappings.key_value,
        (*svc, "build", "ssh"): _ssh,
        (*svc, "build", "secrets", "*"): _file_mount,
        (*svc, "build", "extra_hosts"): mappings.extra_hosts,
        (*svc, "build", "ulimits", "*"): _ulimit,
        (*svc, "build", "provenance"): _as_string,
        (*svc, "build", "sbom"): _as_string,
        (*svc, "depends_on"): _depends_on,
        (*svc, "env_file"): _env_file,
        (*svc, "extends"): _wrap_string("service"),
        (*svc, "gpus"): _gpus,
        (*svc, "networks"): _names_to_map,
        (*svc, "networks", "*", "driver_opts"): mappings.options,
        (*svc, "models"): _names_to_map,
        (*svc, "volumes", "*"): _make_volume(lenient),
        (*svc, "volumes", "*", "volume", "labels"): mappings.label_like,
        (*svc, "devices", "*"): _device,
        (*svc, "secrets", "*"): _file_mount,
        (*svc, "configs", "*"): _file_mount,
        (*svc, "ports"): _make_ports(lenient),
        (*svc, "expose"): _expose,
        (*svc, "ulimits", "*"): _ulimit,
        (*svc, "environment"): mappings.environment_like,
        (*svc, "labels"): mappings.label_like,
        (*svc, "annotations"): mappings.label_like,
        (*svc, "sysctls"): mappings.label_like,
        (*svc, "deploy", "labels"): mappings.label_like,
        (*svc, "extra_hosts"): mappings.extra_hosts,
        (*svc, "logging", "options"): mappings.options,
        (*svc, "storage_opt"): mappings.options,
        (*svc, "log_opt"): mappings.options,
        (*svc, "command"): command,
        (*svc, "entrypoint"): command,
        (*svc, "healthcheck", "test"): _healthcheck_test,
        (*svc, "develop", "watch", "*", "ignore"): _string_list,
        (*svc, "develop", "watch", "*", "include"): _string_list,
        **_hook_rules((*svc, "develop", "watch", "*", "exec"), command),
        **_hook_rules((*svc, "pre_start", "*"), command),
        **_hook_rules((*svc, "post_start", "*"), command),
        **_hook_rules((*svc, "pre_stop", "*"), command),
        ("include", "*"): _wrap_string("path"),
        ("networks", "*", "ipam", "options"): mappings.options,
        ("networks", "*", "ipam", "config", "*", "aux_addresses"): mappings.label_like,
    }
    for key in ("dns", "dns_search", "tmpfs", "label_file"):
        table[(*svc, key)] = _string_list
    for key in ("cache_from", "cache_to", "tags", "platforms", "no_cache_filter"):
        table[(*svc, "build", key)] = _string_list
    for section in ("networks", "volumes", "secrets", "configs"):
        table[(section, "*")] = _external
        table[(section, "*", "labels")] = mappings.label_like
        table[(section, "*", "driver_opts")] = mappings.options
    return Rules(table)


_STRICT = _table(lenient=False)
_LENIENT = _table(lenient=True)
