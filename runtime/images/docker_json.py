"""Docker's JSON shapes for images: /images/json, /images/{name}/json, /images/{name}/history."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from runtime.store.metadata import ImageRecord

ZERO_TIME = "0001-01-01T00:00:00Z"
_FRACTION = re.compile(r"(\.\d+)")

# Keys of Docker's container.Config that are always present (the rest are omitempty).
_CONFIG_DEFAULTS: dict[str, Any] = {
    "Hostname": "",
    "Domainname": "",
    "User": "",
    "AttachStdin": False,
    "AttachStdout": False,
    "AttachStderr": False,
    "Tty": False,
    "OpenStdin": False,
    "StdinOnce": False,
    "Env": None,
    "Cmd": None,
    "Image": "",
    "Volumes": None,
    "WorkingDir": "",
    "Entrypoint": None,
    "OnBuild": None,
    "Labels": None,
}
_CONFIG_OPTIONAL = ("ExposedPorts", "Healthcheck", "ArgsEscaped", "StopSignal", "StopTimeout", "Shell")


def parse_time(text: str | None) -> float | None:
    """RFC 3339 (with up to nanoseconds, `Z` or an offset) -> Unix seconds."""
    if not text:
        return None
    text = _FRACTION.sub(lambda m: m.group(1)[:7], text.strip(), count=1)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def format_time(ts: float) -> str:
    """Unix seconds -> RFC 3339 with nanoseconds as Go prints it (trailing zeros dropped)."""
    whole = int(ts)
    nanos = round((ts - whole) * 1_000_000_000)
    if nanos >= 1_000_000_000:
        whole, nanos = whole + 1, nanos - 1_000_000_000
    base = datetime.fromtimestamp(whole, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    frac = f".{nanos:09d}".rstrip("0") if nanos else ""
    return f"{base}{frac}Z"


def labels_of(config: Mapping[str, Any]) -> dict[str, str]:
    inner = config.get("config") or {}
    labels = inner.get("Labels") if isinstance(inner, dict) else None
    return dict(labels) if isinstance(labels, dict) else {}


def container_config(config: Mapping[str, Any]) -> dict[str, Any]:
    inner = config.get("config") or {}
    out = dict(_CONFIG_DEFAULTS)
    if isinstance(inner, dict):
        for key in _CONFIG_DEFAULTS:
            if key in inner:
                out[key] = inner[key]
        for key in _CONFIG_OPTIONAL:
            if inner.get(key) not in (None, "", {}, [], False, 0):
                out[key] = inner[key]
    return out


def summary(
    image: ImageRecord, config: Mapping[str, Any], tags: Sequence[str], digests: Sequence[str]
) -> dict[str, Any]:
    return {
        "Id": image.id,
        "ParentId": image.parent,
        "RepoTags": list(tags),
        "RepoDigests": list(digests),
        "Created": int(parse_time(image.created) or 0),
        "Size": image.size,
        "SharedSize": -1,
        "Labels": labels_of(config),
        "Containers": -1,
    }


def inspect(
    image: ImageRecord,
    config: Mapping[str, Any],
    tags: Sequence[str],
    digests: Sequence[str],
    layer_dirs: Sequence[Path],
) -> dict[str, Any]:
    rootfs = config.get("rootfs") or {}
    return {
        "Id": image.id,
        "RepoTags": list(tags),
        "RepoDigests": list(digests),
        "Parent": image.parent,
        "Comment": str(config.get("comment") or ""),
        "Created": image.created or ZERO_TIME,
        "DockerVersion": str(config.get("docker_version") or ""),
        "Author": str(config.get("author") or ""),
        "Config": container_config(config),
        "Architecture": str(config.get("architecture") or ""),
        **({"Variant": config["variant"]} if config.get("variant") else {}),
        "Os": str(config.get("os") or ""),
        **({"OsVersion": config["os.version"]} if config.get("os.version") else {}),
        "Size": image.size,
        "GraphDriver": graph_driver(layer_dirs),
        "RootFS": {"Type": str(rootfs.get("type") or "layers"), "Layers": list(rootfs.get("diff_ids") or [])},
        "Metadata": {"LastTagTime": format_time(image.last_tag) if image.last_tag else ZERO_TIME},
    }


def graph_driver(layer_dirs: Sequence[Path]) -> dict[str, Any]:
    """overlay2's shape: the top layer as UpperDir, the others (top first) as LowerDir."""
    if not layer_dirs:
        return {"Name": "overlay2", "Data": {}}
    top = layer_dirs[-1]
    data = {
        "MergedDir": str(top.parent / "merged"),
        "UpperDir": str(top),
        "WorkDir": str(top.parent / "work"),
    }
    if len(layer_dirs) > 1:
        data["LowerDir"] = ":".join(str(p) for p in reversed(layer_dirs[:-1]))
    return {"Name": "overlay2", "Data": data}


def history(
    image: ImageRecord, config: Mapping[str, Any], tags: Sequence[str], layer_sizes: Sequence[int]
) -> list[dict[str, Any]]:
    """Newest first; only the newest entry carries the image ID and tags, as Docker shows."""
    entries = [h for h in (config.get("history") or []) if isinstance(h, dict)]
    if not entries:
        entries = [{"created": image.created} for _ in layer_sizes] or [{"created": image.created}]
    out: list[dict[str, Any]] = []
    layer = 0
    for entry in entries:
        size = 0
        if not entry.get("empty_layer") and layer < len(layer_sizes):
            size = layer_sizes[layer]
            layer += 1
        out.append(
            {
                "Id": "<missing>",
                "Created": int(parse_time(entry.get("created")) or 0),
                "CreatedBy": str(entry.get("created_by") or ""),
                "Tags": None,
                "Size": size,
                "Comment": str(entry.get("comment") or ""),
            }
        )
    out.reverse()
    out[0]["Id"] = image.id
    out[0]["Tags"] = list(tags)
    return out
