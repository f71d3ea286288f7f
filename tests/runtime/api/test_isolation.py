"""What a process inside a container can see and do, checked through the real docker CLI.

Each test runs busybox containers on the module's private engine and looks
from inside: other processes, mounts, /proc/sys and /sys, capabilities, a
read-only root, memory and pids limits, the user, and `--init`.
"""

from __future__ import annotations

import pytest

from tests.runtime.api.containers_env import (
    docker_env,
    env,
    eventually,
    inspect,
    out,
    private_engine,
    run,
)

pytestmark = [pytest.mark.root, pytest.mark.timeout(90)]
__all__ = ["docker_env", "env", "private_engine"]

# Docker's default capability set, by number (capability.h), independent of runtime/linux/caps.py:
# CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID SETPCAP NET_BIND_SERVICE NET_RAW SYS_CHROOT MKNOD
# AUDIT_WRITE SETFCAP.
DOCKER_DEFAULT_CAPS = (0, 1, 3, 4, 5, 6, 7, 8, 10, 13, 18, 27, 29, 31)
DOCKER_DEFAULT_MASK = sum(1 << bit for bit in DOCKER_DEFAULT_CAPS)


def sh(env: dict[str, str], script: str, *options: str, check: bool = False) -> tuple[int, str, str]:
    """`docker run --rm [options] busybox sh -c script` -> (exit code, stdout, stderr)."""
    result = run(env, "run", "--rm", *options, "busybox", "sh", "-c", script, check=check)
    return result.returncode, result.stdout.decode(), result.stderr.decode()


def cap_eff(status: str) -> int:
    line = next(line for line in status.splitlines() if line.startswith("CapEff:"))
    return int(line.split()[1], 16)


def test_host_processes_are_invisible(env: dict[str, str]) -> None:
    code, stdout, _ = sh(env, "ps -o pid,comm; true")
    assert code == 0
    rows = [row.split() for row in stdout.splitlines()[1:]]
    assert rows[0] == ["1", "sh"] and [comm for _, comm in rows] == ["sh", "ps"]
    code, stdout, _ = sh(env, "cd /proc && echo [0-9]*")
    assert code == 0 and stdout.split()[0] == "1" and len(stdout.split()) <= 2  # sh (and a passing child)


def test_mounting_is_refused(env: dict[str, str]) -> None:
    code, _, stderr = sh(env, "mount -t tmpfs x /mnt")
    assert code != 0 and "permission denied" in stderr


@pytest.mark.parametrize("path", ["/proc/sys/vm/swappiness", "/sys/kernel/uevent_helper"])
def test_kernel_settings_are_read_only(env: dict[str, str], path: str) -> None:
    code, _, stderr = sh(env, f"echo 1 > {path}")
    assert code != 0 and "Read-only file system" in stderr


def test_sys_is_read_only(env: dict[str, str]) -> None:
    code, _, stderr = sh(env, "touch /sys/pyc-test")
    assert code != 0 and "Read-only file system" in stderr


def test_capabilities_are_dockers_default_set(env: dict[str, str]) -> None:
    code, stdout, _ = sh(env, "cat /proc/self/status")
    assert code == 0 and cap_eff(stdout) == DOCKER_DEFAULT_MASK == 0xA80425FB
    code, stdout, _ = sh(env, "cat /proc/self/status", "--cap-drop", "ALL")
    assert code == 0 and cap_eff(stdout) == 0
    code, stdout, _ = sh(env, "cat /proc/self/status", "--cap-drop", "ALL", "--cap-add", "NET_ADMIN")
    assert code == 0 and cap_eff(stdout) == 1 << 12


def test_read_only_root_with_tmpfs(env: dict[str, str]) -> None:
    code, _, stderr = sh(env, "touch /file", "--read-only", "--tmpfs", "/tmp")
    assert code != 0 and "Read-only file system" in stderr
    code, stdout, _ = sh(env, "echo data > /tmp/file && cat /tmp/file", "--read-only", "--tmpfs", "/tmp")
    assert (code, stdout) == (0, "data\n")


def test_memory_limit_kills_with_oom(env: dict[str, str]) -> None:
    # The shell doubles a string until the cgroup's 16 MiB are gone; the OOM killer takes PID 1.
    result = run(env, "run", "--name", "hog", "--memory", "16m", "busybox", "sh", "-c",
                 "x=a; while true; do x=$x$x; done", check=False)
    assert result.returncode == 137
    state = inspect(env, "hog")["State"]
    assert isinstance(state, dict) and state["OOMKilled"] is True and state["ExitCode"] == 137
    assert inspect(env, "hog")["HostConfig"]["Memory"] == 16 << 20  # type: ignore[index]
    run(env, "rm", "hog")


def test_pids_limit_stops_a_fork_bomb(env: dict[str, str]) -> None:
    # --init: the orphaned sleeps are reaped once they end, which frees their pids.
    run(env, "run", "-d", "--name", "forky", "--init", "--pids-limit", "20", "busybox", "sleep", "1000")
    bomb = run(env, "exec", "forky", "sh", "-c", "for i in $(seq 50); do sleep 2 & done; wait", check=False)
    assert bomb.returncode != 0 and b"can't fork" in bomb.stderr
    assert inspect(env, "forky")["State"]["Running"] is True  # type: ignore[index]
    # Once the sleeps are gone, the container forks again.
    eventually(lambda: run(env, "exec", "forky", "sh", "-c", "true | true", check=False).returncode == 0)
    run(env, "rm", "-f", "forky")
    # A real fork bomb inside `docker run` ends when its PID 1 does, and the limit holds meanwhile.
    code, stdout, _ = sh(env, "b() { b | b & }; b; sleep 1; echo survived", "--pids-limit", "20")
    assert (code, stdout) == (0, "survived\n")


def test_user_nobody(env: dict[str, str]) -> None:
    code, stdout, _ = sh(env, "id -u; id -g", "--user", "nobody")
    assert (code, stdout) == (0, "65534\n65534\n")
    code, stdout, _ = sh(env, "id -u; id -g", "--user", "1234:5678")
    assert (code, stdout) == (0, "1234\n5678\n")


def test_init_is_pid_one_and_reaps_zombies(env: dict[str, str]) -> None:
    # The subshell's `sleep` is orphaned to PID 1; `exec sleep` as PID 1 would never reap it.
    script = "(sleep 0.2 &); exec sleep 1000"
    run(env, "run", "-d", "--name", "reaped", "--init", "busybox", "sh", "-c", script)
    run(env, "run", "-d", "--name", "zombied", "busybox", "sh", "-c", script)

    def states(name: str) -> list[tuple[str, str, str]]:
        lines = out(env, "exec", name, "ps", "-o", "pid,stat,comm").splitlines()[1:]
        return [(pid, stat, comm) for pid, stat, comm in (line.split(None, 2) for line in lines)]

    eventually(lambda: any(stat.startswith("Z") for _, stat, _ in states("zombied")))
    assert states("zombied")[0][2] == "sleep"
    # With --init, PID 1 is docker-init (tini) and the orphan is reaped: gone, not a zombie.
    eventually(lambda: [comm for _, _, comm in states("reaped")] == ["docker-init", "sleep", "ps"],
               show=lambda: repr(states("reaped")))
    assert states("reaped")[0][0] == "1"
    assert "/sbin/docker-init" in out(env, "exec", "reaped", "cat", "/proc/1/cmdline")
    run(env, "rm", "-f", "reaped", "zombied")
