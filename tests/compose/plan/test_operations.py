from __future__ import annotations

import pytest

from compose.plan import Kind, Plan, Ref, resolve
from compose.plan.operations import wrap


def test_ids_are_readable_and_unique() -> None:
    plan = Plan()
    first = plan.add(Kind.STOP_CONTAINER, "abc", "Container p-web-1")
    second = plan.add(Kind.STOP_CONTAINER, "def", "Container p-web-1")
    volume = plan.add(Kind.CREATE_VOLUME, "p_data", 'Volume "p_data"')
    assert (first, second, volume) == ("stop_container:p-web-1", "stop_container:p-web-1#2", "create_volume:p_data")
    assert len(plan) == 3 and first in plan and [op.id for op in plan] == [first, second, volume]


def test_dependencies_must_exist_and_refs_add_them() -> None:
    plan = Plan()
    with pytest.raises(ValueError, match="unknown dependencies"):
        plan.add(Kind.START_CONTAINER, "x", "Container x", after=["nope"])
    create = plan.add(Kind.CREATE_CONTAINER, "a", "Container a")
    body = {"NetworkMode": Ref(create, "container:")}
    other = plan.add(Kind.CREATE_CONTAINER, "b", "Container b", payload={"body": body})
    start = plan.add(Kind.START_CONTAINER, Ref(create), "Container a", after=[None])
    assert plan[other].depends_on == {create} and plan[start].depends_on == {create}
    assert plan.dependents() == {create: [other, start], other: [], start: []}
    assert plan.precedes(create, start) and not plan.precedes(other, start)
    assert plan.describe()[1] == f"{other} after {create}"


def test_refs_resolve_to_created_ids() -> None:
    ref = Ref("create_container:p-db-1")
    assert wrap(ref, "container:") == Ref("create_container:p-db-1", "container:")
    assert wrap("abc", "container:", ":ro") == "container:abc:ro"
    body = {"HostConfig": {"NetworkMode": wrap(ref, "container:"), "VolumesFrom": [wrap(ref, "", ":ro"), "x"]}}
    assert resolve(body, {ref.op: "f00"}) == {"HostConfig": {"NetworkMode": "container:f00",
                                                             "VolumesFrom": ["f00:ro", "x"]}}
