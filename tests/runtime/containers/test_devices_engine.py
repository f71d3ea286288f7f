"""Host devices through the engine and the real docker CLI: Docker's default list, --device,
--device-cgroup-rule, --privileged, and dockerd's messages for bad devices and rules.

The engine picks the mode itself (the v1 devices controller where it is
mounted, else BPF on v2); the test id names the one that ran. Both modes are
exercised on purpose in tests/runtime/containers/test_birth_devices.py.
"""

from __future__ import annotations

import subprocess

import docker as dockerpy
import pytest
from docker.errors import APIError

from runtime.linux import cgroups
from tests.engine_fixture import EngineHandle
from tests.runtime.api.containers_env import docker_env, private_engine
from tests.runtime.api.containers_env import run as docker
from tests.runtime.linux.device_probe import NULL, forbidden, host_block_device, open_line, outcomes, shell_script

pytestmark = [pytest.mark.root, pytest.mark.timeout(120)]
__all__ = ["docker_env", "private_engine"]  # a module's own engine: its cgroup parents go with it
MODE = "v1" if "devices" in cgroups.current_mounts().v1 else "bpf"
EPERM = "dd: can't open '/tmp/{}': Operation not permitted"


def run(env: dict[str, str], script: str, *options: str) -> subprocess.CompletedProcess[str]:
    result = docker(env, "run", "--rm", *options, "busybox", "sh", "-c", script, check=False)
    return subprocess.CompletedProcess(result.args, result.returncode, result.stdout.decode(), result.stderr.decode())


@pytest.mark.parametrize("mode", [MODE])
def test_default_container_cannot_open_host_devices(docker_env: dict[str, str], mode: str) -> None:
    script = "\n".join([shell_script([*forbidden(), NULL]), open_line("zero", "/dev/zero"),
                        open_line("urandom", "/dev/urandom"), open_line("tty", "/dev/tty")])
    result = run(docker_env, script)
    assert result.returncode == 0, result.stderr
    got = outcomes(result.stdout)
    assert got.pop("tty").endswith(("ok", "No such device or address"))  # no controlling terminal: ENXIO
    assert got == {"kmsg": EPERM.format("kmsg"), "block": EPERM.format("block"), "tty0": EPERM.format("tty0"),
                   "null": "ok", "zero": "ok", "urandom": "ok"}, result.stdout


@pytest.mark.parametrize("mode", [MODE])
def test_device_makes_exactly_that_one_usable(docker_env: dict[str, str], mode: str) -> None:
    script = "\n".join([shell_script(forbidden()), "ls -l /dev/kmsg", open_line("devkmsg", "/dev/kmsg", "w")])
    result = run(docker_env, script, "--device", "/dev/kmsg")
    got = outcomes(result.stdout)
    assert got["kmsg"] == "ok" and got["devkmsg"] == "ok", result.stdout
    assert got["block"] == EPERM.format("block") and got["tty0"] == EPERM.format("tty0"), result.stdout
    assert any(line.startswith("crw") and "1,  11" in line for line in result.stdout.splitlines())


@pytest.mark.parametrize("mode", [MODE])
def test_device_with_permissions_and_another_path(docker_env: dict[str, str], mode: str) -> None:
    script = "\n".join(["ls -l /dev/hostlog", open_line("w", "/dev/hostlog", "w"), open_line("r", "/dev/hostlog")])
    result = run(docker_env, script, "--cap-add", "SYSLOG", "--device", "/dev/kmsg:/dev/hostlog:r")
    got = outcomes(result.stdout)
    assert got["r"] == "ok", result.stdout
    assert got["w"] == "dd: can't open '/dev/hostlog': Operation not permitted", result.stdout


@pytest.mark.parametrize("mode", [MODE])
def test_device_cgroup_rule_opens_exactly_its_device(docker_env: dict[str, str], mode: str) -> None:
    block = host_block_device()
    result = run(docker_env, shell_script(forbidden()), "--device-cgroup-rule", f"b {block.major}:{block.minor} r")
    assert outcomes(result.stdout) == {"kmsg": EPERM.format("kmsg"), "block": "ok",
                                       "tty0": EPERM.format("tty0")}, result.stdout


@pytest.mark.parametrize("mode", [MODE])
def test_privileged_opens_every_device(docker_env: dict[str, str], mode: str) -> None:
    result = run(docker_env, shell_script(forbidden()), "--privileged")
    assert outcomes(result.stdout) == {"kmsg": "ok", "block": "ok", "tty0": "ok"}, result.stdout


@pytest.mark.parametrize("mode", [MODE])
def test_exec_is_held_to_the_same_policy(docker_env: dict[str, str], mode: str) -> None:
    name = "pyc-devices-exec"
    docker(docker_env, "run", "-d", "--name", name, "busybox", "sleep", "60")
    try:
        result = docker(docker_env, "exec", name, "sh", "-c", shell_script(forbidden()), check=False)
        assert outcomes(result.stdout.decode()) == {"kmsg": EPERM.format("kmsg"), "block": EPERM.format("block"),
                                                    "tty0": EPERM.format("tty0")}
    finally:
        docker(docker_env, "rm", "-f", name)


def test_a_missing_device_is_dockerds_error(docker_env: dict[str, str]) -> None:
    result = run(docker_env, "true", "--device", "/dev/nope")
    # The CLI's exit code for a "no such file or directory" message, with dockerd too.
    assert result.returncode == 127
    assert ('error gathering device information while adding custom device "/dev/nope": '
            "no such file or directory") in result.stderr
    assert docker(docker_env, "ps", "-aq").stdout.strip() == b""  # nothing half-made


@pytest.mark.parametrize(("host_config", "message"), [
    ({"DeviceCgroupRules": ["c 1:11"]}, "invalid device cgroup rule format: 'c 1:11'"),
    ({"DeviceCgroupRules": ["c 99999999999:1 r"]}, "invalid major value in device cgroup rule format"),
    ({"Devices": [{"PathOnHost": "/dev/null", "PathInContainer": "/dev/n", "CgroupPermissions": "rwx"}]},
     "invalid device mode: rwx"),
    ({"Devices": [{"PathOnHost": "/etc/hostname", "PathInContainer": "/dev/n", "CgroupPermissions": "rwm"}]},
     'custom device "/etc/hostname": not a device node'),
])  # fmt: skip
def test_bad_devices_and_rules_are_400(private_engine: EngineHandle, docker_env: dict[str, str],
                                       host_config: dict[str, object], message: str) -> None:
    client = dockerpy.APIClient(base_url=private_engine.host)
    try:
        with pytest.raises(APIError) as info:
            client.create_container("busybox", "true", host_config=host_config)
        assert info.value.status_code == 400
        assert message in str(info.value.explanation)
    finally:
        client.close()


def test_inspect_keeps_what_was_asked(docker_env: dict[str, str]) -> None:
    name = "pyc-devices-inspect"
    docker(docker_env, "create", "--name", name, "--device", "/dev/null:/dev/mine:r",
           "--device-cgroup-rule", "c 1:11 rw", "busybox", "true")
    try:
        fmt = "{{json .HostConfig.Devices}} {{json .HostConfig.DeviceCgroupRules}}"
        shown = docker(docker_env, "inspect", "--format", fmt, name).stdout.decode().strip()
        assert shown == ('[{"PathOnHost":"/dev/null","PathInContainer":"/dev/mine","CgroupPermissions":"r"}] '
                         '["c 1:11 rw"]')
    finally:
        docker(docker_env, "rm", name)
