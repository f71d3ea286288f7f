from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from compose import labels as L
from compose.errors import ComposeError
from compose.model import Project
from compose.plan import Ref, config_hashes, container_body, network_body, volume_body
from tests.compose.plan.fixtures import load

RICH = """
services:
  db:
    image: postgres:16
    command: [postgres, -c, fsync=off]
    entrypoint: /entry.sh
    environment: [POSTGRES_PASSWORD=x, UNSET]
    labels: {team: data}
    user: "999:999"
    working_dir: /srv
    hostname: dbhost
    tty: true
    stop_signal: SIGINT
    stop_grace_period: 90s
    healthcheck: {test: pg_isready, interval: 2s, timeout: 1500ms, retries: 5, start_period: 1m}
    volumes: [data:/var/lib/db, /anon, ./src:/src:ro, {type: tmpfs, target: /scratch, tmpfs: {size: 1m}}]
    tmpfs: [/run:size=64k]
    ulimits: {nofile: {soft: 10, hard: 20}, nproc: 5}
    extra_hosts: ["gw:10.0.0.1"]
    mem_limit: 512m
    cpus: 1.5
    pids_limit: 50
    restart: on-failure:3
    cap_add: [NET_ADMIN]
    cap_drop: [ALL]
    privileged: true
    read_only: true
    security_opt: [no-new-privileges]
    init: true
    shm_size: 64m
    sysctls: [net.core.somaxconn=1024]
    dns: [1.1.1.1]
    ports: ["8080:80", "127.0.0.1:53:53/udp", "9000"]
    expose: ["3000-3001"]
    secrets: [token]
    networks:
      back: {aliases: [database], ipv4_address: 172.30.0.5}
      front: {priority: 10}
  job:
    image: busybox
    deploy: {restart_policy: {condition: on-failure, max_attempts: 2}, resources: {limits: {cpus: '0.5', memory: 1g}}}
    volumes_from: ["db:ro", "container:other"]
    network_mode: service:db
    depends_on: {db: {condition: service_healthy, restart: true}}
  noisy:
    image: busybox
    healthcheck: {disable: true}
    network_mode: none
    logging: {driver: json-file, options: {max-size: 1m}}
volumes: {data: {}}
networks: {back: {}, front: {driver: bridge, ipam: {config: [{subnet: 172.30.0.0/16}]}, labels: {x: y}}}
secrets: {token: {file: ./token.txt}}
"""


def rich(tmp_path: Path) -> Project:
    (tmp_path / "token.txt").write_text("s3cret")
    return load(tmp_path, RICH)


def body(project: Project, service: str, **kw: Any) -> dict[str, Any]:
    return container_body(project, project.services[service], 1, "hash", **kw)


def test_config_part(tmp_path: Path) -> None:
    b = body(rich(tmp_path), "db")
    assert b["Image"] == "postgres:16"
    assert b["Cmd"] == ["postgres", "-c", "fsync=off"] and b["Entrypoint"] == ["/entry.sh"]
    assert b["Env"] == ["POSTGRES_PASSWORD=x", "UNSET"]
    assert (b["User"], b["WorkingDir"], b["Hostname"], b["Tty"], b["OpenStdin"]) == ("999:999", "/srv", "dbhost",
                                                                                     True, False)
    assert b["StopSignal"] == "SIGINT" and b["StopTimeout"] == 90
    assert b["Healthcheck"] == {"Test": ["CMD-SHELL", "pg_isready"], "Interval": 2_000_000_000,
                                "Timeout": 1_500_000_000, "StartPeriod": 60_000_000_000, "Retries": 5}
    assert b["ExposedPorts"] == {"80/tcp": {}, "53/udp": {}, "9000/tcp": {}, "3000/tcp": {}, "3001/tcp": {}}


def test_labels_carry_what_compose_finds_containers_by(tmp_path: Path) -> None:
    project = rich(tmp_path)
    labels = body(project, "job", image_id="sha256:abc", refs={"db": "abc"})["Labels"]
    assert labels[L.PROJECT] == "p" and labels[L.SERVICE] == "job" and labels[L.NUMBER] == "1"
    assert labels[L.ONEOFF] == "False" and labels[L.CONFIG_HASH] == "hash" and labels[L.IMAGE] == "sha256:abc"
    assert labels[L.WORKING_DIR] == str(tmp_path)
    assert labels[L.CONFIG_FILES] == str(tmp_path / "compose.yaml")
    assert labels[L.DEPENDS_ON] == "db:service_healthy:true"
    assert L.VERSION in labels
    assert body(project, "db")["Labels"]["team"] == "data"
    oneoff = container_body(project, project.services["db"], 0, "h", name="p-db-run-abc", oneoff=True)["Labels"]
    assert oneoff[L.ONEOFF] == "True" and L.NUMBER not in oneoff


def test_host_config(tmp_path: Path) -> None:
    host = body(rich(tmp_path), "db")["HostConfig"]
    assert host["Binds"] == [f"{tmp_path}/src:/src:ro"]
    assert host["Mounts"] == [
        {"Type": "volume", "Target": "/var/lib/db", "Source": "p_data"},
        {"Type": "volume", "Target": "/anon"},
        {"Type": "tmpfs", "Target": "/scratch", "TmpfsOptions": {"SizeBytes": 1048576}},
        {"Type": "bind", "Source": f"{tmp_path}/token.txt", "Target": "/run/secrets/token", "ReadOnly": True},
    ]
    assert host["Tmpfs"] == {"/run": "size=64k"}
    assert host["PortBindings"] == {"80/tcp": [{"HostIp": "", "HostPort": "8080"}],
                                    "53/udp": [{"HostIp": "127.0.0.1", "HostPort": "53"}],
                                    "9000/tcp": [{"HostIp": "", "HostPort": ""}]}
    assert host["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 3}
    assert host["Ulimits"] == [{"Name": "nofile", "Soft": 10, "Hard": 20}, {"Name": "nproc", "Soft": 5, "Hard": 5}]
    assert host["ExtraHosts"] == ["gw:10.0.0.1"]
    assert (host["Memory"], host["NanoCpus"], host["PidsLimit"], host["ShmSize"]) == (512 << 20, 1_500_000_000, 50,
                                                                                      64 << 20)
    assert (host["CapAdd"], host["CapDrop"], host["Privileged"], host["ReadonlyRootfs"], host["Init"]) == (
        ["NET_ADMIN"], ["ALL"], True, True, True)
    assert host["SecurityOpt"] == ["no-new-privileges"] and host["Sysctls"] == {"net.core.somaxconn": "1024"}
    assert host["Dns"] == ["1.1.1.1"]


def test_networks_by_priority_with_aliases(tmp_path: Path) -> None:
    b = body(rich(tmp_path), "db")
    assert b["HostConfig"]["NetworkMode"] == "p_front"
    endpoints = b["NetworkingConfig"]["EndpointsConfig"]
    assert list(endpoints) == ["p_front", "p_back"]
    assert endpoints["p_back"] == {"Aliases": ["p-db-1", "db", "database"], "IPAMConfig": {"IPv4Address": "172.30.0.5"}}
    assert endpoints["p_front"]["Aliases"] == ["p-db-1", "db"]


def test_shared_namespaces_and_volumes_point_at_the_other_container(tmp_path: Path) -> None:
    project = rich(tmp_path)
    b = body(project, "job", refs={"db": Ref("create_container:p-db-1")})
    host = b["HostConfig"]
    assert host["NetworkMode"] == Ref("create_container:p-db-1", "container:")
    assert host["VolumesFrom"] == [Ref("create_container:p-db-1", "", ":ro"), "other"]
    assert "NetworkingConfig" not in b
    assert host["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 2}
    assert (host["NanoCpus"], host["Memory"]) == (500_000_000, 1 << 30)
    assert body(project, "job", refs={"db": "abc"})["HostConfig"]["NetworkMode"] == "container:abc"
    with pytest.raises(ComposeError, match="cannot share network namespace with service db: container missing"):
        body(project, "job")


def test_disabled_healthcheck_and_logging(tmp_path: Path) -> None:
    b = body(rich(tmp_path), "noisy")
    assert b["Healthcheck"] == {"Test": ["NONE"]}
    assert b["HostConfig"]["NetworkMode"] == "none"
    assert b["HostConfig"]["LogConfig"] == {"Type": "json-file", "Config": {"max-size": "1m"}}
    assert b["HostConfig"]["RestartPolicy"] == {"Name": "no"}


def test_network_and_volume_bodies(tmp_path: Path) -> None:
    project = rich(tmp_path)
    front = network_body(project, "front")
    assert front["Name"] == "p_front" and front["Driver"] == "bridge"
    assert front["IPAM"]["Config"] == [{"Subnet": "172.30.0.0/16"}]
    assert front["Labels"]["x"] == "y" and front["Labels"][L.NETWORK] == "front"
    assert front["Labels"][L.PROJECT] == "p" and front["Labels"][L.CONFIG_HASH]
    data = volume_body(project, "data")
    assert data["Name"] == "p_data" and data["Driver"] == "local" and data["Labels"][L.VOLUME] == "data"


def test_config_hash_follows_the_config_and_secret_files(tmp_path: Path) -> None:
    project = rich(tmp_path)
    first = config_hashes(project)
    assert first == config_hashes(project)
    (tmp_path / "token.txt").write_text("rotated")
    second = config_hashes(project)
    assert second["db"] != first["db"] and second["noisy"] == first["noisy"]
    scaled = load(tmp_path, RICH.replace("    image: busybox\n    deploy:", "    image: busybox\n    scale: 3\n"
                                                                              "    deploy:"))
    assert config_hashes(scaled)["job"] == second["job"]


def test_devices_and_device_cgroup_rules(tmp_path: Path) -> None:
    project = load(tmp_path, """
services:
  dev:
    image: busybox
    devices: ["/dev/kmsg", "/dev/null:/dev/mine:r", {source: /dev/zero, target: /dev/z, permissions: rw}]
    device_cgroup_rules: ["c 1:11 rwm", "b 7:* r"]
""")
    host = body(project, "dev")["HostConfig"]
    assert host["Devices"] == [
        {"PathOnHost": "/dev/kmsg", "PathInContainer": "/dev/kmsg", "CgroupPermissions": "rwm"},
        {"PathOnHost": "/dev/null", "PathInContainer": "/dev/mine", "CgroupPermissions": "r"},
        {"PathOnHost": "/dev/zero", "PathInContainer": "/dev/z", "CgroupPermissions": "rw"},
    ]
    assert host["DeviceCgroupRules"] == ["c 1:11 rwm", "b 7:* r"]
