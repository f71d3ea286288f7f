from __future__ import annotations

import pytest

from compose.plan import Kind, Plan, Ref, Resource, resolve
from compose.plan.operations import wrap
from compose.plan.payloads import ContainerCreate, Stop, VolumeCreate

C = Resource.container


def test_ids_are_readable_and_unique() -> None:
    plan = Plan()
    first = plan.add(Kind.STOP_CONTAINER, "abc", C("p-web-1"))
    second = plan.add(Kind.STOP_CONTAINER, "def", C("p-web-1"))
    volume = plan.add(Kind.CREATE_VOLUME, "p_data", Resource.volume("p_data"), payload=VolumeCreate({}))
    assert (first, second, volume) == ("stop_container:p-web-1", "stop_container:p-web-1#2", "create_volume:p_data")
    assert len(plan) == 3 and first in plan and [op.id for op in plan] == [first, second, volume]
    assert [op.resource for op in plan] == ["Container p-web-1", "Container p-web-1", 'Volume "p_data"']


def test_payloads_are_typed_per_kind() -> None:
    plan = Plan()
    stop = plan.add(Kind.STOP_CONTAINER, "abc", C("p-web-1"), payload=Stop(3))
    assert plan[stop].payload == Stop(3) and plan[plan.add(Kind.STOP_CONTAINER, "d", C("x"))].payload == Stop()
    with pytest.raises(TypeError, match="payload Stop, expected ContainerCreate"):
        plan.add(Kind.CREATE_CONTAINER, "b", C("b"), payload=Stop())


def test_dependencies_must_exist_and_refs_add_them() -> None:
    plan = Plan()
    with pytest.raises(ValueError, match="unknown dependencies"):
        plan.add(Kind.START_CONTAINER, "x", C("x"), after=["nope"])
    create = plan.add(Kind.CREATE_CONTAINER, "a", C("a"), payload=ContainerCreate("a", {}))
    body = {"NetworkMode": Ref(create, "container:")}
    other = plan.add(Kind.CREATE_CONTAINER, "b", C("b"), payload=ContainerCreate("b", body))
    start = plan.add(Kind.START_CONTAINER, Ref(create), C("a"), after=[None])
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
    assert resolve(ContainerCreate("n", body), {ref.op: "f00"}).body["HostConfig"]["NetworkMode"] == "container:f00"
