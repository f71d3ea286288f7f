"""Kubernetes names and labels from compose names, and the metadata every object gets."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any

# The label kompose puts on every object it makes for a service (and selects pods by).
SERVICE_LABEL = "io.kompose.service"
# Labels on a compose service that choose the Kubernetes form, as kompose reads them.
CONTROLLER_LABEL = "kompose.controller.type"
SERVICE_TYPE_LABEL = "kompose.service.type"
VOLUME_SIZE_LABEL = "kompose.volume.size"
PART_OF_LABEL = "app.kubernetes.io/part-of"

_LABEL_NAME = re.compile(r"^(([a-z0-9]([-a-z0-9]*[a-z0-9])?)(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
                         r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
_LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$")


def dns_label(name: str, limit: int = 63) -> str:
    """A DNS-1123 label (lowercase alphanumerics and '-'); a name that had to be cut keeps a hash."""
    text = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-") or "x"
    if len(text) <= limit:
        return text
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"{text[:limit - 9].rstrip('-')}-{digest}"


def service_name(name: str) -> str:
    """A DNS-1035 label, as a Kubernetes Service needs: starts with a letter."""
    text = dns_label(name)
    return text if text[0].isalpha() else dns_label(f"s-{text}")


def label_value(value: str) -> str:
    text = re.sub(r"[^A-Za-z0-9_.-]+", "-", value)[:63]
    return re.sub(r"^[^A-Za-z0-9]+|[^A-Za-z0-9]+$", "", text)


def is_label(key: str, value: str) -> bool:
    return is_key(key) and len(value) <= 63 and bool(_LABEL_VALUE.match(value))


def is_key(key: str) -> bool:
    """A qualified name, as label and annotation keys must be: [prefix/]name."""
    prefix, _, name = key.rpartition("/")
    return bool(_LABEL_NAME.match(key)) and len(name) <= 63 and len(prefix) <= 253


def selector(service: str) -> dict[str, str]:
    return {SERVICE_LABEL: dns_label(service)}


def metadata(name: str, project: str, service: str | None = None, labels: Mapping[str, str] | None = None,
             annotations: Mapping[str, str] | None = None) -> dict[str, Any]:
    out_labels = {PART_OF_LABEL: label_value(project)} if label_value(project) else {}
    if service is not None:
        out_labels.update(selector(service))
    out_labels.update(labels or {})
    meta: dict[str, Any] = {"name": name, "labels": dict(sorted(out_labels.items()))}
    if annotations:
        meta["annotations"] = dict(sorted(annotations.items()))
    return meta
