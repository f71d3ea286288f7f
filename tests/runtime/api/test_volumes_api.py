"""Volume routes in-process: a tiny router over a real VolumeStore on a temporary root.

Docker's shapes and statuses through our client, and the same through
docker-py (run in a worker thread while the server runs on the test's loop).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio.to_thread
import pytest

from compose.client import EngineClient, EngineError
from runtime.api import routes_system, routes_volumes
from runtime.api.router import Router
from runtime.volumes import VolumeStore
from tests.runtime.api.inprocess import serving, short_dir

pytestmark = pytest.mark.anyio

CID = "c" * 64


@dataclass
class Context:
    volumes: VolumeStore


@pytest.fixture
def sock() -> Iterator[Path]:
    with short_dir() as d:
        yield d / "api.sock"


@pytest.fixture
def store(tmp_path: Path) -> VolumeStore:
    return VolumeStore(tmp_path / "volumes")


@pytest.fixture
async def client(store: VolumeStore, sock: Path) -> AsyncIterator[EngineClient]:
    app: Router[Any] = Router(Context(store), routes_volumes.ROUTES)
    # A router of one table has no /_ping to negotiate with: the version is given.
    async with serving(app, sock), EngineClient(f"unix://{sock}", api_version="1.45") as c:
        yield c


async def fail(call: Any) -> EngineError:
    with pytest.raises(EngineError) as info:
        await call
    return info.value


async def test_create_inspect_list_remove(client: EngineClient, store: VolumeStore) -> None:
    response = await client.post("/volumes/create", json={"Name": "data", "Labels": {"a": "1"},
                                                         "DriverOpts": {"type": "tmpfs", "device": "tmpfs"}})
    assert response.status == 201
    created = await response.json()
    assert created["Name"] == "data" and created["Labels"] == {"a": "1"}
    assert created["Options"] == {"device": "tmpfs", "type": "tmpfs"}
    assert created["Mountpoint"] == str(store.root / "data" / "_data")
    assert await (await client.get("/volumes/data")).json() == created
    # An existing name answers the existing volume.
    again = await client.post("/volumes/create", json={"Name": "data", "Driver": "local"})
    assert again.status == 201 and await again.json() == created
    listing = await (await client.get("/volumes")).json()
    assert listing == {"Volumes": [created], "Warnings": []}
    removed = await client.delete("/volumes/data")
    assert removed.status == 204 and await removed.read() == b""
    assert (await (await client.get("/volumes")).json())["Volumes"] == []


async def test_create_without_a_body_or_name_is_anonymous(client: EngineClient) -> None:
    volume = await (await client.post("/volumes/create")).json()
    assert re.fullmatch(r"[0-9a-f]{64}", volume["Name"])
    assert volume["Labels"] == {"com.docker.volume.anonymous": ""}


@pytest.mark.parametrize("body", [[1], {"Name": 3}, {"Labels": {"a": 1}}, {"DriverOpts": "x"}])
async def test_bad_bodies_are_400(client: EngineClient, body: Any) -> None:
    assert (await fail(client.post("/volumes/create", json=body))).status == 400


async def test_errors_carry_dockers_status_and_message(client: EngineClient, store: VolumeStore) -> None:
    missing = await fail(client.get("/volumes/nope"))
    assert (missing.status, missing.message) == (404, "get nope: no such volume")
    assert (await fail(client.delete("/volumes/nope"))).status == 404
    assert (await client.delete("/volumes/nope", {"force": True})).status == 204
    bad = await fail(client.post("/volumes/create", json={"Name": "x/y"}))
    assert bad.status == 400 and "includes invalid characters" in bad.message
    driver = await fail(client.post("/volumes/create", json={"Name": "x1", "Driver": "flocker"}))
    assert driver.status == 404 and 'plugin "flocker" not found' in driver.message
    option = await fail(client.post("/volumes/create", json={"Name": "x1", "DriverOpts": {"foo": "1"}}))
    assert (option.status, option.message) == (400, 'create x1: invalid option: "foo"')
    store.acquire("busy", CID)
    in_use = await fail(client.delete("/volumes/busy", {"force": True}))
    assert (in_use.status, in_use.message) == (409, f"remove busy: volume is in use - [{CID}]")
    assert (await fail(client.get("/volumes", {"filters": {"until": ["1h"]}}))).status == 400


async def test_list_filters(client: EngineClient, store: VolumeStore) -> None:
    store.create("web", labels={"tier": "front"})
    store.create("db")
    store.acquire("db", CID)

    async def names(filters: dict[str, list[str]]) -> list[str]:
        listing = await (await client.get("/volumes", {"filters": filters})).json()
        return [v["Name"] for v in listing["Volumes"]]

    assert await names({"dangling": ["true"]}) == ["web"]
    assert await names({"dangling": ["false"]}) == ["db"]
    assert await names({"label": ["tier=front"]}) == ["web"]
    assert await names({"name": ["d"]}) == ["db"]
    assert await names({"driver": ["local"]}) == ["db", "web"]
    # The legacy filters form ({"key": {"value": true}}) too.
    legacy = await (await client.get("/volumes", {"filters": {"label": {"tier": True}}})).json()
    assert [v["Name"] for v in legacy["Volumes"]] == ["web"]


async def test_prune_anonymous_by_default_all_on_request_and_for_old_clients(client: EngineClient,
                                                                              store: VolumeStore) -> None:
    store.create("named")
    anon = store.create()["Name"]
    report = await (await client.post("/volumes/prune")).json()
    assert report == {"VolumesDeleted": [anon], "SpaceReclaimed": 0}
    store.create("other", labels={"keep": "1"})
    report = await (await client.post("/volumes/prune", {"filters": {"all": ["true"], "label!": ["keep"]}})).json()
    assert report["VolumesDeleted"] == ["named"]
    # Before API 1.42 prune meant every unused volume.
    response = await client.request("POST", "/v1.41/volumes/prune", versioned=False)
    assert (await response.json())["VolumesDeleted"] == ["other"]
    bad = await fail(client.post("/volumes/prune", {"filters": {"dangling": ["true"]}}))
    assert (bad.status, bad.message) == (400, "invalid filter 'dangling'")


async def test_docker_py_volume_api(store: VolumeStore, sock: Path) -> None:
    import docker

    routes = (*routes_system.ROUTES, *routes_volumes.ROUTES)
    app: Router[Any] = Router(Context(store), routes, routes_system.common_headers("test"))

    def scenario() -> None:
        client = docker.DockerClient(base_url=f"unix://{sock}", version="1.45")
        try:
            made = client.volumes.create("pyvol", labels={"x": "y"})
            assert made.name == "pyvol" and made.attrs["Labels"] == {"x": "y"}
            assert [v.name for v in client.volumes.list(filters={"label": "x=y"})] == ["pyvol"]
            assert client.volumes.get("pyvol").attrs["Driver"] == "local"
            with pytest.raises(docker.errors.NotFound):
                client.volumes.get("nope")
            anon = client.api.create_volume()["Name"]
            assert client.volumes.prune() == {"VolumesDeleted": [anon], "SpaceReclaimed": 0}
            client.volumes.get("pyvol").remove()
            assert client.volumes.list() == []
        finally:
            client.close()

    async with serving(app, sock):
        await anyio.to_thread.run_sync(scenario)
