"""`docker update`'s rules over the stored HostConfig (pure), and `GET /system/df`'s sums."""

from __future__ import annotations

from typing import Any

import pytest

from runtime.api.routes_stats import disk_usage
from runtime.containers.records import Record
from runtime.containers.update import merged
from runtime.errors import EngineError

CID = "c" * 64


def record(**host_config: Any) -> Record:
    hc = {"Memory": 0, "MemorySwap": 0, "NanoCpus": 0, "CpuQuota": 0, "CpuPeriod": 0, "PidsLimit": None,
          "RestartPolicy": {"Name": "no", "MaximumRetryCount": 0}, "AutoRemove": False, **host_config}
    return Record(id=CID, name="x", created="", image_id="", image_name="", config={}, host_config=hc, spec={})


def refused(rec: Record, body: dict[str, Any]) -> str:
    with pytest.raises(EngineError) as failed:
        merged(rec, body)
    assert failed.value.status == 400
    return str(failed.value)


def test_zero_leaves_a_value_and_memory_gets_swap_as_create_gives_it() -> None:
    hc = merged(record(CpuShares=512), {"Memory": 2**25, "CpuShares": 0})
    assert (hc["Memory"], hc["MemorySwap"], hc["CpuShares"]) == (2**25, 2**26, 512)


def test_memory_over_the_stored_swap_needs_a_new_swap() -> None:
    message = refused(record(Memory=2**24, MemorySwap=2**25), {"Memory": 2**26})
    assert message.endswith(f"Cannot update container {CID}: Memory limit should be smaller than already set "
                            "memoryswap limit, update the memoryswap at the same time")
    assert merged(record(Memory=2**24, MemorySwap=2**25), {"Memory": 2**26, "MemorySwap": 2**27})["Memory"] == 2**26


def test_nano_cpus_and_quota_exclude_each_other_across_updates() -> None:
    assert "CPU Quota cannot be updated as NanoCPUs has already been set" in refused(
        record(NanoCpus=10**9), {"CpuQuota": 50000})
    assert "CPU Period cannot be updated as NanoCPUs has already been set" in refused(
        record(CpuPeriod=100000), {"NanoCpus": 10**9})


def test_pids_restart_policy_and_blkio_weight() -> None:
    assert merged(record(PidsLimit=20), {"PidsLimit": -1})["PidsLimit"] == 0
    assert merged(record(), {"RestartPolicy": {"Name": "on-failure", "MaximumRetryCount": 2}})["RestartPolicy"] == {
        "Name": "on-failure", "MaximumRetryCount": 2}
    assert "AutoRemove is enabled" in refused(record(AutoRemove=True), {"RestartPolicy": {"Name": "always"}})
    assert "Range of blkio weight is from 10 to 1000" in refused(record(), {"BlkioWeight": 5})
    assert "Devices cannot be updated" in refused(record(), {"Devices": [{"PathOnHost": "/dev/null"}]})


def test_cpusets_are_checked() -> None:
    assert merged(record(), {"CpusetCpus": "0", "CpusetMems": "0"})["CpusetCpus"] == "0"
    assert "Invalid value a-b for cpuset cpus" in refused(record(), {"CpusetCpus": "a-b"})
    assert "Requested CPUs are not available - requested 0-999" in refused(record(), {"CpusetCpus": "0-999"})


def test_disk_usage_counts_shared_layers_once() -> None:
    images = [{"Id": "a", "Size": 30}, {"Id": "b", "Size": 50}]
    layers = {"a": [("l1", 10), ("l2", 20)], "b": [("l1", 10), ("l3", 40)]}
    usage = disk_usage(images, layers, [{"ImageID": "a", "SizeRw": 1}], [{"Name": "v", "UsageData": {"Size": 3}}])
    assert usage["LayersSize"] == 70 and usage["BuildCache"] == []
    assert [(i["Id"], i["SharedSize"], i["Containers"]) for i in usage["Images"]] == [("a", 10, 1), ("b", 10, 0)]
