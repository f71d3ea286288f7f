"""`docker ps` rows, port display, log time arguments and prune's report (pure)."""

from __future__ import annotations

import re
import time
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import click

from compose.cli import tables

PS = tables.Listing(
    default="table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}",
    headers={"ID": "CONTAINER ID", "Image": "IMAGE", "Command": "COMMAND", "CreatedAt": "CREATED AT",
             "RunningFor": "CREATED", "Ports": "PORTS", "State": "STATE", "Status": "STATUS", "Size": "SIZE",
             "Names": "NAMES", "Labels": "LABELS", "Mounts": "MOUNTS", "Networks": "NETWORKS",
             "LocalVolumes": "LOCAL VOLUMES"},
)
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def go_quote(text: str) -> str:
    """Go's strconv.Quote for the texts docker quotes (commands)."""
    out = []
    for char in text:
        if char in '"\\':
            out.append("\\" + char)
        elif char == "\n":
            out.append("\\n")
        elif char == "\t":
            out.append("\\t")
        elif char == "\r":
            out.append("\\r")
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\x{ord(char):02x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def _join_host_port(ip: str, port: int) -> str:
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


def _group(key: str, first: int, last: int) -> str:
    ip, _, kind = key.rpartition("/")
    text = str(first) if first == last else f"{first}-{last}"
    if ip:
        text = f"{ip}:{text}->{text}"
    return f"{text}/{kind}"


def displayable_ports(ports: Sequence[Mapping[str, Any]]) -> str:
    """docker's DisplayablePorts: `0.0.0.0:8080->80/tcp, 443/tcp`, consecutive ports as ranges."""
    ordered = sorted(ports, key=lambda p: (int(p.get("PrivatePort") or 0), str(p.get("IP") or ""),
                                           int(p.get("PublicPort") or 0), str(p.get("Type") or "")))
    groups: dict[str, list[int]] = {}
    result: list[str] = []
    mappings: list[str] = []
    for port in ordered:
        private, public = int(port.get("PrivatePort") or 0), int(port.get("PublicPort") or 0)
        kind, ip = str(port.get("Type") or "tcp"), str(port.get("IP") or "")
        key = kind
        if ip:
            if public != private:
                mappings.append(f"{_join_host_port(ip, public)}->{private}/{kind}")
                continue
            key = f"{ip}/{kind}"
        group = groups.get(key)
        if group is None:
            groups[key] = [private, private]
        elif private == group[1] + 1:
            group[1] = private
        else:
            result.append(_group(key, *group))
            groups[key] = [private, private]
    result += [_group(key, first, last) for key, (first, last) in groups.items()]
    return ", ".join(result + mappings)


def _names(names: Sequence[str], no_trunc: bool) -> str:
    out = []
    for name in names:
        # Names with a second slash are links (/other/alias): docker hides them unless --no-trunc.
        if no_trunc or len(name.split("/")) == 2:
            out.append(name[1:] if name.startswith("/") else name)
    return ",".join(out)


def container_rows(containers: Sequence[Mapping[str, Any]], no_trunc: bool = False,
                   now: float | None = None) -> list[dict[str, str | None]]:
    rows: list[dict[str, str | None]] = []
    for c in containers:
        cid = str(c.get("Id", ""))
        image = str(c.get("Image", ""))
        if not no_trunc and image.startswith("sha256:"):
            image = tables.short_id(image)
        command = str(c.get("Command") or "")
        created = float(c.get("Created") or 0)
        size_rw, size_root = int(c.get("SizeRw") or 0), int(c.get("SizeRootFs") or 0)
        size = tables.human_size(size_rw)
        if size_root > 0:
            size += f" (virtual {tables.human_size(size_root)})"
        mounts = []
        for m in c.get("Mounts") or []:
            name = str(m.get("Name") or m.get("Source") or "")
            mounts.append(name if no_trunc else tables.ellipsis(name, 15))
        networks = sorted(((c.get("NetworkSettings") or {}).get("Networks") or {}).keys())
        labels = c.get("Labels") or {}
        rows.append({
            "ID": cid if no_trunc else cid[:12],
            "Image": image,
            "Command": go_quote(command if no_trunc else tables.ellipsis(command, 20)),
            "CreatedAt": tables.go_time(created),
            "RunningFor": tables.ago(created, now),
            "Ports": displayable_ports(c.get("Ports") or []),
            "State": str(c.get("State") or ""),
            "Status": str(c.get("Status") or ""),
            "Size": size,
            "Names": _names(c.get("Names") or [], no_trunc),
            "Labels": ",".join(f"{k}={labels[k]}" for k in sorted(labels)),
            "Mounts": ",".join(mounts),
            "Networks": ",".join(networks),
            "LocalVolumes": str(sum(1 for m in c.get("Mounts") or [] if m.get("Driver") == "local")),
            # docker 28 has the field and prints null: the same JSON line for scripts that compare.
            "Platform": None,
        })
    return rows


def parse_timestamp(value: str, flag: str, now: float | None = None) -> int:
    """docker's --since/--until: a Go duration (`10m`, `1h30m`), Unix seconds, or an RFC 3339 time."""
    text = value.strip()
    reference = time.time() if now is None else now
    if re.fullmatch(r"-?\d+(\.\d+)?", text):
        return int(float(text))
    if _DURATION.sub("", text) == "" and text:
        seconds = sum(float(n) * _UNIT_SECONDS[u] for n, u in _DURATION.findall(text))
        return int(reference - seconds)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(f"invalid time {value!r}: want 10m, a Unix time or RFC 3339",
                                 param_hint=flag) from None
    if parsed.tzinfo is None:
        parsed = parsed.astimezone()
    return int(parsed.timestamp())


def prune_report(report: Mapping[str, Any]) -> str:
    return tables.reclaimed_report("Deleted Containers:", report.get("ContainersDeleted") or [],
                                   report.get("SpaceReclaimed"))
