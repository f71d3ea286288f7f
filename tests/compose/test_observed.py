from __future__ import annotations

from typing import Any

import pytest

from compose import labels as L
from compose.observed import ObservedMount, container_from_api, observed_state, parse_time


def labels(service: str, number: str | None = "1", project: str = "p", oneoff: str = "False") -> dict[str, str]:
    out = {L.PROJECT: project, L.SERVICE: service, L.CONFIG_HASH: "h", L.ONEOFF: oneoff}
    if number is not None:
        out[L.NUMBER] = number
    return out


SUMMARY: dict[str, Any] = {
    "Id": "a" * 64,
    "Names": ["/p-web-2"],
    "Image": "nginx",
    "ImageID": "sha256:1",
    "Created": 1714557600,
    "State": "exited",
    "Status": "Exited (137) 5 seconds ago",
    "Labels": labels("web", "2"),
    "HostConfig": {"NetworkMode": "p_default"},
    "NetworkSettings": {"Networks": {"p_default": {}, "p_back": {}}},
    "Mounts": [{"Type": "volume", "Name": "p_data", "Source": "/x", "Destination": "/data", "RW": False}],
}


def test_summary() -> None:
    c = container_from_api(SUMMARY)
    assert (c.id, c.name, c.service, c.number, c.config_hash) == ("a" * 64, "p-web-2", "web", 2, "h")
    assert (c.image, c.image_id, c.state, c.exit_code, c.health, c.oneoff) == (
        "nginx", "sha256:1", "exited", 137, None, False)
    assert c.networks == ("p_back", "p_default") and c.network_mode == "p_default"
    assert c.mounts == (ObservedMount("volume", "/data", "p_data", "/x", False),)
    assert c.project == "p" and not c.running


@pytest.mark.parametrize(("status", "health"), [("Up 3 seconds (healthy)", "healthy"),
                                                 ("Up 1 second (health: starting)", "starting"),
                                                 ("Up 2 minutes (unhealthy)", "unhealthy"), ("Up 2 minutes", None)])
def test_health_from_the_status_text(status: str, health: str | None) -> None:
    c = container_from_api({**SUMMARY, "State": "running", "Status": status})
    assert c.health == health and c.exit_code is None and c.running


def test_inspect() -> None:
    c = container_from_api({
        "Id": "b" * 64, "Name": "/p-db-1", "Image": "sha256:2", "Created": "2024-05-01T10:00:00.5Z",
        "Config": {"Image": "postgres", "Labels": labels("db", oneoff="True")},
        "State": {"Status": "running", "ExitCode": 0, "Health": {"Status": "starting"}},
        "NetworkSettings": {"Networks": {"p_default": {}}}, "HostConfig": {"NetworkMode": "container:x"},
    })
    assert (c.name, c.image, c.image_id, c.state, c.exit_code, c.health, c.oneoff) == (
        "p-db-1", "postgres", "sha256:2", "running", None, "starting", True)
    assert c.network_mode == "container:x" and c.created == pytest.approx(1714557600.5)


def test_times() -> None:
    assert parse_time("2024-05-01T10:00:00Z") == 1714557600.0
    assert parse_time("2024-05-01T12:00:00.987654321+02:00") == pytest.approx(1714557600.987654321)
    assert parse_time("0001-01-01T00:00:00Z") is None
    assert parse_time("yesterday") is None and parse_time(None) is None


def test_state_of_a_project() -> None:
    containers = [
        SUMMARY,
        {**SUMMARY, "Id": "c" * 64, "Names": ["/p-web-1"], "Labels": labels("web", "1")},
        {**SUMMARY, "Id": "d" * 64, "Names": ["/q-web-1"], "Labels": labels("web", project="q")},
        {**SUMMARY, "Id": "e" * 64, "Names": ["/p-old-1"], "Labels": labels("old")},
        {**SUMMARY, "Id": "f" * 64, "Names": ["/p-web-run-1"], "Labels": labels("web", None, oneoff="True")},
        {**SUMMARY, "Id": "9" * 64, "Names": ["/p-web-x"], "Labels": labels("web", "x")},
    ]
    networks: list[dict[str, Any]] = [
        {"Id": "n1", "Name": "p_default", "Driver": "bridge", "Labels": {L.PROJECT: "p", L.NETWORK: "default"}},
        {"Id": "n2", "Name": "bridge", "Driver": "bridge", "Labels": None},
    ]
    volumes = {"Volumes": [{"Name": "p_data", "Driver": "local", "Labels": {L.PROJECT: "p", L.VOLUME: "data"}}],
               "Warnings": None}
    observed = observed_state("p", containers, networks, volumes)
    assert [c.name for c in observed.containers] == ["p-web-2", "p-web-1", "p-old-1", "p-web-run-1", "p-web-x"]
    assert [c.name for c in observed.service_containers("web")] == ["p-web-1", "p-web-2", "p-web-x"]
    assert [c.name for c in observed.service_containers("web", oneoff=True)] == ["p-web-run-1"]
    assert [c.name for c in observed.orphans({"web"})] == ["p-old-1"]
    assert observed.networks["p_default"].key == "default" and observed.networks["bridge"].project is None
    assert observed.volumes["p_data"].key == "data"
    assert observed.container("c" * 12) is not None and observed.container("p-old-1") is not None
    assert observed.container("nope") is None
