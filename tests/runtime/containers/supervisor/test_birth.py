"""Whole container births without the supervisor (`birth_once`), each in a forked single-threaded child."""

from __future__ import annotations

import os
import stat
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from runtime.containers.supervisor.birth import birth_once
from runtime.containers.supervisor.process_setup import RuntimeFailure
from runtime.linux import caps
from runtime.linux.cgroups import Cgroup
from runtime.spec import ContainerSpec, Mount
from tests.runtime.containers.support import busybox_lower, make_spec, unique_prefix
from tests.runtime.linux.forkrun import run_forked

pytestmark = [pytest.mark.root, pytest.mark.timeout(60)]


@pytest.fixture(scope="module")
def lower(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return busybox_lower(tmp_path_factory.mktemp("busybox"))


@pytest.fixture(scope="module")
def prefix() -> Any:
    value = unique_prefix()
    yield value
    assert Cgroup.cleanup_prefix(value) == []


def run_birth(spec: ContainerSpec, tmp_path: Path) -> dict[str, Any]:
    """birth_once in a forked child: {"code", "output"} or {"error", "phase", "exit_code"}."""
    out_file = tmp_path / f"out-{spec.id[:8]}"

    def fn() -> dict[str, Any]:
        fd = os.open(out_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        try:
            return {"code": birth_once(spec)}
        except RuntimeFailure as exc:
            return {"error": exc.message, "phase": exc.phase, "exit_code": exc.exit_code}

    result: dict[str, Any] = run_forked(fn)
    result["output"] = out_file.read_text()
    return result


def test_echo_and_exit_code(lower: Path, prefix: str, tmp_path: Path) -> None:
    spec = make_spec(tmp_path, lower, ["sh", "-c", "echo hi; exit 7"], prefix)
    assert run_birth(spec, tmp_path) == {"code": 7, "output": "hi\n"}


def test_pid_1_hostname_and_no_host_processes(lower: Path, prefix: str, tmp_path: Path) -> None:
    spec = make_spec(tmp_path, lower, ["sh", "-c", "echo $$; hostname; ps -o pid= | wc -l"], prefix,
                     hostname="box1")
    out = run_birth(spec, tmp_path)
    assert out["code"] == 0
    assert out["output"].split() == ["1", "box1", "3"]  # sh, ps, wc


def test_a_missing_command_is_a_create_error_with_docker_exit_code(lower: Path, prefix: str, tmp_path: Path) -> None:
    spec = make_spec(tmp_path, lower, ["no-such-command"], prefix)
    out = run_birth(spec, tmp_path)
    assert out["phase"] == "exec"
    assert out["exit_code"] == 127
    assert out["error"] == 'exec: "no-such-command": executable file not found in $PATH'


def test_a_failing_mount_names_its_phase(lower: Path, prefix: str, tmp_path: Path) -> None:
    spec = make_spec(tmp_path, lower, ["true"], prefix)
    spec = replace(spec, mounts=(*spec.mounts, Mount("/data", "bind", str(tmp_path / "missing"), ("rbind",))))
    out = run_birth(spec, tmp_path)
    assert out["phase"] == "mounts"
    assert "missing" in out["error"]


def test_init_runs_first_with_double_dash(lower: Path, prefix: str, tmp_path: Path) -> None:
    init = tmp_path / "fake-init"
    init.write_text('#!/bin/sh\necho "init:$1"\nshift\nexec "$@"\n')
    init.chmod(0o755)
    spec = make_spec(tmp_path, lower, ["echo", "child"], prefix, init=str(init))
    spec = replace(spec, mounts=(*spec.mounts, Mount("/sbin/docker-init", "bind", str(init), ("bind", "ro"))))
    out = run_birth(spec, tmp_path)
    assert out == {"code": 0, "output": "init:--\nchild\n"}


def test_signals_are_default_in_the_container(lower: Path, prefix: str, tmp_path: Path) -> None:
    # Python ignores SIGPIPE; the container's processes must not inherit that (SigIgn all zero).
    spec = make_spec(tmp_path, lower, ["grep", "-E", "^Sig(Ign|Blk)", "/proc/self/status"], prefix)
    out = run_birth(spec, tmp_path)
    assert out["code"] == 0
    assert out["output"].split() == ["SigBlk:", "0000000000000000", "SigIgn:", "0000000000000000"]


def test_cgroup_namespace_shows_the_container_cgroup_as_root(lower: Path, prefix: str, tmp_path: Path) -> None:
    spec = make_spec(tmp_path, lower, ["cat", "/proc/self/cgroup"], prefix)
    out = run_birth(spec, tmp_path)
    assert out["code"] == 0
    lines = out["output"].split()
    assert lines and all(line.endswith(":/") for line in lines), lines


def test_no_mount_reaches_the_host(lower: Path, prefix: str, tmp_path: Path) -> None:
    spec = make_spec(tmp_path, lower, ["true"], prefix)
    assert run_birth(spec, tmp_path)["code"] == 0
    with open("/proc/self/mountinfo") as f:
        assert str(tmp_path) not in f.read()


def test_host_network_sees_the_host_interfaces(lower: Path, prefix: str, tmp_path: Path) -> None:
    # No network namespace: sysfs cannot be mounted, the host's /sys is bound read-only instead.
    spec = make_spec(tmp_path, lower, ["ls", "/sys/class/net"], prefix,
                     namespaces=("mnt", "uts", "ipc", "pid", "cgroup"))
    out = run_birth(spec, tmp_path)
    assert out["code"] == 0
    assert sorted(out["output"].split()) == sorted(os.listdir("/sys/class/net"))


def test_privileged_gets_every_cap_and_host_devices(lower: Path, prefix: str, tmp_path: Path) -> None:
    spec = make_spec(tmp_path, lower, ["sh", "-c", "grep CapBnd /proc/self/status; ls /dev"], prefix,
                     privileged=True, seccomp=False, capabilities=tuple(caps.ALL_CAPS), masked_paths=(),
                     readonly_paths=())
    out = run_birth(spec, tmp_path)
    assert out["code"] == 0
    words = out["output"].split()
    with open("/proc/self/status") as f:
        ours = int(f.read().split("CapBnd:")[1].split()[0], 16)
    assert int(words[1], 16) == ours  # everything this machine lets us hold
    host_block = [n for n in os.listdir("/dev") if stat.S_ISBLK(os.lstat(f"/dev/{n}").st_mode)]
    assert "null" in words and set(host_block) <= set(words)
