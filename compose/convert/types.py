"""What a conversion produces: manifests (plain mappings with a kind and a name) and warnings."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from compose.error_base import ComposeError

# Order in which kinds are written (an object's dependencies before it), then by name.
KIND_ORDER = ("Namespace", "ConfigMap", "Secret", "PersistentVolumeClaim", "Service",
              "Deployment", "StatefulSet", "DaemonSet", "Pod")


@dataclass(frozen=True)
class Manifest:
    """One Kubernetes object: `body` is the whole document (apiVersion, kind, metadata, spec...)."""

    kind: str
    name: str
    body: Mapping[str, Any]

    def sort_key(self) -> tuple[int, str]:
        rank = KIND_ORDER.index(self.kind) if self.kind in KIND_ORDER else len(KIND_ORDER)
        return rank, self.name

    def file_name(self) -> str:
        return f"{self.name}-{self.kind.lower()}.yaml"


@dataclass(frozen=True)
class Unconverted:
    """Something of the compose project that has no (exact) Kubernetes form: `where` is a service or a
    top-level section entry, `key` the compose key, `reason` what was done instead or why not."""

    where: str
    key: str
    reason: str

    def __str__(self) -> str:
        return f"{self.where}: {self.key}: {self.reason}"


@dataclass(frozen=True)
class Conversion:
    manifests: tuple[Manifest, ...]
    warnings: tuple[Unconverted, ...]


class ConvertError(ComposeError):
    """A project that cannot be converted at all (two objects would get one name, an unknown format)."""
