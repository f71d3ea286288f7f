"""Image routes against a recording fake store: Docker's parameters in, store calls out."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any, BinaryIO

import pytest

from compose.client import EngineClient, EngineError
from runtime.api import routes_images
from runtime.api.router import Router
from runtime.images.errors import ImageConflict, ImageInvalid, ImageNotFound
from tests.runtime.api.inprocess import serving, short_dir

pytestmark = pytest.mark.anyio


class FakeStore:
    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...]]] = []
        self.fail: Exception | None = None

    def _record(self, name: str, *args: Any) -> None:
        self.calls.append((name, args))
        if self.fail is not None:
            raise self.fail

    def list_summaries(self, all: bool, filters: dict[str, list[str]]) -> list[dict[str, Any]]:
        self._record("list", all, filters)
        return [{"Id": "sha256:1"}]

    def inspect(self, ref: str) -> dict[str, Any]:
        self._record("inspect", ref)
        return {"Id": "sha256:1", "ref": ref}

    def history(self, ref: str) -> list[dict[str, Any]]:
        self._record("history", ref)
        return [{"Id": "sha256:1"}]

    def tag(self, ref: str, repo: str, tag: str) -> None:
        self._record("tag", ref, repo, tag)

    def remove(self, ref: str, force: bool, noprune: bool, in_use: Any) -> list[dict[str, str]]:
        self._record("remove", ref, force, noprune, in_use("x"))
        return [{"Untagged": ref}]

    def prune(self, dangling_only: bool, filters: dict[str, list[str]], in_use: Any) -> dict[str, Any]:
        self._record("prune", dangling_only, filters)
        return {"ImagesDeleted": None, "SpaceReclaimed": 0}

    def load(self, stream: BinaryIO) -> list[str]:
        self._record("load", stream.read())
        return ["Loaded image: a:1", "Loaded image ID: sha256:2\n"]

    def save(self, refs: list[str], out: BinaryIO) -> None:
        self._record("save", refs)
        out.write(b"TAR:" + ",".join(refs).encode())

    def import_rootfs(self, stream: BinaryIO, repo: str, tag: str, changes: list[str], message: str) -> str:
        self._record("import", stream.read(), repo, tag, changes, message)
        return "sha256:3"


class FakeEngine:
    def __init__(self) -> None:
        self.images = FakeStore()

    def image_in_use(self, image_id: str) -> bool:
        return image_id == "x"


@pytest.fixture
def sock() -> Iterator[Path]:
    with short_dir() as d:
        yield d / "api.sock"


@pytest.fixture
async def fake() -> FakeEngine:
    return FakeEngine()


@pytest.fixture
async def client(fake: FakeEngine, sock: Path) -> AsyncIterator[EngineClient]:
    app = Router(fake, routes_images.ROUTES)  # type: ignore[arg-type]
    # A router of one table has no /_ping to negotiate with: the version is given.
    async with serving(app, sock), EngineClient(f"unix://{sock}", api_version="1.45") as c:
        yield c


async def test_list_with_filters_and_legacy_filter(client: EngineClient, fake: FakeEngine) -> None:
    response = await client.get("/images/json", {"all": True, "filters": {"label": ["a=b"]}, "filter": "busy*"})
    assert await response.json() == [{"Id": "sha256:1"}]
    assert fake.images.calls == [("list", (True, {"label": ["a=b"], "reference": ["busy*"]}))]


async def test_names_with_slashes_and_tags(client: EngineClient, fake: FakeEngine) -> None:
    await (await client.get("/images/docker.io/library/redis:7/json")).json()
    await (await client.get("/images/redis@sha256:abc/history")).json()
    assert fake.images.calls == [("inspect", ("docker.io/library/redis:7",)), ("history", ("redis@sha256:abc",))]


async def test_tag_is_201(client: EngineClient, fake: FakeEngine) -> None:
    response = await client.post("/images/a:1/tag", {"repo": "b/c", "tag": "2"})
    assert response.status == 201 and await response.read() == b""
    assert fake.images.calls == [("tag", ("a:1", "b/c", "2"))]


async def test_remove_flags_and_in_use(client: EngineClient, fake: FakeEngine) -> None:
    response = await client.delete("/images/a:1", {"force": True, "noprune": False})
    assert await response.json() == [{"Untagged": "a:1"}]
    assert fake.images.calls == [("remove", ("a:1", True, False, True))]


@pytest.mark.parametrize(
    ("filters", "dangling", "rest"),
    [
        (None, True, {}),
        ({"dangling": ["true"]}, True, {}),
        ({"dangling": ["0"], "until": ["1h"]}, False, {"until": ["1h"]}),
    ],
)
async def test_prune_dangling_rule(
    client: EngineClient, fake: FakeEngine, filters: dict[str, list[str]] | None, dangling: bool,
    rest: dict[str, list[str]],
) -> None:
    await (await client.post("/images/prune", {"filters": filters})).json()
    assert fake.images.calls == [("prune", (dangling, rest))]


async def test_prune_bad_dangling_is_400(client: EngineClient) -> None:
    with pytest.raises(EngineError) as err:
        await client.post("/images/prune", {"filters": {"dangling": ["maybe"]}})
    assert err.value.status == 400 and "dangling=maybe" in err.value.message


@pytest.mark.parametrize(
    ("exc", "status"),
    [
        (ImageNotFound("ghost:1"), 404),
        (ImageConflict("in use"), 409),
        (ImageInvalid("bad ref"), 400),
        (ValueError("bad value"), 400),
        (RuntimeError("disk on fire"), 500),
    ],
)
async def test_store_errors_map_to_docker_statuses(
    client: EngineClient, fake: FakeEngine, exc: Exception, status: int
) -> None:
    fake.images.fail = exc
    with pytest.raises(EngineError) as err:
        await client.get("/images/ghost:1/json")
    assert (err.value.status, err.value.message) == (status, str(exc))


async def test_load_streams_the_body_and_answers_stream_messages(client: EngineClient, fake: FakeEngine) -> None:
    async def body() -> AsyncIterator[bytes]:
        yield b"tar-"
        yield b"bytes"

    response = await client.post("/images/load", {"quiet": True}, body=body())
    assert response.header("content-type") == "application/json"
    messages = [m async for m in response.json_stream()]
    assert messages == [{"stream": "Loaded image: a:1\n"}, {"stream": "Loaded image ID: sha256:2\n"}]
    assert fake.images.calls == [("load", (b"tar-bytes",))]


async def test_save_one_and_many(client: EngineClient, fake: FakeEngine) -> None:
    one = await client.get("/images/a:1/get")
    assert one.header("content-type") == "application/x-tar"
    assert await one.read() == b"TAR:a:1"
    many = await client.get("/images/get", {"names": ["a:1", "b:2"]})
    assert await many.read() == b"TAR:a:1,b:2"
    with pytest.raises(EngineError) as err:
        await client.get("/images/get")
    assert err.value.status == 400


async def test_save_of_missing_image_is_404_not_a_broken_tar(client: EngineClient, fake: FakeEngine) -> None:
    fake.images.fail = ImageNotFound("ghost")
    with pytest.raises(EngineError) as err:
        await client.get("/images/get", {"names": ["ghost"]})
    assert err.value.status == 404 and err.value.message == "No such image: ghost"


async def test_import_from_body(client: EngineClient, fake: FakeEngine) -> None:
    params = {"fromSrc": "-", "repo": "me/img", "tag": "v1", "message": "hello",
              "changes": ["ENV A=1", "CMD [\"sh\"]"]}
    response = await client.post("/images/create", params, body=b"rootfs")
    assert [m async for m in response.json_stream()] == [{"status": "sha256:3"}]
    assert fake.images.calls == [("import", (b"rootfs", "me/img", "v1", ["ENV A=1", 'CMD ["sh"]'], "hello"))]


@pytest.mark.parametrize(
    ("params", "status"),
    [({"fromImage": "127.0.0.1:5000/Busy"}, 400), ({}, 400), ({"fromSrc": "http://example.com/x.tar"}, 501)],
)
async def test_create_without_a_body_source(client: EngineClient, params: dict[str, str], status: int) -> None:
    with pytest.raises(EngineError) as err:
        await client.post("/images/create", params)
    assert err.value.status == status


def test_route_table_has_every_endpoint_of_the_issue() -> None:
    table = {(r.method, r.pattern) for r in routes_images.ROUTES}
    assert table == {
        ("GET", "/images/json"), ("GET", "/images/{name:.*}/json"), ("GET", "/images/{name:.*}/history"),
        ("POST", "/images/{name:.*}/tag"), ("DELETE", "/images/{name:.*}"), ("POST", "/images/load"),
        ("GET", "/images/{name:.*}/get"), ("GET", "/images/get"), ("POST", "/images/create"),
        ("POST", "/images/prune"),
    }
    assert json.dumps(sorted(table))
