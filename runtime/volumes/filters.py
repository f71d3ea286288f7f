"""Docker's volume filters for list and prune (pure: records and reference counts in, a yes/no out)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence

from runtime.filters import label_holds
from runtime.volumes.errors import VolumeInvalid
from runtime.volumes.records import LOCAL, VolumeRecord

LIST_FILTERS = frozenset({"dangling", "driver", "label", "name"})
PRUNE_FILTERS = frozenset({"label", "label!", "all"})

Filters = Mapping[str, Sequence[str]]
Predicate = Callable[[VolumeRecord, int], bool]  # (record, containers using it)


def check_keys(filters: Filters, accepted: frozenset[str]) -> None:
    for key in filters:
        if key not in accepted:
            raise VolumeInvalid(f"invalid filter '{key}'")


def bool_filter(filters: Filters, key: str, default: bool) -> bool:
    """moby's GetBoolOrDefault: `true`/`1` or `false`/`0`, not both, nothing else."""
    if key not in filters:
        return default
    values = set(filters[key])
    yes, no = bool(values & {"1", "true"}), bool(values & {"0", "false"})
    if yes == no:
        raise VolumeInvalid(f"invalid filter '{key}={','.join(filters[key])}'")
    return yes


def match_labels(wanted: Sequence[str], labels: Mapping[str, str] | None) -> bool:
    """moby's MatchKVList: every `key` or `key=value` must hold."""
    return all(label_holds(item, labels or {}) for item in wanted)


def match_name(patterns: Sequence[str], name: str) -> bool:
    """moby's Match: the exact name, or a regular expression found in it."""
    for pattern in patterns:
        if pattern == name:
            return True
        try:
            if re.search(pattern, name):
                return True
        except re.error:
            continue
    return False


def list_predicate(filters: Filters) -> Predicate:
    check_keys(filters, LIST_FILTERS)
    dangling = bool_filter(filters, "dangling", False) if "dangling" in filters else None
    drivers = list(filters.get("driver", ()))
    names = list(filters.get("name", ()))
    labels = list(filters.get("label", ()))

    def keep(record: VolumeRecord, users: int) -> bool:
        if dangling is not None and dangling != (users == 0):
            return False
        if drivers and record.driver not in drivers:
            return False
        if names and not match_name(names, record.name):
            return False
        return match_labels(labels, record.labels)

    return keep


def prune_predicate(filters: Filters) -> Predicate:
    """Unused local volumes; anonymous ones only unless `all=true`; `label`, `label!` as in image prune."""
    check_keys(filters, PRUNE_FILTERS)
    every = bool_filter(filters, "all", False)
    labels = list(filters.get("label", ()))
    not_labels = list(filters.get("label!", ()))

    def doomed(record: VolumeRecord, users: int) -> bool:
        if users or record.driver != LOCAL:
            return False
        if not every and not record.anonymous:
            return False
        if not match_labels(labels, record.labels):
            return False
        return not (not_labels and match_labels(not_labels, record.labels))

    return doomed
