"""Merge stage: lay one compose document over another.

Rules follow compose-go v2 (`override/merge.go` and `override/uncity.go`):
mappings merge key by key, scalars from the override win, sequences append,
and a handful of attributes have their own rule. Those rules live in ONE
table, `_RULES`, keyed by path pattern (`*` matches any one segment); the
`key` of a rule (from `merge_keys`) is what makes two list items "the same"
(ports by host_ip/published/target/protocol, volumes by target...): a later
item with the key of an earlier one replaces it in place, as compose-go's
unicity pass does, within one file as well as across files.

`!reset` and `!override` (recorded by the YAML reader in `MDict.tags`) are
consumed here: `!reset` removes the key from the result, `!override` puts the
override's value in place of the base's without merging. With
`keep_directives` (used by `extends`) the directives stay on the result, so
the same file's directives also apply when it is later merged over the
previous files, as compose-go's reset processor does.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from compose.errors import ComposeFileError, format_path
from compose.loader import merge_keys as keys
from compose.loader.marks import RESET, MDict, MList, mark_of
from compose.loader.merge_keys import KeyFn
from compose.loader.merge_lists import as_list, concat, host_entries, item_mark

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class Rule:
    """How the values at one path combine; `key` identifies list items."""

    merge: Callable[[Rule, Any, Any, Path, bool], Any]
    key: KeyFn | None = None


def merge(base: Mapping[str, Any] | None, override: Mapping[str, Any] | None) -> MDict:
    """`override` laid over `base`, as a new document (inputs untouched).

    The result carries no directives: `!reset`/`!override` of `override` are
    applied, any left in `base` too (see `strip_tags`).
    """
    owned = _copy(_top(base), (), False)  # merging writes into base: always a fresh copy
    assert isinstance(owned, MDict)
    return _merge_mapping(owned, _top(override), (), False)


def strip_tags(doc: Mapping[str, Any] | None) -> MDict:
    """One document with its directives applied and list duplicates merged.

    A document with nothing to apply is returned as it is (no stage mutates
    one), which spares a deep copy of every file without directives.
    """
    top = _top(doc)
    if isinstance(top, MDict) and not _has_directives(top, ()):
        return top
    copied = _copy(top, (), False)
    assert isinstance(copied, MDict)
    return copied


def merge_service(base: Mapping[str, Any], override: Mapping[str, Any], name: str,
                  *, keep_directives: bool = False) -> MDict:
    """Service `override` laid over service `base` with the `services.*` rules.

    With `keep_directives` the override's `!reset`/`!override` stay on the
    result (for `extends`); the base is always taken without directives.
    """
    path: Path = ("services", name)
    owned = _copy(base, path, False)
    if not isinstance(owned, MDict):
        owned = MDict()
    return _merge_mapping(owned, override, path, keep_directives)


def _top(doc: Any) -> Mapping[str, Any]:
    if doc is None:
        return MDict()
    if not isinstance(doc, Mapping):
        raise ComposeFileError("top-level object must be a mapping", mark_of(doc))
    return doc


# --- copying -----------------------------------------------------------------

def _copy(value: Any, path: Path, keep: bool) -> Any:
    """Deep copy of a value that meets nothing to merge with.

    Directives are applied (or kept, with `keep`) and keyed lists deduplicated.
    """
    if isinstance(value, Mapping):
        out = MDict(mark=mark_of(value))
        tags = value.tags if isinstance(value, MDict) else {}
        for key, item in value.items():
            tag = tags.get(key)
            if tag == RESET and not keep:
                continue
            out[key] = _copy(item, (*path, key), keep)
            _set_key_mark(out, key, value)
            if keep and tag is not None:
                out.tags[key] = tag
        return out
    if isinstance(value, list):
        copied = MList((_copy(item, (*path, i), keep) for i, item in enumerate(value)),
                       mark=mark_of(value), item_marks=[item_mark(value, i) for i in range(len(value))])
        rule = _rule_for(path)
        if rule is not None and rule.key is not None:
            return _dedupe(copied, rule.key)
        return copied
    return value


def _has_directives(value: Any, path: Path) -> bool:
    """Whether `_copy` would change anything: a tag, a plain container, or a keyed list with duplicates."""
    if isinstance(value, Mapping):
        if not isinstance(value, MDict) or value.tags:
            return True
        return any(_has_directives(item, (*path, key)) for key, item in value.items())
    if isinstance(value, list):
        if not isinstance(value, MList):
            return True
        rule = _rule_for(path)
        if rule is not None and rule.key is not None and len({_hashable(rule.key(i)) for i in value}) < len(value):
            return True
        return any(_has_directives(item, (*path, i)) for i, item in enumerate(value))
    return False


def _hashable(key: Any) -> Any:
    return key if isinstance(key, Hashable) else repr(key)


def _set_key_mark(out: MDict, key: str, source: Any) -> None:
    if isinstance(source, MDict) and key in source.key_marks:
        out.key_marks[key] = source.key_marks[key]


def _dedupe(items: MList, key: KeyFn) -> MList:
    """Later items replace earlier ones with the same key, at the earlier place."""
    out = MList(mark=items.mark)
    seen: dict[Hashable, int] = {}
    for i, item in enumerate(items):
        k = key(item)
        if k in seen:
            out[seen[k]] = item
            out.item_marks[seen[k]] = item_mark(items, i)
        else:
            seen[k] = len(out)
            out.append(item)
            out.item_marks.append(item_mark(items, i))
    return out


# --- merging -----------------------------------------------------------------
# In what follows `base` is owned (a fresh copy without directives, free to
# change) and `over` belongs to the caller (copied before it is kept).

def _merge(base: Any, over: Any, path: Path, keep: bool) -> Any:
    rule = _rule_for(path)
    if rule is not None:
        return rule.merge(rule, base, over, path, keep)
    return _merge_default(base, over, path, keep)


def _merge_default(base: Any, over: Any, path: Path, keep: bool) -> Any:
    if over is None:  # an empty value in an override keeps the base's, as in compose-go
        return base
    if isinstance(base, Mapping):
        if not isinstance(over, Mapping):
            raise _cannot_merge(base, over, path)
        return _merge_mapping(base, over, path, keep)
    if isinstance(base, list):
        if not isinstance(over, list):
            raise _cannot_merge(base, over, path)
        return concat(base, _copy(over, path, keep))
    return _copy(over, path, keep)


def _merge_mapping(base: Any, over: Mapping[str, Any], path: Path, keep: bool,
                   nested: bool = True) -> MDict:
    """Key by key; with `nested` False values replace instead of merging."""
    out = base if isinstance(base, MDict) else _copy(base, path, False)
    if not isinstance(out, MDict):
        out = MDict()
    tags = over.tags if isinstance(over, MDict) else {}
    for key, value in over.items():
        sub = (*path, key)
        tag = tags.get(key)
        if tag == RESET and not keep:
            out.pop(key, None)
            out.key_marks.pop(key, None)
            out.tags.pop(key, None)
            continue
        if tag is not None or key not in out or not nested:
            out[key] = _copy(value, sub, keep)
        else:
            try:
                out[key] = _merge(out[key], value, sub, keep)
            except ComposeFileError as exc:
                if exc.mark is None:
                    exc.mark = mark_of(over, key)
                raise
        if keep and tag is not None:
            out.tags[key] = tag
        _set_key_mark(out, key, over)
    return out


def _cannot_merge(base: Any, over: Any, path: Path) -> ComposeFileError:
    return ComposeFileError(
        f"cannot merge {_kind(over)} into {_kind(base)}", mark_of(over), format_path(path)
    )


def _kind(value: Any) -> str:
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a sequence"
    return f"a {type(value).__name__} value"


# --- rules -------------------------------------------------------------------

def _replace(rule: Rule, base: Any, over: Any, path: Path, keep: bool) -> Any:
    return _copy(over, path, keep)


def _unique_list(rule: Rule, base: Any, over: Any, path: Path, keep: bool) -> Any:
    """Sequences (a lone scalar counts as one item) appended, then deduplicated."""
    if over is None:
        return base
    joined = concat(base, _copy(over, path, keep))
    return _dedupe(joined, rule.key) if rule.key is not None else joined


def _key_values(rule: Rule, base: Any, over: Any, path: Path, keep: bool) -> Any:
    """environment, labels...: by key; the override's value wins, even an empty one."""
    if over is None:
        return base
    if base is None:
        return _copy(over, path, keep)
    if isinstance(base, Mapping) or isinstance(over, Mapping):
        return _merge_mapping(_as_mapping(base, _kv_entry), _as_mapping(over, _kv_entry), path, keep, nested=False)
    return _unique_list(rule, base, over, path, keep)


def _as_mapping(value: Any, entry: Callable[[Any], tuple[str, Any]]) -> Mapping[str, Any]:
    """A sequence as a mapping, `entry` making each item a (key, value); a mapping as is."""
    if isinstance(value, Mapping):
        return value
    out = MDict(mark=mark_of(value))
    for i, item in enumerate(as_list(value)):
        key, out_value = entry(item)
        out[key] = out_value
        mark = item_mark(value, i)
        if mark is not None:
            out.key_marks[key] = mark
    return out


def _kv_entry(item: Any) -> tuple[str, Any]:
    """`A=1` -> (A, "1"); `A` -> (A, None)."""
    name, sep, rest = str(item).partition("=")
    return name, rest if sep else None


def _to_mapping(default: Callable[[], Any]) -> Callable[[Rule, Any, Any, Path, bool], Any]:
    """depends_on / networks / models: a list of names becomes a mapping first."""

    def entry(item: Any) -> tuple[str, Any]:
        return str(item), default()

    def merge_as_mapping(rule: Rule, base: Any, over: Any, path: Path, keep: bool) -> Any:
        if over is None:
            return base
        return _merge_mapping(_as_mapping(base, entry), _as_mapping(over, entry), path, keep)

    return merge_as_mapping


def _build(rule: Rule, base: Any, over: Any, path: Path, keep: bool) -> Any:
    """`build: ./dir` is `build: {context: ./dir}`."""
    if over is None:
        return base

    def as_mapping(value: Any) -> Any:
        return MDict(context=value, mark=mark_of(value)) if isinstance(value, str) else value

    return _merge_default(as_mapping(base), as_mapping(over), path, keep)


def _logging(rule: Rule, base: Any, over: Any, path: Path, keep: bool) -> Any:
    """Options merge only when both files name the same driver (or one names none)."""
    if isinstance(base, Mapping) and isinstance(over, Mapping) and "driver" in base and "driver" in over \
            and base["driver"] != over["driver"]:
        return _copy(over, path, keep)
    return _merge_default(base, over, path, keep)


def _extra_hosts(rule: Rule, base: Any, over: Any, path: Path, keep: bool) -> Any:
    """Host entries add up; an entry already in the base is not repeated."""
    if over is None:
        return base
    if base is None:
        return _copy(over, path, keep)
    if isinstance(base, MDict) and isinstance(over, Mapping):
        for host, addresses in over.items():
            if host not in base:
                base[host] = _copy(addresses, (*path, host), keep)
            else:
                known = as_list(base[host])
                new = [a for a in as_list(addresses) if a not in known]
                if new:
                    base[host] = MList([*known, *new], mark=mark_of(base[host]))
            _set_key_mark(base, host, over)
        return base
    known = host_entries(base)
    out = MList(known, mark=known.mark, item_marks=list(known.item_marks))
    for i, entry in enumerate(host_entries(over)):
        if entry not in known:
            out.append(entry)
            out.item_marks.append(item_mark(over, i))
    return out


def _ipam_config(rule: Rule, base: Any, over: Any, path: Path, keep: bool) -> Any:
    """Pools with the same subnet merge; other pools are added."""
    if over is None or not isinstance(base, list) or not isinstance(over, list):
        return _merge_default(base, over, path, keep)
    out = as_list(base)
    for i, pool in enumerate(over):
        subnet = pool.get("subnet") if isinstance(pool, Mapping) else None
        match = next((j for j, mine in enumerate(out) if subnet is not None and isinstance(mine, Mapping)
                      and mine.get("subnet") == subnet), None)
        if match is None:
            out.append(_copy(pool, (*path, len(out)), keep))
            out.item_marks.append(item_mark(over, i))
        else:
            out[match] = _merge_mapping(out[match], pool, (*path, match), keep)
    return out


# Per-path rules (compose-go: mergeSpecials + unique). Paths not listed merge
# by the default rule: mappings recursively, sequences appended, scalars replaced.
_REPLACE = Rule(_replace)
_KEY_VALUES = Rule(_key_values, keys.kv_key)
_SET = Rule(_unique_list, keys.kv_key)
_RULES: Mapping[str, Rule] = MappingProxyType({
    "services.*.command": _REPLACE,
    "services.*.entrypoint": _REPLACE,
    "services.*.healthcheck.test": _REPLACE,
    "services.*.ulimits.*": _REPLACE,
    "services.*.environment": _KEY_VALUES,
    "services.*.labels": _KEY_VALUES,
    "services.*.annotations": _KEY_VALUES,
    "services.*.sysctls": _KEY_VALUES,
    "services.*.deploy.labels": _KEY_VALUES,
    "services.*.build.args": _KEY_VALUES,
    "services.*.build.labels": _KEY_VALUES,
    "services.*.build.additional_contexts": _KEY_VALUES,
    "networks.*.labels": _KEY_VALUES,
    "networks.*.ipam.options": _KEY_VALUES,
    "volumes.*.labels": _KEY_VALUES,
    "services.*.cap_add": _SET,
    "services.*.cap_drop": _SET,
    "services.*.dns": _SET,
    "services.*.dns_opt": _SET,
    "services.*.dns_search": _SET,
    "services.*.expose": _SET,
    "services.*.links": _SET,
    "services.*.profiles": _SET,
    "services.*.tmpfs": _SET,
    "services.*.build.tags": _SET,
    "services.*.build.platforms": _SET,
    "services.*.networks.*.aliases": _SET,
    "services.*.networks.*.link_local_ips": _SET,
    "services.*.ports": Rule(_unique_list, keys.port_key),
    "services.*.volumes": Rule(_unique_list, keys.volume_key),
    "services.*.devices": Rule(_unique_list, keys.device_key),
    "services.*.secrets": Rule(_unique_list, keys.mount_key("/run/secrets")),
    "services.*.configs": Rule(_unique_list, keys.mount_key("")),
    "services.*.env_file": Rule(_unique_list, keys.env_file_key),
    "services.*.label_file": Rule(_unique_list),
    "services.*.extra_hosts": Rule(_extra_hosts),
    "services.*.build.extra_hosts": Rule(_extra_hosts),
    "services.*.build": Rule(_build),
    "services.*.logging": Rule(_logging),
    "services.*.depends_on": Rule(_to_mapping(lambda: MDict(condition="service_started", required=True))),
    "services.*.networks": Rule(_to_mapping(lambda: None)),
    "services.*.models": Rule(_to_mapping(lambda: None)),
    "networks.*.ipam.config": Rule(_ipam_config),
})
_PATTERNS: tuple[tuple[tuple[str, ...], Rule], ...] = tuple(
    (tuple(pattern.split(".")), rule) for pattern, rule in _RULES.items()
)


def _rule_for(path: Path) -> Rule | None:
    # Every pattern has `*` second (the service or resource name): fold it so the cache stays small.
    return _rule_for_shape(path if len(path) < 2 else (path[0], "*", *path[2:]))


@functools.lru_cache(maxsize=4096)
def _rule_for_shape(path: Path) -> Rule | None:
    for pattern, rule in _PATTERNS:
        if len(pattern) == len(path) and all(p in ("*", s) for p, s in zip(pattern, path, strict=True)):
            return rule
    return None
