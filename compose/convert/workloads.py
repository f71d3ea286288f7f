"""The controller of each service: Deployment, StatefulSet (asked by the `kompose.controller.type`
label), DaemonSet (`deploy.mode: global`), or a bare Pod for `restart: "no"` / `on-failure`, as
kompose does. A one-shot service others wait for with `service_completed_successfully` runs as their
init container instead of on its own."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from compose.convert.deploy import HANDLED, rolling_update
from compose.convert.names import CONTROLLER_LABEL, dns_label, is_key, is_label, metadata, selector, service_name
from compose.convert.pod import COMPLETED, PodTemplate, pod_template, restart_policy
from compose.convert.storage import claim_name, claim_spec
from compose.convert.types import Manifest, Unconverted
from compose.model import Project, Service

_KINDS = {"deployment": "Deployment", "statefulset": "StatefulSet", "daemonset": "DaemonSet"}
_API = {"Deployment": "apps/v1", "StatefulSet": "apps/v1", "DaemonSet": "apps/v1", "Pod": "v1"}


def init_only(project: Project, svc: Service) -> list[str]:
    """The services that run `svc` as an init container, when it has no controller of its own."""
    waiters = sorted(s.name for s in project.services.values()
                     if (d := s.depends_on.get(svc.name)) is not None and d.condition == COMPLETED)
    return waiters if restart_policy(svc) in (None, "Never", "OnFailure") else []


def controller_kind(svc: Service, warn: list[Unconverted]) -> str:
    asked = svc.labels.get(CONTROLLER_LABEL)
    mode = (svc.config.get("deploy") or {}).get("mode", "replicated")
    if asked is not None:
        if asked.lower() in _KINDS:
            return _KINDS[asked.lower()]
        warn.append(Unconverted(svc.name, f"labels.{CONTROLLER_LABEL}", f"unknown controller {asked!r}"))
    if mode == "global":
        return "DaemonSet"
    if mode != "replicated":
        warn.append(Unconverted(svc.name, "deploy.mode", f"{mode} is not converted: a Deployment is made"))
    if restart_policy(svc) in ("Never", "OnFailure"):
        return "Pod"
    return "Deployment"


def _labels_and_annotations(svc: Service, warn: list[Unconverted]) -> tuple[dict[str, str], dict[str, str]]:
    """`deploy.labels` label the controller; `labels` (any text) annotate it and its pods, as kompose."""
    labels: dict[str, str] = {}
    annotations: dict[str, str] = {}
    for key, value in svc.labels.items():
        if is_key(key):
            annotations[key] = str(value)
        else:
            warn.append(Unconverted(svc.name, "labels", f"{key!r} is not a valid annotation key: left out"))
    for key, value in ((svc.config.get("deploy") or {}).get("labels") or {}).items():
        if is_label(key, str(value)):
            labels[key] = str(value)
        elif is_key(key):
            annotations[key] = str(value)
            warn.append(Unconverted(svc.name, "deploy.labels", f"{key}: the value is not a valid label value: "
                                    "made an annotation"))
        else:
            warn.append(Unconverted(svc.name, "deploy.labels", f"{key!r} is not a valid label key: left out"))
    return labels, annotations


def workload(project: Project, svc: Service, warn: list[Unconverted]) -> tuple[Manifest, PodTemplate]:
    kind = controller_kind(svc, warn)
    pod = pod_template(project, svc, kind == "StatefulSet", warn)
    name = dns_label(svc.name)
    labels, annotations = _labels_and_annotations(svc, warn)
    meta = metadata(name, project.name, svc.name, labels, annotations)
    template_meta = {k: v for k, v in metadata(name, project.name, svc.name, labels, annotations).items()
                     if k != "name"}
    body: dict[str, Any] = {"apiVersion": _API[kind], "kind": kind, "metadata": meta}
    if kind == "Pod":
        body["spec"] = {**pod.spec, "restartPolicy": restart_policy(svc)}
        if svc.scale != 1 or (svc.config.get("deploy") or {}).get("update_config"):
            warn.append(Unconverted(svc.name, "deploy", "replicas and update_config are not converted for a "
                                    "bare Pod (its restart policy is not Always)"))
        _deploy_warnings(svc, warn)
        return Manifest(kind, name, body), pod
    spec: dict[str, Any] = {"selector": {"matchLabels": selector(svc.name)},
                            "template": {"metadata": template_meta, "spec": pod.spec}}
    if kind != "DaemonSet":
        spec["replicas"] = svc.scale
    elif "replicas" in (svc.config.get("deploy") or {}):
        warn.append(Unconverted(svc.name, "deploy.replicas", "not converted: a DaemonSet runs one pod per node"))
    strategy = rolling_update(svc, warn)
    if kind == "Deployment" and pod.volume_users:
        spec["strategy"] = {"type": "Recreate"}  # a ReadWriteOnce claim cannot be mounted by two rollouts
        if strategy is not None:
            warn.append(Unconverted(svc.name, "deploy.update_config", "not converted: a pod with a "
                                    "ReadWriteOnce claim is replaced with the Recreate strategy"))
    elif kind == "Deployment" and strategy is not None:
        spec["strategy"] = strategy
    elif strategy is not None:
        warn.append(Unconverted(svc.name, "deploy.update_config", f"not converted for a {kind}"))
    if kind == "StatefulSet":
        spec["serviceName"] = service_name(svc.name)
        if pod.claims:
            spec["volumeClaimTemplates"] = [
                {"metadata": {"name": claim_name(c)}, "spec": claim_spec(project, c)} for c in pod.claims
            ]
    _deploy_warnings(svc, warn)
    body["spec"] = spec
    return Manifest(kind, name, body), pod


def _deploy_warnings(svc: Service, warn: list[Unconverted]) -> None:
    deploy: Mapping[str, Any] = svc.config.get("deploy") or {}
    for key in sorted(set(deploy) - HANDLED):
        warn.append(Unconverted(svc.name, f"deploy.{key}", "not converted"))
    for key in sorted(set(deploy.get("restart_policy") or {}) - {"condition"}):
        warn.append(Unconverted(svc.name, f"deploy.restart_policy.{key}", "not converted"))
    resources = deploy.get("resources") or {}
    for section in ("limits", "reservations"):
        for key in sorted(set(resources.get(section) or {}) - {"cpus", "memory"}):
            warn.append(Unconverted(svc.name, f"deploy.resources.{section}.{key}", "not converted"))
