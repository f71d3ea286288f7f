"""Projects from YAML text and engine states as the API would list them, for plan tests."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from compose import labels as L
from compose.loader.project import LoadOptions, load_project
from compose.model import Project
from compose.observed import ObservedState, observed_state
from compose.plan import config_hashes


def load(tmp_path: Path, text: str, name: str = "p") -> Project:
    (tmp_path / "compose.yaml").write_text(text)
    return load_project(LoadOptions(working_dir=tmp_path, project_name=name, environ={})).project


def summary(
    project: Project,
    service: str,
    number: int | None = 1,
    *,
    state: str = "running",
    config_hash: str | None = None,
    cid: str | None = None,
    name: str | None = None,
    networks: list[str] | None = None,
    mounts: list[dict[str, Any]] | None = None,
    image_id: str = "sha256:img",
    status: str = "",
    oneoff: bool = False,
    network_mode: str | None = None,
) -> dict[str, Any]:
    """A `GET /containers/json` entry for an up-to-date replica unless told otherwise."""
    svc = project.services.get(service)
    labels = {L.PROJECT: project.name, L.SERVICE: service, L.ONEOFF: "True" if oneoff else "False",
              L.CONFIG_HASH: config_hash or (config_hashes(project)[service] if svc else "old")}
    if number is not None:
        labels[L.NUMBER] = str(number)
    if svc:
        labels[L.DEPENDS_ON] = ",".join(f"{d}:{c.condition}:{str(c.restart).lower()}"
                                        for d, c in svc.depends_on.items())
    if networks is None:
        networks = [project.networks[k].name for k in svc.networks] if svc and not svc.network_mode else []
    cid = cid or f"{service}{number}".ljust(64, "0")
    return {
        "Id": cid,
        "Names": [f"/{name or L.container_name(project.name, service, number or 0)}"],
        "Image": svc.image if svc else "img",
        "ImageID": image_id,
        "State": state,
        "Status": status or ("Up 1 second" if state == "running" else "Exited (0) 1 second ago"),
        "Labels": labels,
        "Created": 1700000000 + (number or 0),
        "HostConfig": {"NetworkMode": network_mode or (networks[0] if networks else "none")},
        "NetworkSettings": {"Networks": {n: {"NetworkID": f"id-{n}"} for n in networks}},
        "Mounts": mounts or [],
    }


def network(name: str, project: str | None = "p", key: str | None = None, config_hash: str | None = None
            ) -> dict[str, Any]:
    labels = {}
    if project:
        labels[L.PROJECT] = project
        labels[L.NETWORK] = key or name.split("_", 1)[-1]
    if config_hash:
        labels[L.CONFIG_HASH] = config_hash
    return {"Id": f"id-{name}", "Name": name, "Driver": "bridge", "Labels": labels}


def volume(name: str, project: str | None = "p", key: str | None = None) -> dict[str, Any]:
    labels = {L.PROJECT: project, L.VOLUME: key or name.split("_", 1)[-1]} if project else {}
    return {"Name": name, "Driver": "local", "Labels": labels}


def state(project: Project, containers: Sequence[dict[str, Any]] = (),
          networks: Sequence[dict[str, Any]] | None = None, volumes: Sequence[dict[str, Any]] = ()) -> ObservedState:
    """Observed state; by default every network of the project exists."""
    if networks is None:
        networks = [network(r.name, project.name, k) for k, r in project.networks.items()]
    return observed_state(project.name, list(containers), networks, {"Volumes": list(volumes)})
