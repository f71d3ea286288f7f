"""Real container births under the device policy, through the v1 devices controller and through BPF on v2.

busybox as root with Docker's default capabilities (CAP_MKNOD among them)
makes nodes of host devices in /tmp and opens them: only Docker's default
list opens, plus what --device / --device-cgroup-rule add; privileged opens all.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from runtime.containers.supervisor.birth import birth_once
from runtime.linux import caps, devices
from runtime.linux.cgroups import Cgroup
from runtime.spec import DeviceRule, Resources
from tests.runtime.containers.support import busybox_lower, make_spec, unique_prefix
from tests.runtime.linux.device_probe import (
    KMSG,
    NULL,
    TTY0,
    forbidden,
    host_block_device,
    mounts_for,
    open_line,
    outcomes,
)
from tests.runtime.linux.device_probe import shell_script as script
from tests.runtime.linux.forkrun import run_forked

pytestmark = [pytest.mark.root, pytest.mark.timeout(60)]
MODES = ["v1", "bpf"]
EPERM = "dd: can't open '/tmp/{}': Operation not permitted"


@pytest.fixture(scope="module")
def lower(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return busybox_lower(tmp_path_factory.mktemp("busybox"))


@pytest.fixture(scope="module")
def prefix() -> Any:
    value = unique_prefix()
    yield value
    assert Cgroup.cleanup_prefix(value) == []


def run_with(lower: Path, prefix: str, tmp_path: Path, mode: str, shell: str, privileged: bool = False,
             extra: tuple[DeviceRule, ...] = (), **overrides: Any) -> dict[str, Any]:
    """birth_once of `sh -c shell` in a forked child, the policy going through `mode`: {"code", "output"}."""
    spec = make_spec(tmp_path, lower, ["sh", "-c", shell], prefix, privileged=privileged, **overrides)
    spec = replace(spec, resources=Resources(devices=devices.policy(privileged, extra)))
    mounts = mounts_for(mode)
    out_file = tmp_path / f"out-{spec.id[:8]}"

    def fn() -> dict[str, Any]:
        fd = os.open(out_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        return {"code": birth_once(spec, mounts)}

    result: dict[str, Any] = run_forked(fn)
    result["output"] = out_file.read_text()
    return result


@pytest.mark.parametrize("mode", MODES)
def test_default_container_cannot_open_host_devices(lower: Path, prefix: str, tmp_path: Path, mode: str) -> None:
    shell = script([*forbidden(), NULL]) + "\n" + open_line("zero", "/dev/zero") + "\n" + open_line("full", "/dev/full")
    out = run_with(lower, prefix, tmp_path, mode, shell)
    assert out["code"] == 0, out
    got = outcomes(out["output"])
    assert got == {"kmsg": EPERM.format("kmsg"), "block": EPERM.format("block"), "tty0": EPERM.format("tty0"),
                   "null": "ok", "zero": "ok", "full": "ok"}, out["output"]


@pytest.mark.parametrize("mode", MODES)
def test_a_device_cgroup_rule_opens_exactly_one(lower: Path, prefix: str, tmp_path: Path, mode: str) -> None:
    out = run_with(lower, prefix, tmp_path, mode, script(forbidden()), extra=(devices.parse_rule("c 4:0 r"),))
    got = outcomes(out["output"])
    assert got == {"kmsg": EPERM.format("kmsg"), "block": EPERM.format("block"), "tty0": "ok"}, out["output"]


@pytest.mark.parametrize("mode", MODES)
def test_a_device_node_is_made_and_opens(lower: Path, prefix: str, tmp_path: Path, mode: str) -> None:
    nodes, rules = devices.from_host_path("/dev/kmsg", "/dev/hostlog", "w")
    shell = "\n".join([script([host_block_device(), TTY0]), "ls -l /dev/hostlog",
                       open_line("hostlog", "/dev/hostlog", "w")])
    out = run_with(lower, prefix, tmp_path, mode, shell, extra=tuple(rules), devices=tuple(nodes))
    got = outcomes(out["output"])
    assert got["block"] == EPERM.format("block") and got["tty0"] == EPERM.format("tty0"), out["output"]
    assert got["hostlog"] == "ok", out["output"]
    listing = next(line for line in out["output"].splitlines() if line.endswith("/dev/hostlog"))
    assert listing.startswith("c") and "1,  11" in listing, listing


@pytest.mark.parametrize("mode", MODES)
def test_privileged_opens_every_device(lower: Path, prefix: str, tmp_path: Path, mode: str) -> None:
    out = run_with(lower, prefix, tmp_path, mode, script(forbidden()), privileged=True, seccomp=False,
                   capabilities=tuple(caps.ALL_CAPS), masked_paths=(), readonly_paths=())
    assert outcomes(out["output"]) == {"kmsg": "ok", "block": "ok", "tty0": "ok"}, out["output"]


def test_probes_are_what_the_task_names() -> None:
    assert (KMSG.major, KMSG.minor, TTY0.major, TTY0.minor) == (1, 11, 4, 0)
