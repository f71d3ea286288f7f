"""The typed model the plan reads: ports, mounts, healthcheck and restart policy from the normalized document."""

from __future__ import annotations

from pathlib import Path

from compose.model import Healthcheck, Mount, Port, RestartPolicy
from tests.compose.plan.fixtures import load

TEXT = """
services:
  web:
    image: busybox
    ports: ["127.0.0.1:8080:80/udp", "9000"]
    expose: ["3000-3001"]
    volumes:
      - ./d:/d:ro,z
      - type: volume
        source: data
        target: /v
        volume: {nocopy: true, subpath: sub}
      - type: tmpfs
        target: /t
        tmpfs: {size: 1m}
    healthcheck: {test: ["CMD", "true"], interval: 2s, retries: 3}
    restart: on-failure:3
  deployed:
    image: busybox
    deploy: {restart_policy: {condition: any, max_attempts: 2}}
    healthcheck: {disable: true}
  odd:
    image: busybox
    restart: on-failure:x
  plain:
    image: busybox
volumes:
  data: {}
"""


def test_typed_parts(tmp_path: Path) -> None:
    services = load(tmp_path, TEXT).services
    web = services["web"]
    assert web.ports == (Port(80, "8080", "127.0.0.1", "udp"), Port(9000))
    assert [p.key for p in web.ports] == ["80/udp", "9000/tcp"]
    assert web.expose == ("3000-3001",)
    assert web.volumes == (
        Mount("bind", "/d", str(tmp_path / "d"), read_only=True, create_host_path=True, selinux="z"),
        Mount("volume", "/v", "data", nocopy=True, subpath="sub"),
        Mount("tmpfs", "/t", size=1024 * 1024),
    )
    assert web.healthcheck == Healthcheck(test=("CMD", "true"), interval="2s", retries=3)
    assert web.restart == RestartPolicy("on-failure", 3)


def test_restart_policy_sources(tmp_path: Path) -> None:
    services = load(tmp_path, TEXT).services
    assert services["deployed"].restart == RestartPolicy("always", 2)
    assert services["deployed"].healthcheck == Healthcheck(disable=True)
    assert services["odd"].restart == RestartPolicy("on-failure", 0)  # a count that is no number: 0, as compose
    assert services["plain"].restart is None and services["plain"].healthcheck is None
