"""The conversion rules one by one, on small projects loaded in-process (no subprocess, no engine)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from compose.convert import Conversion, ConvertError, to_kubernetes
from compose.convert.names import dns_label, service_name
from compose.convert.quantities import cpu, memory, seconds
from compose.loader.project import LoadOptions, load_project
from tests.compose.convert.kube import strict_errors


def _convert(tmp_path: Path, text: str, environ: dict[str, str] | None = None) -> Conversion:
    (tmp_path / "compose.yaml").write_text("name: t\n" + text)
    project = load_project(LoadOptions(working_dir=tmp_path, environ=environ or {})).project
    result = to_kubernetes(project)
    from compose.convert.render import stream

    assert strict_errors(stream(result.manifests)) == []
    return result


def _one(result: Conversion, kind: str, name: str) -> dict[str, Any]:
    (found,) = [m.body for m in result.manifests if m.kind == kind and m.name == name]
    return dict(found)


def _warnings(result: Conversion) -> list[str]:
    return [str(w) for w in result.warnings]


def test_quantities() -> None:
    assert (cpu(0.5), cpu(2), cpu("1.25"), cpu(0.001)) == ("500m", "2", "1250m", "1m")
    assert (memory("268435456"), memory("1536"), memory(1000), memory("1g")) == ("256Mi", "1536", "1000", "1Gi")
    assert (seconds("1m30s"), seconds("100ms", 1), seconds("1500ms"), seconds("0s")) == (90, 1, 2, 0)


def test_names() -> None:
    assert dns_label("My_App.web") == "my-app-web"
    long = dns_label("x" * 80)
    assert len(long) == 63 and long != dns_label("x" * 81)
    assert service_name("1st") == "s-1st"


@pytest.mark.parametrize(("restart", "policy"), [('"no"', "Never"), ("on-failure:3", "OnFailure")])
def test_a_service_that_should_not_always_restart_is_a_pod(tmp_path: Path, restart: str, policy: str) -> None:
    result = _convert(tmp_path, f"services:\n  once:\n    image: x\n    restart: {restart}\n")
    assert _one(result, "Pod", "once")["spec"]["restartPolicy"] == policy


def test_global_mode_is_a_daemonset(tmp_path: Path) -> None:
    result = _convert(tmp_path, "services:\n  agent:\n    image: x\n    deploy: {mode: global, replicas: 2}\n")
    assert "replicas" not in _one(result, "DaemonSet", "agent")["spec"]
    assert "agent: deploy.replicas: not converted: a DaemonSet runs one pod per node" in _warnings(result)


def test_statefulset_claims_per_replica_and_has_a_headless_service(tmp_path: Path) -> None:
    result = _convert(tmp_path, """\
services:
  db:
    image: postgres
    scale: 2
    labels: {kompose.controller.type: statefulset}
    volumes: [pg:/var/lib/postgresql/data]
volumes:
  pg:
    labels: {kompose.volume.size: 2Gi}
""")
    spec = _one(result, "StatefulSet", "db")["spec"]
    assert spec["replicas"] == 2 and spec["serviceName"] == "db"
    assert spec["volumeClaimTemplates"][0]["metadata"]["name"] == "pg"
    assert spec["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"] == "2Gi"
    assert "volumes" not in spec["template"]["spec"]
    assert not [m for m in result.manifests if m.kind == "PersistentVolumeClaim"]
    assert _one(result, "Service", "db")["spec"]["clusterIP"] == "None"


def test_service_type_label_and_expose_ranges(tmp_path: Path) -> None:
    result = _convert(tmp_path, """\
services:
  web:
    image: x
    labels: {kompose.service.type: nodeport}
    ports: ["80"]
    expose: ["7000-7001/udp"]
""")
    spec = _one(result, "Service", "web")["spec"]
    assert spec["type"] == "NodePort"
    assert [(p["name"], p["port"], p["protocol"]) for p in spec["ports"]] == [
        ("80", 80, "TCP"), ("7000-udp", 7000, "UDP"), ("7001-udp", 7001, "UDP")]


def test_completed_dependencies_are_init_containers_in_order(tmp_path: Path) -> None:
    result = _convert(tmp_path, """\
services:
  app:
    image: app
    depends_on: {migrate: {condition: service_completed_successfully}}
  migrate:
    image: tool
    depends_on: {seed: {condition: service_completed_successfully}}
  seed:
    image: tool
    restart: "no"
    ports: ["80"]
""")
    pod = _one(result, "Deployment", "app")["spec"]["template"]["spec"]
    assert [c["name"] for c in pod["initContainers"]] == ["seed", "migrate"]
    assert {m.name for m in result.manifests} == {"app"}
    assert "seed: ports: not converted: the service runs as an init container" in _warnings(result)


def test_a_completed_dependency_that_always_restarts_keeps_its_own_deployment(tmp_path: Path) -> None:
    result = _convert(tmp_path, """\
services:
  app:
    image: app
    depends_on: {migrate: {condition: service_completed_successfully}}
  migrate:
    image: tool
    restart: always
    healthcheck: {test: ["CMD", "true"]}
""")
    assert _one(result, "Deployment", "migrate")
    init = _one(result, "Deployment", "app")["spec"]["template"]["spec"]["initContainers"][0]
    assert "livenessProbe" not in init
    assert "migrate: healthcheck: not converted: an init container has no probes" in _warnings(result)


def test_healthcheck_disabled_or_none_has_no_probe(tmp_path: Path) -> None:
    result = _convert(tmp_path, """\
services:
  a: {image: x, healthcheck: {disable: true}}
  b: {image: x, healthcheck: {test: ["NONE"]}}
""")
    for name in ("a", "b"):
        assert "livenessProbe" not in _one(result, "Deployment", name)["spec"]["template"]["spec"]["containers"][0]


def test_what_cannot_be_converted_is_warned(tmp_path: Path) -> None:
    result = _convert(tmp_path, """\
services:
  web:
    image: x
    user: www-data
    devices: ["/dev/fuse"]
    deploy:
      labels: {"not a label": "v", team: "back end"}
      placement: {constraints: ["node.role == manager"]}
    secrets: [key]
secrets:
  key: {environment: KEY}
""")
    assert _warnings(result) == [
        "secrets.key: environment: variable KEY is not set: the object is empty",
        "web: deploy.labels: 'not a label' is not a valid label key: left out",
        "web: deploy.labels: team: the value is not a valid label value: made an annotation",
        "web: deploy.placement.constraints: 'node.role == manager' is not converted",
        "web: devices: not converted",
        "web: user: 'www-data' is not numeric: Kubernetes needs an id",
    ]
    assert _one(result, "Deployment", "web")["metadata"]["annotations"] == {"team": "back end"}


def test_environment_goes_to_a_configmap_names_kubernetes_refuses_are_warned(tmp_path: Path) -> None:
    result = _convert(tmp_path, "services:\n  web:\n    image: x\n    environment: {A: '1', 'B C': '2', D: null}\n")
    assert _one(result, "ConfigMap", "web-env")["data"] == {"A": "1"}
    container = _one(result, "Deployment", "web")["spec"]["template"]["spec"]["containers"][0]
    assert container["envFrom"] == [{"configMapRef": {"name": "web-env"}}]
    assert _warnings(result) == ["web: environment: 'B C' is not a variable name Kubernetes 1.30 takes: left out",
                                 "web: environment: D has no value (unset variable): left out"]


def test_name_collisions_are_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConvertError, match="two Deployment objects would be named a-b"):
        _convert(tmp_path, "services:\n  a_b: {image: x}\n  a-b: {image: x}\n")


def test_volumes_from_shares_the_other_services_claims_and_binds(tmp_path: Path) -> None:
    result = _convert(tmp_path, """\
services:
  a: {image: x, volumes: ["data:/d", "/h:/h", "/anon"]}
  b: {image: x, volumes_from: ["a:ro"]}
volumes:
  data: {}
""")
    pod = _one(result, "Deployment", "b")["spec"]["template"]["spec"]
    assert pod["containers"][0]["volumeMounts"] == [
        {"mountPath": "/d", "name": "data", "readOnly": True},
        {"mountPath": "/h", "name": "a-host1", "readOnly": True},
    ]
    assert "b: volumes_from: the anonymous volume /anon of a is not shared: each pod has its own" in _warnings(result)
    assert "volumes.data: volumes: one ReadWriteOnce claim mounted by a, b: their pods must run on one node" in (
        _warnings(result))


def test_privileged_wins_over_no_new_privileges(tmp_path: Path) -> None:
    result = _convert(tmp_path, "services:\n  a: {image: x, privileged: true, security_opt: [no-new-privileges]}\n")
    security = _one(result, "Deployment", "a")["spec"]["template"]["spec"]["containers"][0]["securityContext"]
    assert security == {"privileged": True}


def test_a_port_published_in_host_mode_is_a_host_port(tmp_path: Path) -> None:
    result = _convert(tmp_path, """\
services:
  web:
    image: x
    ports:
      - {target: 80, published: "8080", mode: host}
      - "9000"
""")
    container = _one(result, "Deployment", "web")["spec"]["template"]["spec"]["containers"][0]
    assert container["ports"] == [{"containerPort": 80, "hostPort": 8080, "protocol": "TCP"},
                                  {"containerPort": 9000, "protocol": "TCP"}]
    assert [(p["port"], p["targetPort"]) for p in _one(result, "Service", "web")["spec"]["ports"]] == [
        (8080, 80), (9000, 9000)]


def test_dollars_in_command_and_entrypoint_stay_literal(tmp_path: Path) -> None:
    result = _convert(tmp_path, """\
services:
  web:
    image: x
    entrypoint: ["sh", "-c"]
    command: ["echo $$(date) $$HOME $$$$"]
""")
    container = _one(result, "Deployment", "web")["spec"]["template"]["spec"]["containers"][0]
    assert container["args"] == ["echo $$(date) $$HOME $$$$"]  # Kubernetes turns it back into $(date) $HOME $$


@pytest.mark.parametrize(("update", "rolling"), [
    ("{parallelism: 2, order: start-first}", {"maxSurge": 2, "maxUnavailable": 0}),
    ("{parallelism: 0}", {"maxSurge": 0, "maxUnavailable": "100%"}),
])
def test_update_config_is_a_rolling_update(tmp_path: Path, update: str, rolling: dict[str, Any]) -> None:
    result = _convert(tmp_path, f"services:\n  web:\n    image: x\n    deploy:\n      update_config: {update}\n")
    assert _one(result, "Deployment", "web")["spec"]["strategy"] == {"type": "RollingUpdate", "rollingUpdate": rolling}
