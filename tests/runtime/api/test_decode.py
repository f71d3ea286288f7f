"""Typed decoding of request bodies and parameters (runtime/api/decode.py, typed.py, jsonparse.py), no engine."""

from __future__ import annotations

import json
from typing import Any

import pytest

from runtime.api import jsonparse, spec_compile
from runtime.api.decode import Decoder, decode_body, query_value
from runtime.api.errors import EngineError


@pytest.fixture(scope="module")
def decoder() -> Decoder:
    return Decoder.load()


def body(decoder: Decoder, method: str, pattern: str, value: bytes | Any) -> Any:
    op = decoder.operation(method, pattern)
    assert op.body is not None, (method, pattern)
    return decode_body(op.body, value if isinstance(value, bytes) else json.dumps(value).encode())


def refusal(decoder: Decoder, method: str, pattern: str, value: bytes | Any) -> str:
    with pytest.raises(EngineError) as info:
        body(decoder, method, pattern, value)
    assert info.value.status == 400
    return info.value.message


CREATE = ("POST", "/containers/create")
GO = "invalid JSON: json: cannot unmarshal"


@pytest.mark.parametrize(("value", "message"), [
    ({"HostConfig": {"Privileged": "false"}},
     f"{GO} string into Go struct field HostConfig.HostConfig.Privileged of type bool"),
    ({"Env": -1}, f"{GO} number into Go struct field CreateRequest.Env of type []string"),
    ({"Env": ["A=1", 5]}, f"{GO} number into Go struct field CreateRequest.Env of type string"),
    ({"HostConfig": {"Memory": 1e30}},
     f"{GO} number 1e+30 into Go struct field HostConfig.HostConfig.Memory of type int64"),
    ({"HostConfig": {"Memory": 2**64}},
     f"{GO} number 18446744073709551616 into Go struct field HostConfig.HostConfig.Memory of type int64"),
    ({"HostConfig": {"BlkioWeight": 70000}},
     f"{GO} number 70000 into Go struct field HostConfig.HostConfig.BlkioWeight of type uint16"),
    ({"StopTimeout": 1.5}, f"{GO} number 1.5 into Go struct field CreateRequest.StopTimeout of type int"),
    ({"HostConfig": 5}, f"{GO} number into Go struct field CreateRequest.HostConfig of type container.HostConfig"),
    ({"HostConfig": {"RestartPolicy": {"MaximumRetryCount": "3"}}},
     f"{GO} string into Go struct field RestartPolicy.HostConfig.RestartPolicy.MaximumRetryCount of type int"),
    ({"Labels": {"a": True}}, f"{GO} bool into Go struct field CreateRequest.Labels of type string"),
    ({"Cmd": ["sh", 1]}, f"{GO} array into Go struct field CreateRequest.Cmd of type string"),
    ([], f"{GO} array into Go value of type container.CreateRequest"),
])  # fmt: skip
def test_go_messages(decoder: Decoder, value: Any, message: str) -> None:
    assert refusal(decoder, *CREATE, value) == message


def test_the_literal_text_of_a_number_is_kept(decoder: Decoder) -> None:
    message = refusal(decoder, *CREATE, b'{"HostConfig": {"Memory": 1e30}}')
    assert "number 1e30 into Go struct field HostConfig.HostConfig.Memory of type int64" in message
    assert "number 5.0 into" in refusal(decoder, *CREATE, b'{"StopTimeout": 5.0}')


@pytest.mark.parametrize("text", [b'{"StopTimeout": NaN}', b'{"StopTimeout": Infinity}',
                                  b'{"StopTimeout": -Infinity}', b'{"StopTimeout": 1e400}'])
def test_nan_and_infinity_are_not_json(decoder: Decoder, text: bytes) -> None:
    assert refusal(decoder, *CREATE, text).startswith("invalid JSON: ")


@pytest.mark.parametrize("text", [b"[" * 100_000, b"{\"a\":" * 100_000, b"[" * 401 + b"]" * 401,
                                  b'{"Labels": {"a": "' + b"[" * 100_000 + b'"}, "Env": ' + b"[" * 500])
def test_deep_nesting_is_a_400(decoder: Decoder, text: bytes) -> None:
    assert "exceeded max depth" in refusal(decoder, *CREATE, text)


def test_depth_ignores_brackets_in_strings() -> None:
    text = json.dumps({"Labels": {"a": "[" * 5000}, "Env": [["x"]]}).encode()
    assert jsonparse.depth(text) == 3
    assert jsonparse.loads(text)["Labels"]["a"] == "[" * 5000


def test_what_go_accepts_comes_out_as_go_has_it(decoder: Decoder) -> None:
    out = body(decoder, *CREATE, {"cmd": "ls", "ENTRYPOINT": ["a", None], "hostconfig": {"privileged": True,
               "ConsoleSize": [24, 80, 5], "Binds": None}, "Unknown": {"x": 1}, "Env": [None, "A=1"]})
    assert out == {"Cmd": ["ls"], "Entrypoint": ["a", ""], "HostConfig": {"Privileged": True,
                   "ConsoleSize": [24, 80], "Binds": None}, "Env": ["", "A=1"]}
    assert body(decoder, *CREATE, b'{"Privileged": 1, "privileged": true}') == {}  # not a Config field
    last = body(decoder, *CREATE, b'{"HostConfig": {"Privileged": true, "privileged": false}}')
    assert last == {"HostConfig": {"Privileged": False}}


def test_nul_bytes_and_long_names(decoder: Decoder) -> None:
    assert "NUL" in refusal(decoder, *CREATE, {"HostConfig": {"Binds": ["/a\x00b:/c"]}})
    assert "NUL" in refusal(decoder, *CREATE, {"Labels": {"a\x00": "b"}})
    message = refusal(decoder, "POST", "/volumes/create", {"Name": "v" * 300})
    assert message == "Name: name too long: 300 bytes, at most 255"
    assert "name too long" in refusal(decoder, "POST", "/networks/create", {"Name": "n" * 256})
    assert body(decoder, "POST", "/volumes/create", {"Name": "v" * 255}) == {"Name": "v" * 255}
    assert body(decoder, *CREATE, {"Image": "a\ud800b"}) == {"Image": "a\ufffdb"}
    assert body(decoder, *CREATE, b'{"Image": "a\xffb"}') == {"Image": "a\ufffdb"}


def test_other_bodies(decoder: Decoder) -> None:
    exec_go = f"{GO} string into Go struct field ExecConfig.Privileged of type bool"
    assert refusal(decoder, "POST", "/containers/{id}/exec", {"Privileged": "false"}) == exec_go
    assert "ExecStartConfig.Detach of type bool" in refusal(decoder, "POST", "/exec/{id}/start", {"Detach": "0"})
    assert "NetworkCreateRequest.Internal of type bool" in refusal(decoder, "POST", "/networks/create",
                                                                   {"Name": "n", "Internal": "yes"})
    assert "CreateOptions.Labels of type map[string]string" in refusal(decoder, "POST", "/volumes/create",
                                                                        {"Labels": ["a"]})
    assert "NetworkDisconnect.Force of type bool" in refusal(decoder, "POST", "/networks/{id}/disconnect",
                                                             {"Container": "c", "Force": "true"})
    assert body(decoder, "POST", "/exec/{id}/start", b"") is None


def test_query_values() -> None:
    assert [query_value("all", "bool", [v]) for v in ("1", "true", "True", "0", "false", "", "no")] == [
        True, True, True, False, False, False, False]
    assert query_value("t", "int", ["-3"]) == -3
    assert query_value("t", "int", [""]) is None
    for bad, why in (("1_0", "invalid syntax"), ("٣", "invalid syntax"), (" 5", "invalid syntax"),
                     ("99999999999999999999", "value out of range")):
        with pytest.raises(EngineError) as info:
            query_value("t", "int", [bad])
        assert info.value.message == f'strconv.Atoi: parsing "{bad}": {why}'
    with pytest.raises(EngineError):
        query_value("name", "name", ["c" * 256])


def test_every_route_finds_its_operation(decoder: Decoder) -> None:
    from runtime.api.app import all_routes

    missing = [(r.method, r.pattern) for r in all_routes() if not decoder.operation(r.method, r.pattern).id]
    assert missing == []


def test_the_table_is_compiled_from_the_spec() -> None:
    spec = spec_compile.find_spec()
    if spec is None:
        pytest.skip(f"{spec_compile.SPEC_NAME} is not on this machine")
    fresh = spec_compile.render(spec_compile.compile_spec(spec_compile.load_spec(spec)))
    assert fresh == spec_compile.OUT.read_text(), "run: python -m runtime.api.spec_compile"


def test_exceptions_bad_input_raises_deeper_are_400s() -> None:
    import errno
    import os

    from runtime.api.http import engine_error_in

    with pytest.raises(ValueError) as nul:
        os.stat("/a\x00b")
    with pytest.raises(OSError) as long_name:
        os.stat("/" + "x" * 300)
    assert long_name.value.errno == errno.ENAMETOOLONG
    with pytest.raises(UnicodeEncodeError) as surrogate:
        "/\ud800x".encode()  # what os.fsencode meets in a name a client sent
    for exc in (nul.value, long_name.value, surrogate.value, RecursionError("deep"),
                ExceptionGroup("one", [long_name.value])):
        error = engine_error_in(exc)
        assert error is not None and error.status == 400, exc
    for other in (ValueError("something else"), OSError(errno.EIO, "io"), RuntimeError("bug")):
        assert engine_error_in(other) is None
