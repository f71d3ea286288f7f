"""What a project owns, in the engine and in the kernel, and what of it is still there after `down -v`.

`collect` reads a running project's containers, endpoints, networks and
volumes through the Engine API (docker-py); `leftovers` looks for each of
them again, in the API (by the project label) and in the kernel: cgroups
named after a container id under /sys/fs/cgroup, mounts mentioning a
container id or volume name in /proc/self/mountinfo, veths and bridges in
`ip -o link`, and the container processes themselves.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.engine_fixture import EngineHandle

PROJECT_LABEL = "com.docker.compose.project"
IFNAMSIZ = 15


@dataclass
class ProjectObjects:
    containers: set[str] = field(default_factory=set)  # full ids
    pids: set[int] = field(default_factory=set)  # PID 1 of each running container
    links: set[str] = field(default_factory=set)  # host ends of veths, bridges of the project's networks
    networks: set[str] = field(default_factory=set)  # names
    volumes: set[str] = field(default_factory=set)  # names


def _client(handle: EngineHandle) -> Any:
    import docker

    return docker.APIClient(base_url=handle.host, timeout=30)


def _filters(project: str) -> dict[str, str]:
    return {"label": f"{PROJECT_LABEL}={project}"}


def collect(handle: EngineHandle, project: str) -> ProjectObjects:
    out = ProjectObjects()
    client = _client(handle)
    try:
        for summary in client.containers(all=True, filters=_filters(project)):
            info = client.inspect_container(summary["Id"])
            out.containers.add(info["Id"])
            if info["State"].get("Pid"):
                out.pids.add(int(info["State"]["Pid"]))
            for endpoint in (info["NetworkSettings"].get("Networks") or {}).values():
                if endpoint.get("EndpointID"):
                    out.links.add(veth(handle.prefix, endpoint["EndpointID"]))
        for network in client.networks(filters=_filters(project)):
            out.networks.add(network["Name"])
            bridge = (client.inspect_network(network["Id"]).get("Options") or {}).get(
                "com.docker.network.bridge.name")
            if bridge:
                out.links.add(bridge)
        out.volumes = {v["Name"] for v in client.volumes(filters=_filters(project)).get("Volumes") or []}
    finally:
        client.close()
    return out


def veth(prefix: str, endpoint_id: str) -> str:
    """The host end of an endpoint's veth, named as the engine names it."""
    return f"{prefix}v{endpoint_id[: IFNAMSIZ - len(prefix) - 1]}"


def host_links() -> set[str]:
    out = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True, check=True).stdout
    return {line.split(":")[1].strip().split("@")[0] for line in out.splitlines() if ":" in line}


def _cgroups_named(ids: set[str], max_depth: int = 4) -> Iterator[str]:
    """Cgroup directories named after a container id, in every hierarchy (entries vanishing meanwhile are fine)."""
    top = "/sys/fs/cgroup"
    for root, dirs, _ in os.walk(top):  # os.walk skips what it cannot read, unlike Path.glob
        if root.count("/") - top.count("/") >= max_depth:
            dirs.clear()
        for name in dirs:
            if name in ids:
                yield os.path.join(root, name)


def leftovers(handle: EngineHandle, project: str, objects: ProjectObjects) -> dict[str, list[str]]:
    """Everything of `objects` (and anything labelled with `project`) still in the engine or the kernel."""
    found: dict[str, list[str]] = {}
    client = _client(handle)
    try:
        found["containers"] = [c["Names"][0] for c in client.containers(all=True, filters=_filters(project))]
        found["networks"] = [n["Name"] for n in client.networks(filters=_filters(project))]
        found["networks"] += [n["Name"] for n in client.networks() if n["Name"] in objects.networks]
        volumes = client.volumes().get("Volumes") or []
        found["volumes"] = [v["Name"] for v in volumes
                            if v["Name"] in objects.volumes or (v.get("Labels") or {}).get(PROJECT_LABEL) == project]
    finally:
        client.close()
    found["links"] = sorted(objects.links & host_links())
    found["cgroups"] = sorted(_cgroups_named(objects.containers))
    mountinfo = Path("/proc/self/mountinfo").read_text().splitlines()
    needles = objects.containers | {f"/{v}/" for v in objects.volumes}
    found["mounts"] = [line for line in mountinfo if any(n in line for n in needles)]
    found["processes"] = [str(pid) for pid in sorted(objects.pids) if _in_container(pid, objects.containers)]
    return {kind: items for kind, items in found.items() if items}


def _in_container(pid: int, ids: set[str]) -> bool:
    """A live (not zombie) process in one of the containers' cgroups: a reused pid does not count."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        cgroups = Path(f"/proc/{pid}/cgroup").read_text()
    except OSError:
        return False
    return state != "Z" and any(i in cgroups for i in ids)
