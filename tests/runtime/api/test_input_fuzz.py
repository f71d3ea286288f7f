"""Fuzzing the create bodies (container, network, volume, exec) against a private engine.

Each example takes a valid body and sets one field (of the operation's Go
type, as the decoder's table has it) to a value of some JSON kind: a wrong
type, a huge or fractional number, NaN/Infinity, a deep nesting, a NUL byte,
null. The engine must answer 400 or succeed, never 500; when the value's
kind cannot be the field's type, exactly 400, and nothing named after the
example exists afterwards. What succeeds is removed at once.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runtime.api import typed
from runtime.api.decode import Decoder
from tests.engine_fixture import EngineHandle
from tests.runtime.api.containers_env import private_engine
from tests.runtime.api.rawapi import RawClient, import_busybox

__all__ = ["private_engine"]
pytestmark = [pytest.mark.root, pytest.mark.timeout(900)]

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow],
                derandomize=True, database=None)
RAW = "\x00raw\x00"  # stands for a token JSON cannot say (NaN, 1e30, a deep nesting), put in after dumping

# (JSON kind, value): the kinds match typed.kind_of; "raw" values replace RAW in the body's text.
VALUES = st.one_of(
    st.sampled_from([("string", "false"), ("string", ""), ("string", "x"), ("string", "1"),
                     ("string", "a\x00b"), ("bool", True), ("bool", False), ("null", None),
                     ("number", -1), ("number", 0), ("number", 2**63), ("number", -(2**64)), ("number", 10**30),
                     ("array", []), ("array", ["x"]), ("array", [1]), ("object", {}), ("object", {"a": 1}),
                     ("object", {"a": "b"})]),
    st.sampled_from(["NaN", "Infinity", "-Infinity", "1e30", "1e400", "1.5", "-0.0", "[" * 100_000,
                     '{"a":' * 50_000]).map(lambda token: ("raw", token)),
    st.integers(min_value=-(2**70), max_value=2**70).map(lambda n: ("number", n)),
)

_COUNTER = itertools.count()


def fields_of(of: typed.Type, prefix: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], typed.Type]]:
    """Every field path of a struct type, one level into nested structs (HostConfig's fields too)."""
    if isinstance(of, typed.Ref):
        of = of.table[of.name]
    assert isinstance(of, typed.Struct)
    out = []
    for key, (name, sub) in of.fields.items():
        if key != name:
            continue
        out.append(((*prefix, name), sub))
        target = sub.table[sub.name] if isinstance(sub, typed.Ref) else sub
        if isinstance(target, typed.Struct) and not prefix:
            out += fields_of(target, (name,))
    return out


def cannot_be(of: typed.Type, kind: str, value: Any) -> bool:
    """True when a value of this JSON kind can never decode into `of` (a sure 400)."""
    if isinstance(of, typed.Ref):
        of = of.table[of.name]
    if kind == "raw":  # NaN, Infinity, 1e400 and deep nestings are never JSON Go takes
        return value not in ("1e30", "1.5", "-0.0") or not isinstance(of, typed.Float | typed.Any_)
    if kind == "null" or isinstance(of, typed.Any_):
        return False
    if isinstance(value, str) and "\x00" in value and isinstance(of, typed.String | typed.StrSlice):
        return True
    accepts = {typed.Bool: {"bool"}, typed.String: {"string"}, typed.Int: {"number"}, typed.Float: {"number"},
               typed.StrSlice: {"string", "array"}, typed.Slice: {"array"}, typed.Array: {"array"},
               typed.Map: {"object"}, typed.Struct: {"object"}}
    for cls, kinds in accepts.items():
        if isinstance(of, cls):
            if kind not in kinds:
                return True
            if isinstance(of, typed.Int) and isinstance(value, int):
                return not of.low <= value <= of.high
            return False
    return False


def body_with(base: dict[str, Any], path: tuple[str, ...], kind: str, value: Any) -> bytes:
    body = json.loads(json.dumps(base))
    target = body
    for name in path[:-1]:
        target = target.setdefault(name, {})
    target[path[-1]] = RAW if kind == "raw" else value
    text = json.dumps(body)
    return (text.replace(json.dumps(RAW), value) if kind == "raw" else text).encode()


@pytest.fixture(scope="module")
def api(private_engine: EngineHandle) -> Iterator[RawClient]:
    client = RawClient(private_engine.socket)
    yield client
    client.close()


@pytest.fixture(scope="module")
def busybox(api: RawClient, tmp_path_factory: pytest.TempPathFactory) -> str:
    return import_busybox(api, tmp_path_factory.mktemp("busybox"))


@pytest.fixture(scope="module")
def decoder() -> Decoder:
    return Decoder.load()


def struct(decoder: Decoder, method: str, pattern: str) -> list[tuple[tuple[str, ...], typed.Type]]:
    body = decoder.operation(method, pattern).body
    assert body is not None
    return fields_of(body)


class Tally:
    """The answers of one route's examples: they must have run, and both refused and made some."""

    def __init__(self) -> None:
        self.statuses: dict[int, int] = {}

    def check(self, status: int, message: str, sure: bool, what: Any) -> None:
        self.statuses[status] = self.statuses.get(status, 0) + 1
        assert status < 500, (what, status, message)
        if sure:
            assert status == 400, (what, status, message)

    def done(self, success: int) -> None:
        print(self.statuses)
        assert sum(self.statuses.values()) >= 150, self.statuses
        assert self.statuses.get(400, 0) >= 50 and self.statuses.get(success, 0) >= 5, self.statuses


def test_container_create(api: RawClient, decoder: Decoder, busybox: str) -> None:
    fields = struct(decoder, "POST", "/containers/create")
    base = {"Image": busybox, "Cmd": ["true"], "HostConfig": {"NetworkMode": "none"}}
    tally = Tally()

    @FUZZ
    @given(st.sampled_from(fields), VALUES)
    def one(field: tuple[tuple[str, ...], typed.Type], value: tuple[str, Any]) -> None:
        (path, of), (kind, raw) = field, value
        name = f"fuzz-c{next(_COUNTER)}"
        answer = api.call("POST", f"/containers/create?name={name}", body_with(base, path, kind, raw))
        tally.check(answer.status, answer.message, cannot_be(of, kind, raw), (path, kind, str(raw)[:40]))
        exists = api.call("GET", f"/containers/{name}/json")
        if answer.status == 201:
            api.call("DELETE", f"/containers/{name}?force=1&v=1")
        else:
            assert exists.status == 404, (path, kind, str(raw)[:40], exists.status)

    one()
    tally.done(201)
    listed = {n.lstrip("/") for c in api.call("GET", "/containers/json?all=1").json() for n in c["Names"]}
    assert not [n for n in listed if n.startswith("fuzz-c")]


def test_network_create(api: RawClient, decoder: Decoder) -> None:
    fields = [f for f in struct(decoder, "POST", "/networks/create") if f[0] != ("Name",)]
    tally = Tally()

    @FUZZ
    @given(st.sampled_from(fields), VALUES)
    def one(field: tuple[tuple[str, ...], typed.Type], value: tuple[str, Any]) -> None:
        (path, of), (kind, raw) = field, value
        name = f"fuzz-n{next(_COUNTER)}"
        answer = api.call("POST", "/networks/create", body_with({"Name": name}, path, kind, raw))
        tally.check(answer.status, answer.message, cannot_be(of, kind, raw), (path, kind, str(raw)[:40]))
        if answer.status == 201:
            assert api.call("DELETE", f"/networks/{name}").status == 204
        else:
            assert api.call("GET", f"/networks/{name}").status == 404

    one()
    tally.done(201)


def test_volume_create(api: RawClient, decoder: Decoder) -> None:
    fields = struct(decoder, "POST", "/volumes/create")
    tally = Tally()

    @FUZZ
    @given(st.sampled_from(fields), VALUES)
    def one(field: tuple[tuple[str, ...], typed.Type], value: tuple[str, Any]) -> None:
        (path, of), (kind, raw) = field, value
        name = f"fuzz-v{next(_COUNTER)}"
        answer = api.call("POST", "/volumes/create", body_with({"Name": name}, path, kind, raw))
        tally.check(answer.status, answer.message, cannot_be(of, kind, raw), (path, kind, str(raw)[:40]))
        if answer.status == 201:
            made = answer.json()["Name"]
            assert api.call("DELETE", f"/volumes/{made}").status == 204
        else:
            assert api.call("GET", f"/volumes/{name}").status == 404

    one()
    tally.done(201)


def test_exec_create(api: RawClient, decoder: Decoder, busybox: str) -> None:
    fields = struct(decoder, "POST", "/containers/{id}/exec")
    tally = Tally()
    created = api.call("POST", "/containers/create?name=fuzz-exec", value={
        "Image": busybox, "Cmd": ["sleep", "600"], "HostConfig": {"NetworkMode": "none"}})
    assert created.status == 201, created.message
    try:
        assert api.call("POST", "/containers/fuzz-exec/start").status == 204

        @FUZZ
        @given(st.sampled_from(fields), VALUES)
        def one(field: tuple[tuple[str, ...], typed.Type], value: tuple[str, Any]) -> None:
            (path, of), (kind, raw) = field, value
            answer = api.call("POST", "/containers/fuzz-exec/exec", body_with({"Cmd": ["true"]}, path, kind, raw))
            tally.check(answer.status, answer.message, cannot_be(of, kind, raw), (path, kind, str(raw)[:40]))

        one()
        tally.done(201)
    finally:
        api.call("DELETE", "/containers/fuzz-exec?force=1")
