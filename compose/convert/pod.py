"""A pod template from a compose service: its container, init containers for the services it waits
to complete (`service_completed_successfully`), the volumes of both, and pod-wide options."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from compose.convert.container import container
from compose.convert.deploy import placement, restart_condition
from compose.convert.names import dns_label
from compose.convert.quantities import seconds
from compose.convert.storage import service_mounts
from compose.convert.types import Unconverted
from compose.model import Project, Service

COMPLETED = "service_completed_successfully"
_RESTART = {"no": "Never", "on-failure": "OnFailure", "always": "Always", "unless-stopped": "Always"}


@dataclass(frozen=True)
class PodTemplate:
    spec: dict[str, Any]
    claims: tuple[str, ...]  # named volumes a StatefulSet claims per replica
    volume_users: tuple[str, ...]  # named volumes mounted through a shared PVC


def restart_policy(svc: Service) -> str | None:
    """The restart policy `restart` (or else `deploy.restart_policy`) asks for; None when neither is set."""
    restart = svc.config.get("restart")  # the key as written: the model's policy folds in deploy's
    if isinstance(restart, str):
        return _RESTART.get(restart.split(":")[0], "Always")
    return restart_condition(svc)


def pod_template(project: Project, svc: Service, statefulset: bool, warn: list[Unconverted]) -> PodTemplate:
    main = service_mounts(project, svc, statefulset, warn)
    volumes = dict(main.volumes)
    claims = list(main.claims)
    inits = []
    for dep_svc in completed_chain(project, svc, warn):
        mounts = service_mounts(project, dep_svc, statefulset, warn)
        for claim in mounts.claims:
            if claim not in claims:
                claims.append(claim)
        volumes.update(mounts.volumes)
        inits.append(container(project, dep_svc, mounts.mounts, warn, init=True))
    spec: dict[str, Any] = {"containers": [container(project, svc, main.mounts, warn)]}
    if inits:
        spec["initContainers"] = inits
    spec.update(_pod_options(svc, warn))
    if volumes:
        spec["volumes"] = [{"name": n, **v} for n, v in sorted(volumes.items())]
    users = tuple(sorted({v["persistentVolumeClaim"]["claimName"] for v in volumes.values()
                          if "persistentVolumeClaim" in v}))
    return PodTemplate(spec, tuple(claims), users)


def completed_chain(project: Project, svc: Service, warn: list[Unconverted]) -> list[Service]:
    """The services `svc` waits to complete, and those they wait for in turn, dependencies first:
    the pod's init containers, in the order they must run."""
    order: list[Service] = []

    def visit(current: Service) -> None:
        for dep_name, dep in sorted(current.depends_on.items()):
            dep_svc = project.services.get(dep_name)
            if dep.condition != COMPLETED:
                warn.append(Unconverted(current.name, "depends_on", f"{dep_name} ({dep.condition}) is not "
                                        "converted: pods start in any order"))
            elif dep_svc is not None and dep_svc not in order:
                visit(dep_svc)
                order.append(dep_svc)

    visit(svc)
    return order


def _pod_options(svc: Service, warn: list[Unconverted]) -> dict[str, Any]:
    cfg: Mapping[str, Any] = svc.config
    out: dict[str, Any] = {}
    if cfg.get("hostname"):
        host, _, domain = str(cfg["hostname"]).partition(".")
        out["hostname"] = dns_label(host)
        if domain or out["hostname"] != host:
            warn.append(Unconverted(svc.name, "hostname", f"{cfg['hostname']} becomes {out['hostname']}"))
    if cfg.get("domainname"):
        warn.append(Unconverted(svc.name, "domainname", "not converted (Kubernetes sets the cluster domain)"))
    aliases: dict[str, list[str]] = {}
    hosts = cfg.get("extra_hosts") or {}
    for host, ips in (hosts.items() if isinstance(hosts, Mapping) else ()):
        for ip in [ips] if isinstance(ips, str) else ips:
            aliases.setdefault(str(ip), []).append(str(host))
    if aliases:
        out["hostAliases"] = [{"ip": ip, "hostnames": sorted(h)} for ip, h in sorted(aliases.items())]
    dns: dict[str, Any] = {}
    if cfg.get("dns"):
        dns["nameservers"] = [str(d) for d in cfg["dns"]]
        out["dnsPolicy"] = "None"
    if cfg.get("dns_search"):
        dns["searches"] = [str(d) for d in cfg["dns_search"]]
    if cfg.get("dns_opt"):
        dns["options"] = [_dns_option(str(o)) for o in cfg["dns_opt"]]
    if dns:
        out["dnsConfig"] = dns
    security: dict[str, Any] = {}
    if cfg.get("sysctls"):
        security["sysctls"] = [{"name": k, "value": str(v)} for k, v in sorted(cfg["sysctls"].items())]
    groups = [int(g) for g in cfg.get("group_add") or () if str(g).isdigit()]
    if len(groups) != len(cfg.get("group_add") or ()):
        warn.append(Unconverted(svc.name, "group_add", "group names are not converted, only numeric ids"))
    if groups:
        security["supplementalGroups"] = groups
    if security:
        out["securityContext"] = security
    for key, field in (("pid", "hostPID"), ("ipc", "hostIPC")):
        if cfg.get(key) == "host":
            out[field] = True
        elif cfg.get(key):
            warn.append(Unconverted(svc.name, key, f"{cfg[key]} is not converted"))
    mode = svc.network_mode
    if mode == "host":
        out["hostNetwork"] = True
    elif mode and mode not in ("bridge", "default"):
        warn.append(Unconverted(svc.name, "network_mode", f"{mode} is not converted: each pod has its own network"))
    if any(n != "default" for n in svc.networks):
        warn.append(Unconverted(svc.name, "networks", "not converted: all pods share the cluster network"))
    out.update(placement(svc, warn))
    if cfg.get("stop_grace_period") is not None:
        out["terminationGracePeriodSeconds"] = seconds(cfg["stop_grace_period"])
    return out


def _dns_option(text: str) -> dict[str, str]:
    name, sep, value = text.partition(":")
    return {"name": name, "value": value} if sep else {"name": name}
