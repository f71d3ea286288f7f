"""Docker's JSON for containers: inspect (ContainerJSON), list (ContainerSummary), and list filters.

Pure functions over records; `now` is passed in so "Up 3 seconds" is testable.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from runtime.containers import health
from runtime.containers.logs_read import parse_time_ns
from runtime.containers.records import STATUSES, Record
from runtime.errors import bad_request
from runtime.filters import match_labels
from runtime.network.endpoints import ports_summary

LIST_FILTERS = frozenset({
    "id", "name", "label", "label!", "status", "exited", "ancestor", "before", "since", "health", "network",
    "volume", "is-task", "publish", "expose", "isolation",
})  # fmt: skip


def human_duration(seconds: float) -> str:
    """Docker's go-units HumanDuration."""
    if seconds < 1:
        return "Less than a second"
    if int(seconds) == 1:
        return "1 second"
    if seconds < 60:
        return f"{int(seconds)} seconds"
    minutes = int(seconds / 60)
    if minutes == 1:
        return "About a minute"
    if minutes < 60:
        return f"{minutes} minutes"
    hours = int(seconds / 3600 + 0.5)  # go-units rounds half up (round() would round half to even)
    if hours == 1:
        return "About an hour"
    if hours < 48:
        return f"{hours} hours"
    if hours < 24 * 7 * 2:
        return f"{hours // 24} days"
    if hours < 24 * 30 * 2:
        return f"{hours // 24 // 7} weeks"
    if hours < 24 * 365 * 2:
        return f"{hours // 24 // 30} months"
    return f"{int(seconds / 3600) // 24 // 365} years"


def _since(stamp: str, now: float) -> str:
    return human_duration(max(0.0, now - parse_time_ns(stamp) / 1e9))


def status_text(record: Record, now: float) -> str:
    """`Up 3 seconds`, `Exited (0) 5 seconds ago`, `Created`..., as `docker ps` shows it."""
    state = record.state
    if state.status == "running":
        return f"Up {_since(state.started_at, now)}{health.status_suffix(state.health)}"
    if state.status == "paused":
        return f"Up {_since(state.started_at, now)} (Paused)"
    if state.status == "restarting":
        return f"Restarting ({state.exit_code}) {_since(state.finished_at, now)} ago"
    if state.status == "removing":
        return "Removal In Progress"
    if state.status == "dead":
        return "Dead"
    if state.status == "exited":
        return f"Exited ({state.exit_code}) {_since(state.finished_at, now)} ago"
    return "Created"


def command_text(record: Record) -> str:
    return " ".join([record.path, *record.args]).strip()


def summary(record: Record, now: float) -> dict[str, Any]:
    return {
        "Id": record.id,
        "Names": ["/" + record.name],
        "Image": record.config.get("Image") or record.image_name,
        "ImageID": record.image_id,
        "Command": command_text(record),
        "Created": parse_time_ns(record.created) // 10**9,
        "Ports": ports_summary(record.network_settings.get("Ports") or {}),
        "Labels": record.labels,
        "State": record.state.status,
        "Status": status_text(record, now),
        "HostConfig": {"NetworkMode": record.host_config.get("NetworkMode", "bridge")},
        "NetworkSettings": {"Networks": dict(record.network_settings.get("Networks") or {})},
        "Mounts": list(record.mounts),
    }


def inspect(record: Record, exec_ids: Sequence[str]) -> dict[str, Any]:
    rootfs = record.spec.get("rootfs") or {}
    return {
        "Id": record.id,
        "Created": record.created,
        "Path": record.path,
        "Args": list(record.args),
        "State": record.state.docker(),
        "Image": record.image_id,
        "ResolvConfPath": record.resolv_conf_path,
        "HostnamePath": record.hostname_path,
        "HostsPath": record.hosts_path,
        "LogPath": record.log_path,
        "Name": "/" + record.name,
        "RestartCount": record.restart_count,
        "Driver": "overlay2",
        "Platform": "linux",
        "MountLabel": "",
        "ProcessLabel": "",
        "AppArmorProfile": "",
        "ExecIDs": list(exec_ids) or None,
        "HostConfig": record.host_config,
        "GraphDriver": {
            "Data": {
                "LowerDir": ":".join(rootfs.get("lowerdirs") or ()),
                "MergedDir": rootfs.get("mountpoint", ""),
                "UpperDir": rootfs.get("upperdir", ""),
                "WorkDir": rootfs.get("workdir", ""),
            },
            "Name": "overlay2",
        },
        "Mounts": list(record.mounts),
        "Config": record.config,
        "NetworkSettings": record.network_settings,
    }


def check_list_filters(filters: Mapping[str, Sequence[str]]) -> None:
    for key in filters:
        if key not in LIST_FILTERS:
            raise bad_request(f"invalid filter '{key}'")
    for status in filters.get("status", ()):
        if status not in STATUSES:
            raise bad_request(f"invalid filter 'status={status}'")
    for value in filters.get("health", ()):
        if value not in health.STATUSES:
            raise bad_request(f"Unrecognised filter value for health: {value}")
    for code in filters.get("exited", ()):
        if not code.lstrip("-").isdigit():
            raise bad_request(f"invalid filter 'exited={code}'")


def matches(record: Record, filters: Mapping[str, Sequence[str]], image_ids: Mapping[str, str]) -> bool:
    """Docker's container list filters (publish, expose, is-task and isolation match all).

    `image_ids` maps each `ancestor` value to the image id it resolves to (or "" when unknown)."""
    if (ids := filters.get("id")) and not any(record.id.startswith(i) for i in ids):
        return False
    if (names := filters.get("name")) and not any(_name_match(n, record.name) for n in names):
        return False
    if not match_labels(filters, record.labels):
        return False
    if (statuses := filters.get("status")) and record.state.status not in statuses:
        return False
    if (healths := filters.get("health")) and health.status_of(record.state.health) not in healths:
        return False
    codes = filters.get("exited")
    if codes and (record.state.status != "exited" or str(record.state.exit_code) not in codes):
        return False
    if ancestors := filters.get("ancestor"):
        image = record.config.get("Image") or ""
        if not any(record.image_id == image_ids.get(a) or a in (image, record.image_name) for a in ancestors):
            return False
    if (networks := filters.get("network")) and not any(_on_network(record, n) for n in networks):
        return False
    if volumes := filters.get("volume"):
        points = {m.get("Name") for m in record.mounts} | {m.get("Destination") for m in record.mounts}
        if not any(v in points for v in volumes):
            return False
    return True


def _on_network(record: Record, ref: str) -> bool:
    endpoints = record.network_settings.get("Networks") or {}
    return ref in endpoints or any(str((ep or {}).get("NetworkID") or "").startswith(ref) and ref
                                   for ep in endpoints.values())


def _name_match(pattern: str, name: str) -> bool:
    try:
        return re.search(pattern.lstrip("/"), name) is not None
    except re.error:
        return pattern.lstrip("/") in name
