"""A Kubernetes Service per compose service with `ports` or `expose` (and the governing, headless
Service of a StatefulSet). Its type comes from the `kompose.service.type` label, ClusterIP by default."""

from __future__ import annotations

import re
from typing import Any

from compose.convert.names import SERVICE_TYPE_LABEL, metadata, selector, service_name
from compose.convert.types import Manifest, Unconverted
from compose.model import Project, Service

_TYPES = {"clusterip": "ClusterIP", "nodeport": "NodePort", "loadbalancer": "LoadBalancer", "headless": "None"}
_EXPOSE = re.compile(r"^(\d+)(?:-(\d+))?(?:/(tcp|udp|sctp))?$")


def _port(number: int, target: int, protocol: str) -> dict[str, Any]:
    name = str(number) if protocol == "TCP" else f"{number}-{protocol.lower()}"
    return {"name": name, "port": number, "targetPort": target, "protocol": protocol}


def service_ports(svc: Service, warn: list[Unconverted]) -> list[dict[str, Any]]:
    ports: dict[tuple[int, str], dict[str, Any]] = {}
    for p in svc.ports:
        protocol = p.protocol.upper()
        number = p.target
        if p.published:
            if p.published.isdigit():
                number = int(p.published)
            else:
                warn.append(Unconverted(svc.name, "ports", f"published range {p.published} is not converted: "
                                                           f"port {p.target} is used"))
        if p.host_ip:
            warn.append(Unconverted(svc.name, "ports", f"host_ip {p.host_ip} of port {p.target} is not converted"))
        ports.setdefault((number, protocol), _port(number, p.target, protocol))
    for entry in svc.config.get("expose") or ():
        match = _EXPOSE.match(str(entry))
        if not match:
            warn.append(Unconverted(svc.name, "expose", f"{entry} is not converted"))
            continue
        first, last, proto = int(match[1]), int(match[2] or match[1]), (match[3] or "tcp").upper()
        for number in range(first, last + 1):
            ports.setdefault((number, proto), _port(number, number, proto))
    return [ports[k] for k in sorted(ports)]


def service(project: Project, svc: Service, statefulset: bool, warn: list[Unconverted]) -> Manifest | None:
    ports = service_ports(svc, warn)
    if not ports and not statefulset:
        return None
    name = service_name(svc.name)
    spec: dict[str, Any] = {"selector": selector(svc.name)}
    if ports:
        spec["ports"] = ports
    asked = svc.labels.get(SERVICE_TYPE_LABEL)
    kind = _TYPES.get((asked or "clusterip").lower())
    if kind is None:
        warn.append(Unconverted(svc.name, f"labels.{SERVICE_TYPE_LABEL}", f"unknown type {asked!r}: ClusterIP"))
        kind = "ClusterIP"
    if kind == "None" or (statefulset and asked is None):
        spec["clusterIP"] = "None"
    else:
        spec["type"] = kind
    return Manifest("Service", name, {
        "apiVersion": "v1", "kind": "Service",
        "metadata": metadata(name, project.name, svc.name), "spec": spec,
    })
