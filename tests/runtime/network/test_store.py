"""Network records on disk: round trip, Docker's lookup order, what is predefined and user-defined."""

from __future__ import annotations

from pathlib import Path

import pytest

from runtime.network.ipam import plan_pool
from runtime.network.store import AmbiguousNetwork, NetworkRecord, NetworkStore, NoSuchNetwork


def _record(network_id: str, name: str, **kw: object) -> NetworkRecord:
    return NetworkRecord(network_id, name, str(kw.pop("driver", "bridge")), "2024-01-01T00:00:00.000000000Z",
                         **kw)  # type: ignore[arg-type]


def test_records_survive_a_reload(tmp_path: Path) -> None:
    store = NetworkStore(tmp_path / "networks")
    store.load()
    record = _record("ab" * 32, "front", labels={"a": "b"}, bridge="pyc0000br1")
    pool = plan_pool({"Subnet": "10.9.0.0/24"}, [])
    pool.allocate("endpoint-1")
    record.set_pool(pool)
    store.add(record)
    again = NetworkStore(tmp_path / "networks")
    assert again.load() == []
    loaded = again.get("front")
    assert loaded == record
    assert loaded.get_pool().owner_of("10.9.0.2") == "endpoint-1"
    assert str(loaded.gateway) == "10.9.0.1"
    again.remove(loaded)
    assert NetworkStore(tmp_path / "networks").load() == [] and not list(again)


def test_lookup_full_id_then_name_then_prefix(tmp_path: Path) -> None:
    store = NetworkStore(tmp_path)
    store.load()
    store.add(_record("abc" + "0" * 61, "one"))
    store.add(_record("abd" + "0" * 61, "abc"))
    assert store.get("abc").id.startswith("abd")  # an exact name beats an id prefix
    assert store.get("abc" + "0" * 61).name == "one"
    assert store.get("abd").name == "abc"
    with pytest.raises(AmbiguousNetwork):
        store.get("ab")
    with pytest.raises(NoSuchNetwork, match="network nope not found"):
        store.get("nope")
    assert store.find("") is None


def test_unreadable_records_are_reported_not_deleted(tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text("{")
    store = NetworkStore(tmp_path)
    problems = store.load()
    assert len(problems) == 1 and (tmp_path / "bad.json").exists()


def test_predefined_and_user_defined() -> None:
    default = _record("1" * 64, "bridge", default=True)
    host = _record("2" * 64, "host", driver="host")
    mine = _record("3" * 64, "bridge-ish")
    assert default.predefined and host.predefined and not mine.predefined
    assert mine.user_defined and not default.user_defined and not host.user_defined
