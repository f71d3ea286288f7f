"""docker-py against a private engine: stats (one-shot and streamed), update, exec with a TTY, exec exit codes."""

from __future__ import annotations

import itertools
from typing import Any

import docker as docker_py
import pytest

from tests.runtime.api.containers_env import docker_env, docker_py_client, eventually, private_engine

pytestmark = [pytest.mark.root, pytest.mark.timeout(120)]
__all__ = ["docker_env", "docker_py_client", "private_engine"]


def test_stats_one_shot_and_streamed_in_dockers_shape(client: Any) -> None:
    container = client.containers.run("busybox", ["sleep", "1000"], detach=True, mem_limit="64m")
    one = container.stats(stream=False)
    assert one["id"] == container.id and one["name"] == "/" + container.name
    assert one["preread"] != "0001-01-01T00:00:00Z"  # primed a second earlier, as dockerd
    cpu, pre = one["cpu_stats"], one["precpu_stats"]
    assert cpu["online_cpus"] >= 1 and cpu["system_cpu_usage"] > pre["system_cpu_usage"] > 0
    assert cpu["cpu_usage"]["total_usage"] >= pre["cpu_usage"]["total_usage"] > 0
    assert set(cpu["throttling_data"]) == {"periods", "throttled_periods", "throttled_time"}
    memory = one["memory_stats"]
    assert memory["limit"] == 64 * 2**20 and 0 < memory["usage"] < 64 * 2**20 and isinstance(memory["stats"], dict)
    assert one["pids_stats"]["current"] == 1
    assert set(one["networks"]) == {"eth0"} and one["networks"]["eth0"]["rx_bytes"] >= 0
    assert "io_service_bytes_recursive" in one["blkio_stats"] and one["num_procs"] == 0
    quick = client.api.stats(container.id, stream=False, one_shot=True)
    assert quick["preread"] == "0001-01-01T00:00:00Z" and quick["memory_stats"]["usage"] > 0
    frames = list(itertools.islice(container.stats(decode=True), 2))
    assert frames[0]["precpu_stats"]["cpu_usage"]["total_usage"] == 0
    assert frames[1]["preread"] == frames[0]["read"]
    assert frames[1]["precpu_stats"]["system_cpu_usage"] == frames[0]["cpu_stats"]["system_cpu_usage"]
    container.stop(timeout=0)
    stopped = container.stats(stream=False)
    assert stopped["read"] == "0001-01-01T00:00:00Z" and stopped["memory_stats"] == {}


def update_raw(client: Any, cid: str, body: dict[str, Any]) -> Any:
    """docker-py's update() has no pids_limit: the same call with the raw body."""
    answer = client.api._post_json(client.api._url("/containers/{0}/update", cid), data=body)
    return client.api._result(answer, True)


def test_update_applies_and_is_stored(client: Any) -> None:
    container = client.containers.run("busybox", ["sleep", "1000"], detach=True)
    assert container.update(mem_limit="32m", memswap_limit="64m", cpu_shares=512) == {"Warnings": []}
    update_raw(client, container.id, {"PidsLimit": 20})
    container.reload()
    hc = container.attrs["HostConfig"]
    assert (hc["Memory"], hc["MemorySwap"], hc["CpuShares"], hc["PidsLimit"]) == (32 * 2**20, 64 * 2**20, 512, 20)
    assert container.stats(stream=False, one_shot=True)["memory_stats"]["limit"] == 32 * 2**20
    assert container.stats(stream=False, one_shot=True)["pids_stats"]["limit"] == 20
    with pytest.raises(docker_py.errors.APIError) as small:
        container.update(mem_limit="1m", memswap_limit="64m")
    assert "Minimum memory limit allowed is 6MB" in str(small.value)
    container.update(restart_policy={"Name": "always"})
    container.reload()
    assert container.attrs["HostConfig"]["RestartPolicy"]["Name"] == "always"
    update_raw(client, container.id, {"PidsLimit": -1})
    assert "limit" not in container.stats(stream=False, one_shot=True)["pids_stats"]


def test_exec_with_a_tty_sees_its_first_line(client: Any) -> None:
    container = client.containers.run("busybox", ["sleep", "1000"], detach=True)
    for _ in range(20):
        result = container.exec_run(["echo", "first"], tty=True)
        assert (result.exit_code, result.output) == (0, b"first\r\n")
    result = container.exec_run(["sh", "-c", "echo one; echo two"], tty=True)
    assert result.output == b"one\r\ntwo\r\n"


def test_exec_exit_codes_126_and_127(client: Any) -> None:
    container = client.containers.run("busybox", ["sleep", "1000"], detach=True)
    container.exec_run(["sh", "-c", "printf 'no shebang' > /notbin; chmod +x /notbin; printf x > /plain"])
    assert container.exec_run(["/etc/passwd"]).exit_code == 126  # exists, not executable
    assert container.exec_run(["/plain"]).exit_code == 126
    assert container.exec_run(["/notbin"]).exit_code == 126  # executable bit, no format the kernel runs
    assert container.exec_run(["/etc"]).exit_code == 126  # a directory
    assert container.exec_run(["/no/such"]).exit_code == 127
    assert container.exec_run(["no-such-command"]).exit_code == 127
    eventually(lambda: container.exec_run(["true"]).exit_code == 0)
