from __future__ import annotations

from pathlib import Path

import pytest

from compose.errors import ComposeError
from compose.model import Project
from compose.observed import ObservedState
from compose.plan import Kind, Plan, Ref, UpFacts, UpOptions, plan_up
from compose.plan.payloads import Rename
from compose.plan.resources import resource_hash
from tests.compose.plan.fixtures import load, network, state, summary, volume

APP = """
services:
  db:
    image: postgres
    volumes: [data:/var/lib/db]
    healthcheck: {test: [CMD, ready], interval: 1s}
  cache:
    image: redis
  web:
    image: nginx
    depends_on:
      db: {condition: service_healthy, restart: true}
      cache: {condition: service_started}
  worker:
    image: busybox
    depends_on: [db]
volumes: {data: {}}
"""


@pytest.fixture
def app(tmp_path: Path) -> Project:
    return load(tmp_path, APP)


def running(project: Project, **changed: str) -> ObservedState:
    """All services up to date and running; `changed` gives services an old config hash."""
    containers = [summary(project, s, config_hash=changed.get(s)) for s in project.services]
    return state(project, containers, volumes=[volume("p_data")])


def ops(plan: Plan) -> list[tuple[str, str]]:
    return [(op.kind.value, op.resource.split(" ", 1)[1]) for op in plan]


def op_id(plan: Plan, kind: Kind, name: str) -> str:
    op = plan.find(kind, f"Container {name}")
    assert op is not None, (kind, name, ops(plan))
    return op.id


def test_fresh_project_creates_everything_and_starts_in_dependency_order(app: Project) -> None:
    plan = plan_up(app, state(app, networks=[]))
    assert ("create_network", "p_default") in ops(plan)
    assert ("create_volume", '"p_data"') in ops(plan)
    creates = plan.of_kind(Kind.CREATE_CONTAINER)
    assert sorted(str(op.target) for op in creates) == ["p-cache-1", "p-db-1", "p-web-1", "p-worker-1"]
    # creates wait for their network and volumes, so they run side by side; one whose start waits on a
    # dependency's health is created once that dependency started (the wait is longer than a create)
    for op in creates:
        kinds = {plan[d].kind for d in op.depends_on}
        if str(op.target) == "p-web-1":
            assert kinds == {Kind.CREATE_NETWORK, Kind.START_CONTAINER}
            assert plan.precedes(op_id(plan, Kind.START_CONTAINER, "p-db-1"), op.id)
        else:
            assert kinds <= {Kind.CREATE_NETWORK, Kind.CREATE_VOLUME}
    start_web = op_id(plan, Kind.START_CONTAINER, "p-web-1")
    wait_db = op_id(plan, Kind.WAIT_CONDITION, "p-db-1")
    assert plan[wait_db].payload.condition == "service_healthy"
    assert plan.precedes(op_id(plan, Kind.START_CONTAINER, "p-db-1"), wait_db)
    assert plan.precedes(wait_db, start_web)
    assert plan.precedes(op_id(plan, Kind.START_CONTAINER, "p-cache-1"), start_web)
    assert not plan.precedes(op_id(plan, Kind.START_CONTAINER, "p-cache-1"), op_id(plan, Kind.START_CONTAINER,
                                                                                    "p-db-1"))
    # the start of a new container names it by the create operation's result
    assert plan[start_web].target == Ref(op_id(plan, Kind.CREATE_CONTAINER, "p-web-1"))
    assert plan.warnings == []


def test_insertion_order_is_a_dependency_order(app: Project) -> None:
    seen: set[str] = set()
    for op in plan_up(app, state(app, networks=[])):
        assert op.depends_on <= seen
        seen.add(op.id)


def test_nothing_to_do_when_everything_is_up_to_date(app: Project) -> None:
    plan = plan_up(app, running(app))
    assert ops(plan) == []
    assert plan.unchanged == [f"Container p-{s}-1" for s in ("cache", "db", "web", "worker")]


def test_stopped_up_to_date_container_is_only_started(app: Project) -> None:
    containers = [summary(app, s, state="exited" if s == "cache" else "running") for s in app.services]
    plan = plan_up(app, state(app, containers, volumes=[volume("p_data")]))
    assert ops(plan) == [("start_container", "p-cache-1")]
    assert plan.of_kind(Kind.START_CONTAINER)[0].target == "cache1".ljust(64, "0")


def test_changed_service_is_recreated_the_docker_way(app: Project) -> None:
    plan = plan_up(app, running(app, cache="old"))
    assert ops(plan) == [
        ("create_container", "p-cache-1"),
        ("stop_container", "p-cache-1"),
        ("remove_container", "p-cache-1"),
        ("rename_container", "p-cache-1"),
        ("start_container", "p-cache-1"),
    ]
    create, stop, remove, rename, start = list(plan)
    old = "cache1".ljust(64, "0")
    assert create.target == f"{old[:12]}_p-cache-1"
    assert create.payload.body["Labels"]["com.docker.compose.replace"] == "p-cache-1"
    assert stop.target == old and remove.target == old
    assert rename.target == Ref(create.id) and rename.payload == Rename("p-cache-1")
    assert stop.depends_on == {create.id} and rename.depends_on == {remove.id, create.id}
    assert start.depends_on == {rename.id, create.id}
    assert create.progress == ("Recreate", "") and rename.progress == ("", "Recreated")
    # web depends on cache without `restart: true`: left alone
    assert plan.find(Kind.STOP_CONTAINER, "Container p-web-1") is None


def test_restart_true_dependents_stop_before_and_start_after_the_recreate(app: Project) -> None:
    plan = plan_up(app, running(app, db="old"))
    stop_web = op_id(plan, Kind.STOP_CONTAINER, "p-web-1")
    stops_db = [op for op in plan.of_kind(Kind.STOP_CONTAINER) if op.resource == "Container p-db-1"]
    assert len(stops_db) == 1 and stop_web in stops_db[0].depends_on
    start_web = op_id(plan, Kind.START_CONTAINER, "p-web-1")
    assert plan.precedes(op_id(plan, Kind.WAIT_CONDITION, "p-db-1"), start_web)
    assert plan.precedes(stop_web, start_web)
    # worker depends on db without restart: it keeps running
    assert plan.find(Kind.STOP_CONTAINER, "Container p-worker-1") is None
    assert {op.resource for op in plan if op.kind is Kind.CREATE_CONTAINER} == {"Container p-db-1"}


def test_restart_dependent_outside_the_selection_is_started_again(app: Project) -> None:
    plan = plan_up(app, running(app, db="old"), UpOptions(services=("db",)))
    assert plan.find(Kind.STOP_CONTAINER, "Container p-web-1") is not None
    assert plan.precedes(op_id(plan, Kind.WAIT_CONDITION, "p-db-1"), op_id(plan, Kind.START_CONTAINER, "p-web-1"))


def test_no_recreate_keeps_diverged_containers(app: Project) -> None:
    assert ops(plan_up(app, running(app, db="old", web="old"), UpOptions(no_recreate=True))) == []


def test_force_recreate_recreates_the_named_services_only(app: Project) -> None:
    plan = plan_up(app, running(app), UpOptions(services=("web",), force_recreate=True))
    recreated = {op.resource for op in plan if op.kind is Kind.RENAME_CONTAINER}
    assert recreated == {"Container p-web-1"}
    plan = plan_up(app, running(app), UpOptions(services=("web",), always_recreate_deps=True))
    recreated = {op.resource for op in plan if op.kind is Kind.RENAME_CONTAINER}
    assert recreated == {"Container p-db-1", "Container p-cache-1"}


def test_force_recreate_without_services_recreates_all(app: Project) -> None:
    plan = plan_up(app, running(app), UpOptions(force_recreate=True))
    assert len(plan.of_kind(Kind.RENAME_CONTAINER)) == 4


def test_incompatible_flags_and_unknown_services(app: Project) -> None:
    with pytest.raises(ComposeError, match="incompatible"):
        plan_up(app, running(app), UpOptions(force_recreate=True, no_recreate=True))
    with pytest.raises(ComposeError, match="incompatible"):
        plan_up(app, running(app), UpOptions(always_recreate_deps=True, no_recreate=True))
    with pytest.raises(ComposeError, match="no such service: nope"):
        plan_up(app, running(app), UpOptions(services=("nope",)))
    with pytest.raises(ComposeError, match="no such service: nope"):
        plan_up(app, running(app), UpOptions(scale={"nope": 2}))


def test_image_change_recreates(app: Project) -> None:
    plan = plan_up(app, running(app), UpOptions(), UpFacts(images={"cache": "sha256:new", "db": "sha256:img"}))
    assert {op.resource for op in plan.of_kind(Kind.RENAME_CONTAINER)} == {"Container p-cache-1"}
    create = plan.find(Kind.CREATE_CONTAINER, "Container p-cache-1")
    assert create is not None and create.payload.body["Labels"]["com.docker.compose.image"] == "sha256:new"


def test_missing_network_or_volume_recreates(app: Project) -> None:
    containers = [summary(app, s, networks=["other"] if s == "cache" else None) for s in app.services]
    plan = plan_up(app, state(app, containers, volumes=[volume("p_data")]))
    assert {op.resource for op in plan.of_kind(Kind.RENAME_CONTAINER)} == {"Container p-cache-1"}
    mount = {"Type": "volume", "Name": "elsewhere", "Destination": "/var/lib/db", "RW": True}
    containers = [summary(app, s, mounts=[mount] if s == "db" else None) for s in app.services]
    plan = plan_up(app, state(app, containers, volumes=[volume("p_data")]))
    assert {op.resource for op in plan.of_kind(Kind.RENAME_CONTAINER)} == {"Container p-db-1"}


def test_scale_up_reuses_numbers_from_one(tmp_path: Path) -> None:
    project = load(tmp_path, "services:\n  web: {image: nginx, scale: 3}\n")
    plan = plan_up(project, state(project, [summary(project, "web", 2)]))
    assert sorted(str(op.target) for op in plan.of_kind(Kind.CREATE_CONTAINER)) == ["p-web-1", "p-web-3"]
    labels = [op.payload.body["Labels"]["com.docker.compose.container-number"]
              for op in plan.of_kind(Kind.CREATE_CONTAINER)]
    assert sorted(labels) == ["1", "3"]


def test_scale_down_removes_diverged_then_highest_numbers(tmp_path: Path) -> None:
    project = load(tmp_path, "services:\n  web: {image: nginx, deploy: {replicas: 4}}\n")
    containers = [summary(project, "web", n, config_hash="old" if n == 1 else None) for n in (1, 2, 3, 4)]
    plan = plan_up(project, state(project, containers), UpOptions(scale={"web": 2}))
    assert {op.resource for op in plan.of_kind(Kind.REMOVE_CONTAINER)} == {"Container p-web-1", "Container p-web-4"}
    assert plan.of_kind(Kind.CREATE_CONTAINER) == []
    plan = plan_up(project, state(project, containers[1:]), UpOptions(scale={"web": 1}))
    assert {op.resource for op in plan.of_kind(Kind.REMOVE_CONTAINER)} == {"Container p-web-3", "Container p-web-4"}
    plan = plan_up(project, state(project, containers[1:]), UpOptions(scale={"web": 0}))
    assert len(plan.of_kind(Kind.STOP_CONTAINER)) == 3 and len(plan.of_kind(Kind.REMOVE_CONTAINER)) == 3


def test_custom_container_name_cannot_scale(tmp_path: Path) -> None:
    project = load(tmp_path, "services:\n  web: {image: nginx, container_name: www}\n")
    assert plan_up(project, state(project)).of_kind(Kind.CREATE_CONTAINER)[0].target == "www"
    with pytest.raises(ComposeError, match="custom container name"):
        plan_up(project, state(project), UpOptions(scale={"web": 2}))


def test_orphans_warn_or_go(app: Project) -> None:
    containers = [summary(app, s) for s in app.services] + [summary(app, "gone")]
    observed = state(app, containers, volumes=[volume("p_data")])
    plan = plan_up(app, observed)
    assert ops(plan) == [] and "Found orphan containers (p-gone-1)" in plan.warnings[0]
    plan = plan_up(app, observed, UpOptions(remove_orphans=True))
    assert ops(plan) == [("stop_container", "p-gone-1"), ("remove_container", "p-gone-1")]
    assert plan_up(app, observed, UpOptions(), UpFacts(known_services=frozenset({"gone"}))).warnings == []


def test_renew_anon_volumes(tmp_path: Path) -> None:
    project = load(tmp_path, "services:\n  web: {image: nginx, volumes: [/cache]}\n")
    anon = {"Type": "volume", "Name": "a" * 64, "Destination": "/cache", "RW": True}
    image_volume = {"Type": "volume", "Name": "b" * 64, "Destination": "/from-image", "RW": True}
    observed = state(project, [summary(project, "web", config_hash="old", mounts=[anon, image_volume])])
    create = plan_up(project, observed).of_kind(Kind.CREATE_CONTAINER)[0]
    assert create.payload.body["HostConfig"]["Mounts"] == [
        {"Type": "volume", "Source": "a" * 64, "Target": "/cache", "ReadOnly": False},
        {"Type": "volume", "Source": "b" * 64, "Target": "/from-image", "ReadOnly": False},
    ]
    create = plan_up(project, observed, UpOptions(renew_anon_volumes=True)).of_kind(Kind.CREATE_CONTAINER)[0]
    assert create.payload.body["HostConfig"]["Mounts"] == [{"Type": "volume", "Target": "/cache"}]


def test_shared_network_namespace(tmp_path: Path) -> None:
    project = load(tmp_path, "services:\n  vpn: {image: a}\n  app: {image: b, network_mode: 'service:vpn'}\n")
    plan = plan_up(project, state(project))
    create_vpn = op_id(plan, Kind.CREATE_CONTAINER, "p-vpn-1")
    create_app = plan.find(Kind.CREATE_CONTAINER, "Container p-app-1")
    assert create_app is not None
    assert create_app.payload.body["HostConfig"]["NetworkMode"] == Ref(create_vpn, "container:")
    assert create_vpn in create_app.depends_on
    vpn = summary(project, "vpn")
    app = summary(project, "app", network_mode=f"container:{vpn['Id']}")
    assert ops(plan_up(project, state(project, [vpn, app]))) == []
    # the vpn container is replaced: the app container must follow it
    plan = plan_up(project, state(project, [{**vpn, "Labels": {**vpn["Labels"], "com.docker.compose.config-hash":
                                                               "old"}}, app]))
    assert {op.resource for op in plan.of_kind(Kind.RENAME_CONTAINER)} == {"Container p-vpn-1", "Container p-app-1"}
    # pointing at a container that is not vpn's any more
    stale = summary(project, "app", network_mode="container:deadbeef")
    assert {op.resource for op in plan_up(project, state(project, [vpn, stale])).of_kind(Kind.RENAME_CONTAINER)} \
        == {"Container p-app-1"}


def test_no_deps_plans_only_the_named_service(app: Project) -> None:
    plan = plan_up(app, state(app), UpOptions(services=("web",), no_deps=True))
    assert [op.kind for op in plan] == [Kind.CREATE_CONTAINER, Kind.START_CONTAINER]
    plan = plan_up(app, state(app, volumes=[volume("p_data")]), UpOptions(services=("web",)))
    assert {op.target for op in plan.of_kind(Kind.CREATE_CONTAINER)} == {"p-web-1", "p-db-1", "p-cache-1"}


def test_no_start_only_creates(app: Project) -> None:
    plan = plan_up(app, state(app, volumes=[volume("p_data")]), UpOptions(no_start=True))
    assert {op.kind for op in plan} == {Kind.CREATE_CONTAINER}


def test_wait_waits_for_every_service(app: Project) -> None:
    plan = plan_up(app, state(app, volumes=[volume("p_data")]), UpOptions(wait=True, wait_timeout=30))
    waits = {(op.resource, op.payload.condition, op.payload.required) for op in plan.of_kind(Kind.WAIT_CONDITION)}
    assert ("Container p-worker-1", "running_or_healthy", True) in waits
    # web's dependency wait (healthy) is also --wait's (running or healthy): one wait, so one Waiting/Healthy
    assert ("Container p-db-1", "service_healthy", True) in waits
    assert ("Container p-db-1", "running_or_healthy", True) not in waits
    assert [op.resource for op in plan.of_kind(Kind.WAIT_CONDITION)].count("Container p-db-1") == 1
    for name in ("p-worker-1", "p-db-1"):
        message = plan.find(Kind.WAIT_CONDITION, f"Container {name}")
        assert message is not None and message.payload.timeout_message == "application not healthy after 30s"


def test_optional_dependency_wait_is_not_required(tmp_path: Path) -> None:
    project = load(tmp_path, """
services:
  init: {image: a}
  app:
    image: b
    depends_on: {init: {condition: service_completed_successfully, required: false}}
""")
    plan = plan_up(project, state(project))
    wait = plan.find(Kind.WAIT_CONDITION, "Container p-init-1")
    assert wait is not None
    assert wait.payload.condition == "service_completed_successfully" and wait.payload.required is False


def test_external_resources_must_exist(tmp_path: Path) -> None:
    project = load(tmp_path, "services:\n  a: {image: x, networks: [outside]}\nnetworks: {outside: {external: true}}\n")
    with pytest.raises(ComposeError, match="network outside declared as external, but could not be found"):
        plan_up(project, state(project, networks=[]))
    assert ops(plan_up(project, state(project, networks=[network("outside", project=None)]))) == [
        ("create_container", "p-a-1"), ("start_container", "p-a-1")]
    project = load(tmp_path, "services:\n  a: {image: x, volumes: ['vol:/v']}\nvolumes: {vol: {external: true}}\n")
    with pytest.raises(ComposeError, match='external volume "vol" not found'):
        plan_up(project, state(project))


def test_foreign_network_and_volume_are_used_with_a_warning(app: Project) -> None:
    plan = plan_up(app, state(app, [summary(app, s) for s in app.services], networks=[network("p_default", None)],
                              volumes=[volume("p_data", project=None)]))
    assert ops(plan) == []
    assert any("was not created by compose" in w for w in plan.warnings)
    assert any("was not created by Docker Compose" in w for w in plan.warnings)


def test_diverged_network_is_recreated_with_its_containers(app: Project) -> None:
    networks = [network("p_default", config_hash="stale")]
    containers = [summary(app, s) for s in ("db", "cache", "web")] + [summary(app, "worker")]
    plan = plan_up(app, state(app, containers, networks=networks, volumes=[volume("p_data")]),
                   UpOptions(services=("cache",), no_deps=True))
    remove_net = plan.find(Kind.REMOVE_NETWORK, "Network p_default")
    create_net = plan.find(Kind.CREATE_NETWORK, "Network p_default")
    assert remove_net is not None and create_net is not None and plan.precedes(remove_net.id, create_net.id)
    assert create_net.payload.body["Labels"]["com.docker.compose.config-hash"] == resource_hash(
        app.networks["default"])
    # cache is ours: removed and created again under its name once the network is back
    create_cache = op_id(plan, Kind.CREATE_CONTAINER, "p-cache-1")
    assert plan.precedes(op_id(plan, Kind.REMOVE_CONTAINER, "p-cache-1"), create_cache)
    assert create_net.id in plan[create_cache].depends_on
    # the others are disconnected before and reconnected after
    disconnect = op_id(plan, Kind.DISCONNECT_NETWORK, "p-web-1")
    connect = op_id(plan, Kind.CONNECT_NETWORK, "p-web-1")
    assert plan.precedes(disconnect, remove_net.id) and plan.precedes(create_net.id, connect)
