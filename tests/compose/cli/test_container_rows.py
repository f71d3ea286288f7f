"""`docker ps` rows, port display, log times, prune report."""

from __future__ import annotations

from datetime import UTC, datetime

import click
import pytest

from compose.cli import tables
from compose.cli.container_rows import (
    PS,
    container_rows,
    displayable_ports,
    go_quote,
    parse_timestamp,
    prune_report,
)

SUMMARY = {
    "Id": "f" * 64, "Names": ["/web", "/other/alias"], "Image": "busybox", "ImageID": "sha256:" + "a" * 64,
    "Command": "sh -c 'sleep 1000 && echo done'", "Created": 1000, "State": "running", "Status": "Up 2 minutes",
    "Ports": [{"PrivatePort": 80, "PublicPort": 8080, "Type": "tcp", "IP": "0.0.0.0"}],
    "Labels": {"b": "2", "a": "1"}, "SizeRw": 12, "SizeRootFs": 2_000_000,
    "NetworkSettings": {"Networks": {"none": {}}}, "Mounts": [{"Name": "", "Source": "/a/very/long/source/path",
                                                              "Driver": ""}],
}


def test_row_fields_and_table() -> None:
    (row,) = container_rows([SUMMARY], now=1120)
    assert row["ID"] == "f" * 12 and row["Names"] == "web" and row["RunningFor"] == "2 minutes ago"
    assert row["Command"] == '"sh -c \'sleep 1000 &…"'
    assert row["Ports"] == "0.0.0.0:8080->80/tcp" and row["Labels"] == "a=1,b=2"
    assert row["Size"] == "12B (virtual 2MB)" and row["Networks"] == "none" and row["LocalVolumes"] == "0"
    assert row["Mounts"] == "/a/very/long/s…"
    (full,) = container_rows([SUMMARY], no_trunc=True, now=1120)
    assert full["Names"] == "web,other/alias" and full["ID"] == "f" * 64
    lines = tables.render([row], PS).splitlines()
    assert lines[0].split() == ["CONTAINER", "ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"]
    assert lines[1].startswith("ffffffffffff   busybox   \"sh -c 'sleep 1000 &…\"   2 minutes ago   Up 2 minutes")


def test_displayable_ports_like_docker() -> None:
    ports = [
        {"PrivatePort": 81, "Type": "tcp"}, {"PrivatePort": 80, "Type": "tcp"}, {"PrivatePort": 53, "Type": "udp"},
        {"PrivatePort": 443, "PublicPort": 443, "Type": "tcp", "IP": "0.0.0.0"},
        {"PrivatePort": 22, "PublicPort": 2222, "Type": "tcp", "IP": "::"},
    ]
    assert displayable_ports(ports) == "53/udp, 80-81/tcp, 0.0.0.0:443->443/tcp, [::]:2222->22/tcp"
    assert displayable_ports([]) == ""


def test_go_quote() -> None:
    assert go_quote('echo "a"\tb\n') == '"echo \\"a\\"\\tb\\n"'


def test_parse_timestamp() -> None:
    assert parse_timestamp("1700000000", "--since") == 1700000000
    assert parse_timestamp("1700000000.9", "--since") == 1700000000
    assert parse_timestamp("10m", "--since", now=1000) == 400
    assert parse_timestamp("1h30m", "--since", now=10000) == 4600
    stamp = int(datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC).timestamp())
    assert parse_timestamp("2024-01-02T03:04:05Z", "--since") == stamp
    with pytest.raises(click.BadParameter):
        parse_timestamp("yesterday", "--since")


def test_prune_report() -> None:
    assert prune_report({"ContainersDeleted": None, "SpaceReclaimed": 0}) == "Total reclaimed space: 0B\n"
    assert prune_report({"ContainersDeleted": ["a", "b"], "SpaceReclaimed": 1500}) == \
        "Deleted Containers:\na\nb\n\nTotal reclaimed space: 1.5kB\n"
