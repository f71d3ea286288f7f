"""Query parsing the way Docker does it: booleans and filters."""

from __future__ import annotations

import anyio
import pytest

from runtime.api.errors import EngineError
from runtime.api.http import Request, bool_value, parse_filters


class _Body:
    def __init__(self, *parts: bytes) -> None:
        self.parts = list(parts)

    async def receive(self) -> bytes:
        return self.parts.pop(0) if self.parts else b""


@pytest.mark.parametrize("text", ["1", "true", "True", "yes", " on ", "anything"])
def test_true_words(text: str) -> None:
    assert bool_value(text)


@pytest.mark.parametrize("text", ["", "0", "no", "false", "FALSE", "none", " 0 "])
def test_false_words(text: str) -> None:
    assert not bool_value(text)


def test_filters_both_forms() -> None:
    assert parse_filters("") == {}
    assert parse_filters('{"dangling":["true"],"label":["a=b","c"]}') == {
        "dangling": ["true"],
        "label": ["a=b", "c"],
    }
    # The pre-1.30 form: a map of value -> true.
    assert parse_filters('{"reference":{"busybox":true,"alpine":false}}') == {"reference": ["busybox"]}


@pytest.mark.parametrize("text", ["{", "[1]", '{"a":"b"}', '{"a":[1]}'])
def test_bad_filters_are_400(text: str) -> None:
    with pytest.raises(EngineError) as err:
        parse_filters(text)
    assert err.value.status == 400


@pytest.mark.anyio
async def test_request_helpers() -> None:
    async with anyio.create_task_group() as tasks:
        query = {"all": ["1"], "force": ["0"], "names": ["a", "b"], "filters": ['{"x":["y"]}']}
        request = Request("GET", "/x", query, {}, _Body(b'{"a"', b":1}"), tasks)
        assert request.flag("all") and not request.flag("force") and not request.flag("missing")
        assert request.flag("missing", default=True)
        assert request.args("names") == ["a", "b"] and request.arg("names") == "a"
        assert request.arg("nothing", "dflt") == "dflt"
        assert request.filters() == {"x": ["y"]}
        assert await request.json() == {"a": 1}


@pytest.mark.anyio
async def test_request_body_limits_and_bad_json() -> None:
    async with anyio.create_task_group() as tasks:
        big = Request("POST", "/x", {}, {}, _Body(b"x" * 10, b"y" * 10), tasks)
        with pytest.raises(EngineError, match="larger than 15"):
            await big.read(limit=15)
        bad = Request("POST", "/x", {}, {}, _Body(b"{nope"), tasks)
        with pytest.raises(EngineError) as err:
            await bad.json()
        assert err.value.status == 400
        empty = Request("POST", "/x", {}, {}, _Body(), tasks)
        assert await empty.json() is None
