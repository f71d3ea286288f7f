"""Log drivers with the real docker CLI: json-file rotation (max-size, max-file, compress), dockerd's
local driver (protobuf frames, rotated and gzipped by default), none, and dockerd's refusals at create."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from runtime.containers import log_local
from tests.engine_fixture import EngineHandle
from tests.runtime.api.containers_env import (
    docker_env,
    eventually,
    inspect,
    out,
    private_engine,
    remove_all_containers,
)
from tests.runtime.api.containers_env import run as docker

pytestmark = [pytest.mark.root, pytest.mark.timeout(120)]
__all__ = ["docker_env", "private_engine"]
LINES = 300
# 300 numbered lines of 40 bytes: 12 kB of output, several rotations at max-size=2k.
SCRIPT = f"i=1; while [ $i -le {LINES} ]; do printf 'line %05d ........................... \\n' $i; i=$((i+1)); done"


def numbers(text: str) -> list[int]:
    return [int(line.split()[1]) for line in text.splitlines()]


def logged(env: dict[str, str], *options: str) -> tuple[str, str]:
    docker(env, "run", "--name", "talker", *options, "busybox", "sh", "-c", SCRIPT)
    return out(env, "logs", "talker"), str(inspect(env, "talker")["Id"])


@pytest.fixture(autouse=True)
def clean(docker_env: dict[str, str]) -> None:
    remove_all_containers(docker_env)


def bundle_of(engine: EngineHandle, cid: str) -> Path:
    (found,) = [p for p in engine.root.rglob(cid) if p.is_dir() and (p / "hosts").exists()]
    return found


def test_unknown_driver_and_options_are_refused_at_create(docker_env: dict[str, str]) -> None:
    for driver in ("syslog", "journald", "fluentd", "gelf", "awslogs", "nosuch"):
        refused = docker(docker_env, "create", "--log-driver", driver, "busybox", check=False)
        assert refused.returncode == 1, driver
        assert f"logger: no log driver named '{driver}' is registered" in refused.stderr.decode()
    opt = docker(docker_env, "create", "--log-opt", "frobnicate=1", "busybox", check=False)
    assert "unknown log opt 'frobnicate' for json-file log driver" in opt.stderr.decode()
    opt = docker(docker_env, "create", "--log-driver", "local", "--log-opt", "frobnicate=1", "busybox", check=False)
    assert "unknown log opt 'frobnicate' for log driver local" in opt.stderr.decode()
    one = docker(docker_env, "create", "--log-driver", "local", "--log-opt", "max-file=1", "busybox", check=False)
    assert "compression cannot be enabled when max file count is 1" in one.stderr.decode()
    bad = docker(docker_env, "create", "--log-opt", "compress=true", "busybox", check=False)
    assert "compress cannot be true when max-file is less than 2 or max-size is not set" in bad.stderr.decode()
    assert out(docker_env, "ps", "-aq") == ""


def test_json_file_rotation_is_read_in_order(docker_env: dict[str, str]) -> None:
    text, _ = logged(docker_env, "--log-opt", "max-size=2k", "--log-opt", "max-file=3")
    path = Path(str(inspect(docker_env, "talker")["LogPath"]))
    names = sorted(p.name for p in path.parent.glob(path.name + "*"))
    assert names == [path.name, path.name + ".1", path.name + ".2"]
    got = numbers(text)
    assert got == list(range(got[0], LINES + 1)) and 1 < got[0] < LINES - 30
    assert all(p.stat().st_size <= 2000 + 100 for p in path.parent.glob(path.name + "*"))
    assert json.loads(path.read_text().splitlines()[-1])["log"].startswith(f"line {LINES:05d}")


def test_json_file_compress_gzips_rotated_files(docker_env: dict[str, str]) -> None:
    text, _ = logged(docker_env, "--log-opt", "max-size=2k", "--log-opt", "max-file=4", "--log-opt", "compress=true")
    path = Path(str(inspect(docker_env, "talker")["LogPath"]))
    wanted = [path.name, path.name + ".1.gz", path.name + ".2.gz", path.name + ".3.gz"]
    eventually(lambda: sorted(p.name for p in path.parent.glob(path.name + "*")) == wanted)  # gzip in a child
    first = gzip.decompress(path.with_name(path.name + ".3.gz").read_bytes()).decode().splitlines()[0]
    got = numbers(text)
    assert got == list(range(got[0], LINES + 1)) and f"line {got[0]:05d}" in first


def test_local_driver(docker_env: dict[str, str], private_engine: EngineHandle) -> None:
    text, cid = logged(docker_env, "--log-driver", "local")
    assert numbers(text) == list(range(1, LINES + 1))
    assert inspect(docker_env, "talker")["LogPath"] == ""
    assert inspect(docker_env, "talker")["HostConfig"]["LogConfig"] == {"Type": "local", "Config": {}}  # type: ignore[index]
    file = log_local.local_path(bundle_of(private_engine, cid))
    entries, rest = log_local.split(file.read_bytes())
    assert rest == b"" and len(entries) == LINES
    assert entries[0].source == "stdout" and entries[0].line.startswith(b"line 00001") and not entries[0].partial
    tail = out(docker_env, "logs", "--tail", "2", "talker")
    assert numbers(tail) == [LINES - 1, LINES]


def test_local_driver_rotates_and_compresses(docker_env: dict[str, str], private_engine: EngineHandle) -> None:
    text, cid = logged(docker_env, "--log-driver", "local", "--log-opt", "max-size=2k", "--log-opt", "max-file=3")
    file = log_local.local_path(bundle_of(private_engine, cid))
    wanted = ["container.log", "container.log.1.gz", "container.log.2.gz"]
    eventually(lambda: sorted(p.name for p in file.parent.iterdir()) == wanted)
    got = numbers(text)
    assert got == list(range(got[0], LINES + 1)) and got[0] > 1
    follow = docker(docker_env, "logs", "-f", "talker", timeout=20).stdout.decode()
    assert numbers(follow) == got


def test_none_keeps_nothing(docker_env: dict[str, str]) -> None:
    assert docker(docker_env, "run", "--log-driver", "none", "--name", "quiet", "busybox", "echo", "hi").returncode == 0
    refused = docker(docker_env, "logs", "quiet", check=False)
    assert refused.returncode != 0 and "configured logging driver does not support reading" in refused.stderr.decode()


@pytest.mark.parametrize("driver", ["json-file", "local"])
def test_labels_env_and_tag_options_are_attributes(docker_env: dict[str, str], driver: str) -> None:
    docker(docker_env, "run", "--name", "tagged", "--log-driver", driver, "--label", "team=blue", "--label",
           "other=x", "-e", "STAGE=prod", "--log-opt", "labels=team", "--log-opt", "env=STAGE",
           "--log-opt", "tag={{.Name}}/{{.ID}}", "busybox", "echo", "hello")
    cid = str(inspect(docker_env, "tagged")["Id"])
    assert out(docker_env, "logs", "--details", "tagged") == f"STAGE=prod,tag=tagged%2F{cid[:12]},team=blue hello\n"
    assert out(docker_env, "logs", "tagged") == "hello\n"
    if driver == "json-file":
        line = json.loads(Path(str(inspect(docker_env, "tagged")["LogPath"])).read_text())
        assert list(line) == ["log", "stream", "attrs", "time"]
        assert line["attrs"] == {"team": "blue", "STAGE": "prod", "tag": f"tagged/{cid[:12]}"}
    bad = docker(docker_env, "create", "--log-opt", "tag={{.Nope}}", "busybox", check=False)
    assert bad.returncode != 0 and b"Nope" in bad.stderr
