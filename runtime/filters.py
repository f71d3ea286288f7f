"""The label filters every kind of object reads the same way (`label=` and `label!=` of list and prune).

Light on purpose and at the bottom of the engine: containers, networks, volumes and images all import it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence


def label_holds(spec: str, labels: Mapping[str, str]) -> bool:
    """`key` (present) or `key=value` (present with that value): one item of moby's MatchKVList."""
    key, sep, value = spec.partition("=")
    return key in labels and (not sep or labels[key] == value)


def match_labels(filters: Mapping[str, Sequence[str]], labels: Mapping[str, str]) -> bool:
    """`label=k[=v]`: every one must hold; `label!=k[=v]`: none may."""
    if not all(label_holds(spec, labels) for spec in filters.get("label", ())):
        return False
    return not any(label_holds(spec, labels) for spec in filters.get("label!", ()))
