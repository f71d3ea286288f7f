"""Range checks at load (ports, durations, sizes, cpus, ulimits) and bounded text reads."""

from __future__ import annotations

import math
import os
import textwrap
from pathlib import Path
from typing import Any

import pytest

from compose.errors import ComposeFileError
from compose.loader import value_ranges
from compose.loader.marks import MDict
from compose.loader.service_values import convert_values
from compose.loader.textfile import read_text
from compose.loader.yamlfile import parse_yaml


def convert(service: str) -> Any:
    text = "services:\n  web:\n" + textwrap.indent(textwrap.dedent(service), "    ")
    doc = parse_yaml(text, "c.yaml")
    assert isinstance(doc, MDict)
    return convert_values(doc)["services"]["web"]


def error_of(service: str) -> str:
    with pytest.raises(ComposeFileError) as info:
        convert(service)
    return str(info.value)


@pytest.mark.parametrize("service, expected", [
    ("stop_grace_period: 90s\n", ("stop_grace_period", "1m30s")),
    ("cpus: 1.5\n", ("cpus", 1.5)),
    ("cpus: 0\n", ("cpus", 0)),
    ("memswap_limit: -1\n", ("memswap_limit", -1)),
    ("mem_swappiness: 0\n", ("mem_swappiness", 0)),
    ("shm_size: 64m\n", ("shm_size", 64 << 20)),
    ("ulimits: {memlock: {soft: -1, hard: -1}}\n", ("ulimits", {"memlock": {"soft": -1, "hard": -1}})),
    ("ulimits: {nofile: {soft: 1024, hard: -1}}\n", ("ulimits", {"nofile": {"soft": 1024, "hard": -1}})),
    ("ports: [{target: 65535, published: '0-65535'}]\n", ("ports", [{"target": 65535, "published": "0-65535"}])),
    ("ports: [{target: 80, published: '${PORT}'}]\n", ("ports", [{"target": 80, "published": "${PORT}"}])),
    ("healthcheck: {retries: 0, interval: 0s}\n", ("healthcheck", {"retries": 0, "interval": "0s"})),
])
def test_values_in_range_pass(service: str, expected: tuple[str, Any]) -> None:
    key, value = expected
    assert convert(service)[key] == value


@pytest.mark.parametrize("service, message", [
    ("ports: [{target: 99999999999999999999}]\n",
     "c.yaml:3:14: services.web.ports[0].target: invalid containerPort: 99999999999999999999 "
     "(value out of range 0-65535)"),
    ("ports: [{target: 80, published: 65536}]\n", "ports[0].published: invalid hostPort: 65536"),
    ("ports: [{target: 80, published: '80-99999'}]\n", "invalid hostPort: 80-99999"),
    ("cpus: .nan\n", "c.yaml:3:5: services.web.cpus: invalid cpus 'NaN': cpus must be a non-negative number"),
    ("cpus: -.inf\n", "invalid cpus '-Inf'"),
    ("cpus: -0.5\n", "invalid cpus '-0.5'"),
    ("cpus: 1e400\n", "invalid cpus '+Inf'"),
    ("stop_grace_period: -1s\n",
     "services.web.stop_grace_period: invalid duration '-1s': a duration cannot be negative"),
    ("stop_grace_period: 3000000h\n", 'time: invalid duration "3000000h"'),
    ("healthcheck: {start_period: -1ms}\n", "healthcheck.start_period: invalid duration '-1ms'"),
    ("healthcheck: {retries: -2}\n", "healthcheck.retries: Retries in Healthcheck cannot be negative"),
    ("mem_limit: -5\n", "a size cannot be negative"),
    ("mem_limit: .nan\n", "a size must be a finite number"),
    ("mem_reservation: 99999999999999999999999\n", "value out of range"),
    ("memswap_limit: -2\n", "or -1 for unlimited swap"),
    ("mem_swappiness: 101\n", "valid memory swappiness range is 0-100"),
    ("ulimits: {nofile: {soft: 2, hard: 1}}\n", "c.yaml:3:24: services.web.ulimits.nofile: ulimit soft limit must "
     "be less than or equal to hard limit: 2 > 1"),
    ("ulimits: {nofile: {soft: -1, hard: 100}}\n", "soft limit must be less than or equal to hard limit: -1 > 100"),
    ("ulimits: {nofile: {soft: 1, hard: -7}}\n", "services.web.ulimits.nofile.hard: invalid ulimit value -7"),
    ("ulimits: {nproc: 99999999999999999999}\n", "invalid ulimit value 99999999999999999999"),
])
def test_values_out_of_range_are_refused(service: str, message: str) -> None:
    assert message in error_of(service)


def test_cpus_of_every_kind() -> None:
    assert value_ranges.cpus("2") == 2
    for bad in ("nan", "inf", -1, math.nan):
        with pytest.raises(ValueError):
            value_ranges.cpus(bad)


def test_read_text_bounds(tmp_path: Path) -> None:
    small = tmp_path / "a.env"
    small.write_bytes(b"\xef\xbb\xbfA=1\n")
    assert read_text(small, "a.env", "env file", 100) == "A=1\n"
    with pytest.raises(ComposeFileError, match=r"^env file a.env is larger than 5 bytes"):
        read_text(small, "a.env", "env file", 5)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(ComposeFileError, match=r"^env file fifo is not a regular file$"):
        read_text(fifo, "fifo", "env file", 100)
    with pytest.raises(ComposeFileError, match="is a directory"):
        read_text(tmp_path, "dir", "env file", 100)
    with pytest.raises(ComposeFileError, match=r"^env file not found: nope$"):
        read_text(tmp_path / "nope", "nope", "env file", 100)
    (tmp_path / "b.env").write_bytes(b"A=1\nB=\xc3\n")
    with pytest.raises(ComposeFileError, match=r"^b.env:2:3: env file is not valid UTF-8 text$"):
        read_text(tmp_path / "b.env", "b.env", "env file", 100)
    (tmp_path / "c.env").write_bytes("A=é\nBé=\0\n".encode())
    with pytest.raises(ComposeFileError, match=r"^c.env:2:4: env file is not text: it contains a NUL byte$"):
        read_text(tmp_path / "c.env", "c.env", "env file", 100)
