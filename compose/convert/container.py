"""One container spec from one compose service: image, command, environment, ports, probe,
resources and security context. Mounts come from storage.py."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from compose.convert.data import env_configmap_name, service_env
from compose.convert.names import dns_label
from compose.convert.quantities import cpu, memory, seconds
from compose.convert.types import Unconverted
from compose.model import Project, Service

_PULL = {"always": "Always", "never": "Never", "missing": "IfNotPresent", "if_not_present": "IfNotPresent"}


def container(project: Project, svc: Service, mounts: list[dict[str, Any]], warn: list[Unconverted],
              init: bool = False) -> dict[str, Any]:
    """The container of `svc`; as an init container (`init`) it has no probe and no ports."""
    cfg = svc.config
    image = svc.image or f"{project.name}-{svc.name}"
    if svc.build is not None:
        warn.append(Unconverted(svc.name, "build", f"not converted: the image {image} must be built and pushed"))
    out: dict[str, Any] = {"name": dns_label(svc.name), "image": image}
    if svc.entrypoint is not None:
        out["command"] = [_literal(a) for a in svc.entrypoint]
    if svc.command is not None:
        out["args"] = [_literal(a) for a in svc.command]
    if service_env(svc, warn):
        out["envFrom"] = [{"configMapRef": {"name": env_configmap_name(svc.name)}}]
    ports = [] if init else _container_ports(svc)
    if ports:
        out["ports"] = ports
    if cfg.get("working_dir"):
        out["workingDir"] = str(cfg["working_dir"])
    if cfg.get("stdin_open"):
        out["stdin"] = True
    if cfg.get("tty"):
        out["tty"] = True
    if cfg.get("pull_policy") in _PULL:
        out["imagePullPolicy"] = _PULL[cfg["pull_policy"]]
    elif cfg.get("pull_policy"):
        warn.append(Unconverted(svc.name, "pull_policy", f"{cfg['pull_policy']} has no Kubernetes form"))
    probe = _probe(svc, warn)
    if probe and init:
        warn.append(Unconverted(svc.name, "healthcheck", "not converted: an init container has no probes"))
    elif probe:
        out["livenessProbe"] = probe
    resources = _resources(svc)
    if resources:
        out["resources"] = resources
    security = _security(svc, warn)
    if security:
        out["securityContext"] = security
    if mounts:
        out["volumeMounts"] = sorted(mounts, key=lambda m: (m["mountPath"], m["name"]))
    return out


def _literal(arg: str) -> str:
    """An argument Kubernetes passes as it is: it expands `$(NAME)` in command and args, and `$$` is its
    escape for `$` (compose has interpolated the file already)."""
    return arg.replace("$", "$$")


def _container_ports(svc: Service) -> list[dict[str, Any]]:
    """Each target port once; `mode: host` publishes on the node, as a hostPort does."""
    seen: dict[tuple[int, str], dict[str, Any]] = {}
    for port in svc.ports:
        entry = seen.setdefault((port.target, port.protocol.upper()), {"containerPort": port.target,
                                                                       "protocol": port.protocol.upper()})
        if port.mode == "host" and port.published and port.published.isdigit():
            entry["hostPort"] = int(port.published)
    return [seen[k] for k in sorted(seen)]


def _probe(svc: Service, warn: list[Unconverted]) -> dict[str, Any] | None:
    hc = svc.healthcheck
    if hc is None or hc.disable or not hc.test or hc.test[0] == "NONE":
        return None
    if hc.test[0] == "CMD":
        command = list(hc.test[1:])
    elif hc.test[0] == "CMD-SHELL":
        command = ["/bin/sh", "-c", " ".join(hc.test[1:])]
    else:
        warn.append(Unconverted(svc.name, "healthcheck", f"test {hc.test[0]!r} is not converted"))
        return None
    probe: dict[str, Any] = {"exec": {"command": command}}
    if hc.interval is not None:
        probe["periodSeconds"] = seconds(hc.interval, 1)
    if hc.timeout is not None:
        probe["timeoutSeconds"] = seconds(hc.timeout, 1)
    if hc.retries is not None:
        probe["failureThreshold"] = max(1, int(hc.retries))
    if hc.start_period is not None:
        probe["initialDelaySeconds"] = seconds(hc.start_period)
    if hc.start_interval is not None:
        warn.append(Unconverted(svc.name, "healthcheck.start_interval", "not converted (no such probe field)"))
    return probe


def _resources(svc: Service) -> dict[str, Any]:
    cfg = svc.config
    deploy = (cfg.get("deploy") or {}).get("resources") or {}
    limits: dict[str, str] = {}
    requests: dict[str, str] = {}
    for source, dest in ((deploy.get("limits") or {}, limits), (deploy.get("reservations") or {}, requests)):
        if source.get("cpus") is not None:
            dest["cpu"] = cpu(source["cpus"])
        if source.get("memory") is not None:
            dest["memory"] = memory(source["memory"])
    if cfg.get("cpus") is not None:
        limits["cpu"] = cpu(cfg["cpus"])
    if cfg.get("mem_limit") is not None:
        limits["memory"] = memory(cfg["mem_limit"])
    if cfg.get("mem_reservation") is not None:
        requests["memory"] = memory(cfg["mem_reservation"])
    out: dict[str, Any] = {}
    if limits:
        out["limits"] = limits
    if requests:
        out["requests"] = requests
    return out


def _ids(svc: Service, user: str, warn: list[Unconverted]) -> dict[str, int]:
    name, _, group = user.partition(":")
    out: dict[str, int] = {}
    for key, value in (("runAsUser", name), ("runAsGroup", group)):
        if value.isdigit():
            out[key] = int(value)
        elif value:
            warn.append(Unconverted(svc.name, "user", f"{value!r} is not numeric: Kubernetes needs an id"))
    return out


def _security(svc: Service, warn: list[Unconverted]) -> dict[str, Any]:
    cfg: Mapping[str, Any] = svc.config
    out: dict[str, Any] = {}
    if cfg.get("user") is not None:
        out.update(_ids(svc, str(cfg["user"]), warn))
    caps: dict[str, list[str]] = {}
    for key, dest in (("cap_add", "add"), ("cap_drop", "drop")):
        names = sorted({str(c).upper().removeprefix("CAP_") for c in cfg.get(key) or ()})
        if names:
            caps[dest] = names
    if caps:
        out["capabilities"] = caps
    if cfg.get("read_only"):
        out["readOnlyRootFilesystem"] = True
    if cfg.get("privileged"):
        out["privileged"] = True
    for opt in cfg.get("security_opt") or ():
        if str(opt).replace("=", ":") in ("no-new-privileges:true", "no-new-privileges"):
            if cfg.get("privileged"):  # Kubernetes refuses the pair; privileged wins, as in Docker
                warn.append(Unconverted(svc.name, "security_opt", f"{opt} is not converted: privileged is set"))
            else:
                out["allowPrivilegeEscalation"] = False
        else:
            warn.append(Unconverted(svc.name, "security_opt", f"{opt} is not converted"))
    return out
