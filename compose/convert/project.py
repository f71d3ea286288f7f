"""The conversion: a loaded, normalized project in, Kubernetes manifests and warnings out (pure)."""

from __future__ import annotations

from compose.convert.data import configmaps, env_configmaps, secrets
from compose.convert.keys import unconverted_keys
from compose.convert.services import service
from compose.convert.storage import claim_name, claims
from compose.convert.types import Conversion, ConvertError, Manifest, Unconverted
from compose.convert.workloads import init_only, workload
from compose.model import Project

# Keys that shape a service's own pod, controller or Service: an init container has none of them.
_OWN_POD_KEYS = frozenset({"deploy", "expose", "labels", "ports", "scale", "hostname", "extra_hosts", "dns",
                           "dns_search", "dns_opt", "sysctls", "group_add", "pid", "ipc", "network_mode",
                           "stop_grace_period"})


def to_kubernetes(project: Project) -> Conversion:
    warn: list[Unconverted] = unconverted_keys(project)
    manifests: list[Manifest] = [*env_configmaps(project, warn), *configmaps(project, warn),
                                 *secrets(project, warn)]
    claimed: dict[str, list[str]] = {}
    for name, svc in sorted(project.services.items()):
        waiters = init_only(project, svc)
        if waiters:
            warn.append(Unconverted(name, "depends_on", "runs to completion as an init container of "
                                    + ", ".join(waiters) + ", with no controller of its own"))
            for key in sorted(_OWN_POD_KEYS & set(svc.config)):
                warn.append(Unconverted(name, key, "not converted: the service runs as an init container"))
            continue
        manifest, pod = workload(project, svc, warn)
        manifests.append(manifest)
        pods = {"DaemonSet": " (a pod per node)", "Deployment": f" ({svc.scale} pods)" if svc.scale > 1 else ""}
        for volume in pod.volume_users:
            claimed.setdefault(_volume_key(project, volume), []).append(name + pods.get(manifest.kind, ""))
        svc_manifest = service(project, svc, manifest.kind == "StatefulSet", warn)
        if svc_manifest is not None:
            manifests.append(svc_manifest)
    for volume, users in sorted(claimed.items()):
        if len(users) > 1 or users[0].endswith(")"):
            warn.append(Unconverted(f"volumes.{volume}", "volumes", "one ReadWriteOnce claim mounted by "
                                    + ", ".join(users) + ": their pods must run on one node"))
    manifests.extend(claims(project, claimed, warn))
    _check_unique(manifests)
    return Conversion(tuple(sorted(manifests, key=Manifest.sort_key)),
                      tuple(sorted(set(warn), key=lambda w: (w.where, w.key, w.reason))))


def _volume_key(project: Project, claim: str) -> str:
    return next((key for key in sorted(project.volumes) if claim_name(key) == claim), claim)


def _check_unique(manifests: list[Manifest]) -> None:
    seen: dict[tuple[str, str], Manifest] = {}
    for m in manifests:
        if (m.kind, m.name) in seen:
            raise ConvertError(f"two {m.kind} objects would be named {m.name}: rename a service, volume, "
                             "config or secret")
        seen[(m.kind, m.name)] = m
