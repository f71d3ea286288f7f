"""The `deploy` keys kompose converts besides mode, replicas, resources and labels:
placement constraints and preferences (nodeSelector / node affinity), update_config (the
Deployment's rolling update) and restart_policy (the pod's restart policy)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from compose.convert.types import Unconverted
from compose.model import Service

HANDLED = frozenset({"mode", "replicas", "resources", "labels", "placement", "update_config", "restart_policy"})
_CONSTRAINT = re.compile(r"^\s*node\.(hostname|labels\.([^\s=!]+)|platform\.os|platform\.arch)\s*(==|!=)\s*(\S+)\s*$")
_WELL_KNOWN = {"hostname": "kubernetes.io/hostname", "platform.os": "kubernetes.io/os",
               "platform.arch": "kubernetes.io/arch"}
_CONDITIONS = {"none": "Never", "on-failure": "OnFailure", "any": "Always"}


def _deploy(svc: Service) -> Mapping[str, Any]:
    return svc.config.get("deploy") or {}


def placement(svc: Service, warn: list[Unconverted]) -> dict[str, Any]:
    """`node.labels.K == V` -> nodeSelector; `!=` -> a required node affinity NotIn term."""
    place = _deploy(svc).get("placement") or {}
    selector: dict[str, str] = {}
    not_in: list[dict[str, Any]] = []
    for text in place.get("constraints") or ():
        match = _CONSTRAINT.match(str(text))
        if not match:
            warn.append(Unconverted(svc.name, "deploy.placement.constraints", f"{text!r} is not converted"))
            continue
        field, label, op, value = match.groups()
        key = label if label else _WELL_KNOWN[field]
        if op == "==":
            selector[key] = value
        else:
            not_in.append({"key": key, "operator": "NotIn", "values": [value]})
    out: dict[str, Any] = {}
    if selector:
        out["nodeSelector"] = dict(sorted(selector.items()))
    if not_in:
        out["affinity"] = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": [{"matchExpressions": sorted(not_in, key=lambda e: (e["key"], e["values"]))}]}}}
    for key in sorted(set(place) - {"constraints"}):
        warn.append(Unconverted(svc.name, f"deploy.placement.{key}", "not converted"))
    return out


def rolling_update(svc: Service, warn: list[Unconverted]) -> dict[str, Any] | None:
    """`update_config`: parallelism pods at a time, new ones first (start-first) or old ones first."""
    update = _deploy(svc).get("update_config")
    if not update:
        return None
    count = int(update.get("parallelism", 1))
    step: int | str = count if count > 0 else "100%"  # 0: all at once
    rolling: dict[str, int | str]
    if update.get("order") == "start-first":
        rolling = {"maxSurge": step, "maxUnavailable": 0}
    else:
        rolling = {"maxSurge": 0, "maxUnavailable": step}
    for key in sorted(set(update) - {"parallelism", "order"}):
        warn.append(Unconverted(svc.name, f"deploy.update_config.{key}", "not converted"))
    return {"type": "RollingUpdate", "rollingUpdate": rolling}


def restart_condition(svc: Service) -> str | None:
    """The pod restart policy `deploy.restart_policy.condition` asks for, if any."""
    condition = (_deploy(svc).get("restart_policy") or {}).get("condition")
    return _CONDITIONS.get(str(condition)) if condition is not None else None
