"""Limits and flags checked from inside a running container with the real docker CLI:
`--cpus` in the cgroup the container sees, `--shm-size` in `df /dev/shm`, `--stop-signal` as the
signal PID 1 receives on `docker stop`, and `no-new-privileges` in /proc/self/status."""

from __future__ import annotations

import pytest

from tests.runtime.api.containers_env import docker_env, eventually, private_engine, remove_all_containers
from tests.runtime.api.containers_env import run as docker

pytestmark = [pytest.mark.root, pytest.mark.timeout(120)]
__all__ = ["docker_env", "private_engine"]


def inside(env: dict[str, str], script: str, *options: str) -> str:
    result = docker(env, "run", "--rm", *options, "busybox", "sh", "-c", script, check=False)
    assert result.returncode == 0, result.stderr.decode()
    return result.stdout.decode()


def test_cpus_is_the_cfs_quota_the_container_sees(docker_env: dict[str, str]) -> None:
    script = ("cat /sys/fs/cgroup/cpu.max 2>/dev/null || "
              "cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpu/cpu.cfs_period_us")
    assert inside(docker_env, script, "--cpus", "0.5").split() == ["50000", "100000"]
    assert inside(docker_env, script).split()[0] in ("-1", "max")


def test_shm_size_is_the_size_of_dev_shm(docker_env: dict[str, str]) -> None:
    assert inside(docker_env, "df -k /dev/shm | tail -1", "--shm-size", "32m").split()[1] == "32768"
    assert inside(docker_env, "df -k /dev/shm | tail -1").split()[1] == "65536"  # Docker's default 64m


def test_stop_signal_is_what_pid_1_receives(docker_env: dict[str, str]) -> None:
    script = "trap 'echo got USR1; exit 7' USR1; trap 'echo got TERM; exit 8' TERM; echo ready; " \
             "while :; do sleep 0.1; done"
    try:
        docker(docker_env, "run", "-d", "--name", "sig", "--stop-signal", "SIGUSR1", "busybox", "sh", "-c", script)
        eventually(lambda: docker(docker_env, "logs", "sig").stdout == b"ready\n")
        docker(docker_env, "stop", "-t", "10", "sig")
        assert docker(docker_env, "logs", "sig").stdout == b"ready\ngot USR1\n"
        assert docker(docker_env, "wait", "sig").stdout.strip() == b"7"
    finally:
        remove_all_containers(docker_env)


def test_no_new_privileges_in_proc_status(docker_env: dict[str, str]) -> None:
    status = "grep NoNewPrivs /proc/self/status"
    assert inside(docker_env, status, "--security-opt", "no-new-privileges").split() == ["NoNewPrivs:", "1"]
    assert inside(docker_env, status, "--security-opt", "no-new-privileges=true").split()[1] == "1"
    assert inside(docker_env, status).split() == ["NoNewPrivs:", "0"]
