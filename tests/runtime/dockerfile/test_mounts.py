"""RUN --mount values: every type and key, defaults, and the values the builder expands later."""

from __future__ import annotations

import functools

import pytest

from runtime.dockerfile import instructions as ins
from runtime.dockerfile.mounts import parse_mount, ram_in_bytes
from runtime.dockerfile.parser import parse
from runtime.dockerfile.words import expand


def identity(value: str) -> str:
    return value


def test_defaults_per_type() -> None:
    assert parse_mount("target=/x", identity) == ins.RunMount(type="bind", target="/x", raw="target=/x")
    cache = parse_mount("type=cache,target=/c,id=pip,sharing=locked,mode=0700,uid=1000,gid=1000", identity)
    assert (cache.rw, cache.id, cache.sharing, cache.mode, cache.uid, cache.gid) == (
        True, "pip", "locked", 0o700, 1000, 1000)
    tmpfs = parse_mount("type=tmpfs,dst=/t,size=64m", identity)
    assert (tmpfs.rw, tmpfs.target, tmpfs.size) == (True, "/t", 64 * 1024 * 1024)
    secret = parse_mount("type=secret,id=aws,target=/root/.aws/credentials,required=true", identity)
    assert (secret.rw, secret.required, secret.target) == (False, True, "/root/.aws/credentials")
    ssh = parse_mount("type=ssh", identity)
    assert ssh.type == "ssh" and not ssh.rw


def test_read_write_keys_and_csv_quotes() -> None:
    assert parse_mount("type=bind,source=a,target=/b,rw", identity).rw
    assert parse_mount("type=bind,source=a,target=/b,readwrite=true", identity).rw
    assert not parse_mount("type=cache,target=/c,ro", identity).rw
    assert parse_mount('type=bind,"source=a,b",target=/c', identity).source == "a,b"


def test_values_with_dollar_are_expanded_by_the_builder() -> None:
    (stage,) = parse("FROM a\nRUN --mount=type=cache,target=$DIR,uid=$UID true\n").stages
    run = stage.instructions[0]
    assert isinstance(run, ins.Run)
    (mount,) = run.mounts
    assert mount.raw == "type=cache,target=$DIR,uid=$UID"
    again = parse_mount(mount.raw, functools.partial(expand, env={"DIR": "/cache", "UID": "42"}))
    assert (again.type, again.target, again.uid) == ("cache", "/cache", 42)


def test_ram_in_bytes() -> None:
    assert [ram_in_bytes(t) for t in ("100", "1k", "1KiB", "2M", "1.5g", "1 GB")] == [
        100, 1024, 1024, 2 * 1024**2, int(1.5 * 1024**3), 1024**3]
    with pytest.raises(ValueError):
        ram_in_bytes("1x")
