"""`stats` rows from `GET /containers/{id}/stats` JSON: the docker CLI's arithmetic and units."""

from __future__ import annotations

from compose.cli.stats import bytes_size, cpu_percent, stats_row

SAMPLE = {
    "cpu_stats": {"cpu_usage": {"total_usage": 300_000_000}, "system_cpu_usage": 2_000_000_000, "online_cpus": 2},
    "precpu_stats": {"cpu_usage": {"total_usage": 100_000_000}, "system_cpu_usage": 1_000_000_000},
    "memory_stats": {"usage": 3 * 1024 * 1024, "limit": 1024 * 1024 * 1024, "stats": {"inactive_file": 1024 * 1024}},
    "networks": {"eth0": {"rx_bytes": 1500, "tx_bytes": 250}, "eth1": {"rx_bytes": 500, "tx_bytes": 0}},
    "blkio_stats": {"io_service_bytes_recursive": [{"op": "read", "value": 4096}, {"op": "write", "value": 0},
                                                   {"op": "Read", "value": 4096}]},
    "pids_stats": {"current": 3},
}


def test_row_fields_and_units() -> None:
    row = stats_row(SAMPLE, "a" * 64, "/p-web-1")
    assert row == {"ID": "a" * 12, "Container": "a" * 12, "Name": "p-web-1", "CPUPerc": "40.00%",
                   "MemUsage": "2MiB / 1GiB", "MemPerc": "0.20%", "NetIO": "2kB / 250B", "BlockIO": "8.19kB / 0B",
                   "PIDs": "3"}


def test_no_previous_sample_and_sizes() -> None:
    assert cpu_percent({"cpu_stats": {}, "precpu_stats": {}}) == 0.0
    assert stats_row({}, "b" * 64, "x")["MemPerc"] == "0.00%"
    assert bytes_size(0) == "0B" and bytes_size(1536) == "1.5KiB" and bytes_size(10 * 1024**3) == "10GiB"
