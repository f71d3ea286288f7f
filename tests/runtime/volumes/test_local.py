"""The volume store without mounts: create, list, inspect, references, remove, prune, persistence."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Mapping
from pathlib import Path

import pytest

from runtime.volumes import ANONYMOUS_LABEL, VolumeInUse, VolumeInvalid, VolumeNotFound, VolumeStore
from runtime.volumes.errors import VolumeDriverNotFound

CID = "c" * 64
OTHER = "d" * 64


@pytest.fixture
def store(tmp_path: Path) -> VolumeStore:
    return VolumeStore(tmp_path / "volumes")


def names(store: VolumeStore, filters: Mapping[str, list[str]] | None = None) -> list[str]:
    return [v["Name"] for v in store.list_volumes(filters)["Volumes"]]


def test_create_answers_dockers_volume_object(store: VolumeStore, tmp_path: Path) -> None:
    volume = store.create("data", labels={"b": "2", "a": "1"})
    assert list(volume) == ["CreatedAt", "Driver", "Labels", "Mountpoint", "Name", "Options", "Scope"]
    assert volume["Name"] == "data" and volume["Driver"] == "local" and volume["Scope"] == "local"
    assert volume["Mountpoint"] == str(tmp_path / "volumes" / "data" / "_data")
    assert list(volume["Labels"].items()) == [("a", "1"), ("b", "2")]  # Go marshals maps sorted
    assert volume["Options"] is None
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", volume["CreatedAt"])
    assert (tmp_path / "volumes" / "data" / "_data").is_dir()
    assert store.inspect("data") == volume
    # Sent empty, kept empty: Docker answers {} then, and null when they were not sent.
    assert store.create("empty", driver_opts={}, labels={})["Labels"] == {}
    assert store.create("bare")["Labels"] is None


def test_existing_name_returns_the_existing_volume(store: VolumeStore) -> None:
    first = store.create("data", labels={"a": "1"})
    again = store.create("data", labels={"other": "x"}, driver_opts={"bogus": "1"})
    assert again == first


def test_anonymous_volumes(store: VolumeStore) -> None:
    volume = store.create()
    assert re.fullmatch(r"[0-9a-f]{64}", volume["Name"])
    assert volume["Labels"] == {ANONYMOUS_LABEL: ""}
    name = store.anonymous(CID)
    assert re.fullmatch(r"[0-9a-f]{64}", name) and name != volume["Name"]
    assert store.in_use(name) == [CID]
    assert store.inspect(name)["Labels"] == {ANONYMOUS_LABEL: ""}


@pytest.mark.parametrize("name", ["a", "b/ad", "../x", "-x", ".hidden", "sp ace"])
def test_invalid_names(store: VolumeStore, name: str) -> None:
    with pytest.raises(VolumeInvalid) as info:
        store.create(name)
    assert info.value.status == 400
    assert info.value.message.startswith(f'create {name}: "{name}" includes invalid characters for a local volume')
    with pytest.raises(VolumeInvalid):
        store.mountpoint(name)


def test_driver_and_option_errors(store: VolumeStore) -> None:
    with pytest.raises(VolumeDriverNotFound) as info:
        store.create("x1", driver="nfs-plugin")
    assert info.value.status == 404
    assert info.value.message == 'create x1: error looking up volume plugin nfs-plugin: plugin "nfs-plugin" not found'
    cases = {
        (("foo", "1"),): 'create v1: invalid option: "foo"',
        (("type", "tmpfs"),): 'create v1: missing required option: "device"',
        (("device", "tmpfs"),): 'create v1: missing required option: "type"',
        (("o", "size=1m"), ("type", "tmpfs")): 'create v1: missing required option: "device"',
        (("size", "10m"),): "create v1: quota size requested but no quota support",
    }
    for items, message in cases.items():
        with pytest.raises(VolumeInvalid) as bad:
            store.create("v1", driver_opts=dict(items))
        assert bad.value.message == message
    assert names(store) == []
    assert store.create("v1", driver_opts={"size": "0"})["Options"] == {"size": "0"}


def test_not_found(store: VolumeStore) -> None:
    with pytest.raises(VolumeNotFound) as info:
        store.inspect("nope")
    assert info.value.status == 404 and info.value.message == "get nope: no such volume"
    with pytest.raises(VolumeNotFound):
        store.remove("nope")
    store.remove("nope", force=True)  # force: a missing volume is no error, as in Docker


def test_list_filters(store: VolumeStore) -> None:
    store.create("web-data", labels={"tier": "web", "x": ""})
    store.create("db-data", labels={"tier": "db"})
    store.create("cache")
    store.acquire("db-data", CID)
    assert names(store) == ["cache", "db-data", "web-data"]
    assert names(store, {"dangling": ["true"]}) == ["cache", "web-data"]
    assert names(store, {"dangling": ["0"]}) == ["db-data"]
    assert names(store, {"label": ["tier"]}) == ["db-data", "web-data"]
    assert names(store, {"label": ["tier=web"]}) == ["web-data"]
    assert names(store, {"label": ["tier", "x"]}) == ["web-data"]
    assert names(store, {"name": ["data"]}) == ["db-data", "web-data"]
    assert names(store, {"name": ["^c"]}) == ["cache"]
    assert names(store, {"name": ["[bad"]}) == []
    assert names(store, {"driver": ["local"]}) == ["cache", "db-data", "web-data"]
    assert names(store, {"driver": ["other"]}) == []
    with pytest.raises(VolumeInvalid, match="invalid filter 'until'"):
        store.list_volumes({"until": ["1h"]})
    with pytest.raises(VolumeInvalid, match="invalid filter 'dangling=maybe'"):
        store.list_volumes({"dangling": ["maybe"]})


def test_references_block_removal_with_dockers_message(store: VolumeStore) -> None:
    store.create("data")
    path = store.acquire("data", CID)
    assert path == store.root / "data" / "_data"
    store.acquire("data", CID)  # twice is once
    store.acquire("data", OTHER)
    assert store.in_use("data") == [CID, OTHER]
    with pytest.raises(VolumeInUse) as info:
        store.remove("data", force=True)
    assert info.value.status == 409
    assert info.value.message == f"remove data: volume is in use - [{CID}, {OTHER}]"
    store.release("data", CID)
    store.release("data", CID)
    store.release("nope", CID)
    assert store.in_use("data") == [OTHER]
    store.release("data", OTHER)
    store.remove("data")
    assert names(store) == [] and not (store.root / "data").exists()
    assert store.in_use("data") == []


def test_acquire_creates_a_missing_volume_without_labels(store: VolumeStore) -> None:
    store.acquire("implicit", CID)
    assert store.inspect("implicit")["Labels"] is None


def test_for_container_acquires_what_create_asks_for(store: VolumeStore) -> None:
    source = store.for_container(CID)
    path = source.mountpoint("named")
    anon = source.anonymous()
    assert path.is_dir() and store.in_use("named") == [CID] and store.in_use(anon) == [CID]
    store.create("shared")
    store.acquire("shared", CID)
    store.acquire("shared", OTHER)
    other_anon = store.anonymous(OTHER)
    store.acquire(other_anon, CID)
    removed = store.release_container(CID, remove_anonymous=True)
    # Its own anonymous volume goes; named ones and anonymous ones others still use stay.
    assert removed == [anon]
    assert sorted(names(store)) == sorted(["named", "shared", other_anon])
    assert store.in_use("named") == [] and store.in_use("shared") == [OTHER] and store.in_use(other_anon) == [OTHER]
    assert store.release_container(OTHER) == []
    assert store.in_use(other_anon) == []


def test_prune_takes_unused_anonymous_volumes_unless_all(store: VolumeStore) -> None:
    store.create("named", labels={"keep": "no"})
    anon = store.create()["Name"]
    used = store.anonymous(CID)
    (store.root / anon / "_data" / "f").write_bytes(b"x" * 1000)
    report = store.prune()
    assert report == {"VolumesDeleted": [anon], "SpaceReclaimed": 1000}
    assert sorted(names(store)) == sorted(["named", used])
    assert store.prune({"all": ["true"], "label": ["other"]}) == {"VolumesDeleted": [], "SpaceReclaimed": 0}
    assert store.prune({"all": ["true"], "label!": ["keep"]})["VolumesDeleted"] == []
    assert store.prune({"all": ["1"], "label": ["keep=no"]})["VolumesDeleted"] == ["named"]
    assert names(store) == [used]
    with pytest.raises(VolumeInvalid, match="invalid filter 'dangling'"):
        store.prune({"dangling": ["true"]})
    with pytest.raises(VolumeInvalid, match="invalid filter 'all=yes'"):
        store.prune({"all": ["yes"]})
    assert not [p for p in store.root.iterdir() if p.name.startswith(".trash-")]


def test_state_survives_a_reopen(store: VolumeStore, tmp_path: Path) -> None:
    store.create("data", labels={"a": "1"}, driver_opts={"size": "0"})
    store.acquire("data", CID)
    again = VolumeStore(tmp_path / "volumes")
    assert again.inspect("data") == store.inspect("data")
    assert again.in_use("data") == [CID]
    meta = json.loads((tmp_path / "volumes" / "data" / "volume.json").read_text())
    assert meta["References"] == [CID] and meta["Labels"] == {"a": "1"}


def test_reconcile_replaces_stored_references(store: VolumeStore) -> None:
    store.acquire("a1", CID)
    store.acquire("b1", OTHER)
    store.reconcile({OTHER: ["a1", "b1"], "e" * 64: ["b1"]})
    assert store.in_use("a1") == [OTHER]
    assert store.in_use("b1") == sorted([OTHER, "e" * 64])


def test_directories_without_metadata_are_adopted(store: VolumeStore, tmp_path: Path) -> None:
    # What an engine made before volumes were tracked, or a crash before the metadata file.
    (store.root / "old" / "_data").mkdir(parents=True)
    (store.root / "torn" / "_data").mkdir(parents=True)
    (store.root / "torn" / "volume.json").write_text("{not json")
    (store.root / ".trash-gone-1234").mkdir()
    (store.root / "not-a-volume").mkdir()
    assert store.inspect("old")["Labels"] is None
    reopened = VolumeStore(tmp_path / "volumes")
    assert names(reopened) == ["old", "torn"]
    assert not (store.root / ".trash-gone-1234").exists()


def test_listener_sees_create_and_destroy(tmp_path: Path) -> None:
    seen: list[tuple[str, str, dict[str, str]]] = []
    store = VolumeStore(tmp_path / "v", lambda action, name, attrs: seen.append((action, name, dict(attrs))))
    store.create("data")
    store.create("data")
    store.remove("data")
    store.prune()
    assert seen == [("create", "data", {"driver": "local"}), ("destroy", "data", {"driver": "local"}),
                    ("prune", "", {"driver": "local", "reclaimed": "0"})]


def test_usage_reports_size_and_users(store: VolumeStore) -> None:
    path = store.acquire("data", CID)
    (path / "a").write_bytes(b"12345")
    (path / "sub").mkdir()
    (path / "sub" / "b").write_bytes(b"123")
    (path / "hard").hardlink_to(path / "a")
    (usage,) = store.usage()
    assert usage["UsageData"] == {"Size": 8, "RefCount": 1}


def test_concurrent_acquires_all_count(store: VolumeStore) -> None:
    ids = [f"{i:064x}" for i in range(16)]
    threads = [threading.Thread(target=store.acquire, args=("busy", cid)) for cid in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(store.in_use("busy")) == ids


def test_the_listener_runs_outside_the_stores_lock(tmp_path: Path) -> None:
    # A listener that waits for another thread using the store (as a hop to the event loop does).
    seen: list[int] = []

    def listener(action: str, name: str, attributes: Mapping[str, str]) -> None:
        worker = threading.Thread(target=lambda: seen.append(len(volumes.list_volumes()["Volumes"])))
        worker.start()
        worker.join(5)
        assert not worker.is_alive()

    volumes = VolumeStore(tmp_path / "v", listener)
    volumes.acquire("data", CID)
    assert seen == [1]
