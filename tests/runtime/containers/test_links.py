"""Legacy links with the real docker CLI: `docker run --link` on the default bridge gets dockerd's
environment and /etc/hosts entries; on a user network a link is a DNS alias."""

from __future__ import annotations

import pytest

from runtime.containers.links import exposed_ports, link_env
from tests.runtime.api.containers_env import docker_env, inspect, out, private_engine, remove_all_containers
from tests.runtime.api.containers_env import run as docker

pytestmark = [pytest.mark.root, pytest.mark.timeout(120)]
__all__ = ["docker_env", "private_engine"]


def test_link_env_as_dockerd_builds_it() -> None:
    ports = exposed_ports({"ExposedPorts": {"81/tcp": {}, "80/tcp": {}, "53/udp": {}}})
    assert ports == [(53, "udp"), (80, "tcp"), (81, "tcp")]
    env = link_env("me", "my-db", "10.0.0.2", ports, ["HOME=/root", "PATH=/bin", "PW=x=y"])
    assert env[0] == "MY_DB_PORT=udp://10.0.0.2:53"
    assert "MY_DB_PORT_80_TCP_START=tcp://10.0.0.2:80" in env and "MY_DB_PORT_80_TCP_PORT_END=81" in env
    assert "MY_DB_PORT_81_TCP=tcp://10.0.0.2:81" in env and "MY_DB_PORT_53_UDP_PROTO=udp" in env
    assert env[-2:] == ["MY_DB_NAME=/me/my-db", "MY_DB_ENV_PW=x=y"]


def test_docker_run_link_on_the_default_bridge(docker_env: dict[str, str]) -> None:
    try:
        docker(docker_env, "run", "-d", "--name", "web", "--expose", "80", "-e", "SECRET=s3", "busybox",
               "sleep", "1000")
        ip = inspect(docker_env, "web")["NetworkSettings"]["Networks"]["bridge"]["IPAddress"]  # type: ignore[index]
        result = out(docker_env, "run", "--rm", "--name", "me", "--link", "web:db", "-e", "DB_NAME=mine",
                     "busybox", "sh", "-c", "env; echo @@@; cat /etc/hosts; echo @@@; ping -c1 -W2 db")
        env, hosts, ping = result.split("@@@\n")
        variables = dict(line.split("=", 1) for line in env.splitlines() if "=" in line)
        assert variables["DB_PORT"] == f"tcp://{ip}:80"
        assert variables["DB_PORT_80_TCP"] == f"tcp://{ip}:80"
        assert (variables["DB_PORT_80_TCP_ADDR"], variables["DB_PORT_80_TCP_PORT"],
                variables["DB_PORT_80_TCP_PROTO"]) == (ip, "80", "tcp")
        assert variables["DB_ENV_SECRET"] == "s3" and "DB_ENV_PATH" not in variables
        assert variables["DB_NAME"] == "mine"  # the container's own Env wins
        assert any(line.split()[0] == ip and "db" in line.split()[1:] for line in hosts.splitlines() if line), hosts
        assert "1 packets received" in ping
        docker(docker_env, "run", "-d", "--name", "me2", "--link", "web:db", "busybox", "sleep", "1000")
        assert out(docker_env, "exec", "me2", "sh", "-c", "echo $DB_PORT_80_TCP_ADDR $DB_ENV_SECRET") == f"{ip} s3\n"
        stopped = docker(docker_env, "create", "--name", "late", "busybox")
        assert stopped.returncode == 0
        missing = docker(docker_env, "run", "--rm", "--link", "nosuch:x", "busybox", "true", check=False)
        assert b"could not get container for nosuch: No such container: nosuch" in missing.stderr
        host = docker(docker_env, "run", "--rm", "--net", "host", "--link", "web:w", "busybox", "true", check=False)
        assert b"conflicting options: host type networking can't be used with links" in host.stderr
        refused = docker(docker_env, "run", "--rm", "--link", "late:l", "busybox", "true", check=False)
        assert refused.returncode != 0 and b"Cannot link to a non running container: /late AS" in refused.stderr
    finally:
        remove_all_containers(docker_env)


def test_link_on_a_user_network_is_an_alias(docker_env: dict[str, str]) -> None:
    docker(docker_env, "network", "create", "linknet")
    try:
        docker(docker_env, "run", "-d", "--name", "srv", "--net", "linknet", "busybox", "sleep", "1000")
        result = docker(docker_env, "run", "--rm", "--net", "linknet", "--link", "srv:other", "busybox",
                        "sh", "-c", "ping -c1 -W2 other && env", check=False)
        assert result.returncode == 0, result.stderr
        assert b"OTHER_NAME" not in result.stdout
    finally:
        remove_all_containers(docker_env)
        docker(docker_env, "network", "rm", "linknet")
