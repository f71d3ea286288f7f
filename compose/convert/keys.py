"""Which compose keys the conversion reads: every other key a service or the project sets is
reported as a warning, so nothing is dropped silently."""

from __future__ import annotations

from compose.convert.types import Unconverted
from compose.model import Project

# Service keys some module of compose/convert turns into Kubernetes fields (or warns about itself).
CONVERTED = frozenset({
    "build", "cap_add", "cap_drop", "command", "configs", "cpus", "depends_on", "deploy", "dns", "dns_opt",
    "dns_search", "domainname", "entrypoint", "environment", "expose", "extra_hosts", "group_add", "healthcheck",
    "hostname", "image", "ipc", "labels", "mem_limit", "mem_reservation", "network_mode", "networks", "pid",
    "ports", "privileged", "pull_policy", "read_only", "restart", "scale", "secrets", "security_opt",
    "stdin_open", "stop_grace_period", "sysctls", "tmpfs", "tty", "user", "volumes", "volumes_from", "working_dir",
})
# Keys that have no meaning once converted and need no word: applied by the loader already.
SILENT = frozenset({"profiles", "env_file", "label_file"})
_WHY = {
    "init": "not converted: the command runs as PID 1",
    "container_name": "not converted: objects are named after the service",
    "logging": "not converted: the cluster's logging applies",
    "shm_size": "not converted (mount an emptyDir with medium Memory on /dev/shm)",
    "ulimits": "not converted: Kubernetes has no per-pod ulimits",
    "links": "not converted: services reach each other by Service name",
    "external_links": "not converted: services reach each other by Service name",
}


def unconverted_keys(project: Project) -> list[Unconverted]:
    out = []
    for name, svc in sorted(project.services.items()):
        for key in sorted(set(svc.config) - CONVERTED - SILENT):
            if key.startswith("x-"):
                continue
            out.append(Unconverted(name, key, _WHY.get(key, "not converted")))
    for key, net in sorted(project.networks.items()):
        if key != "default" or net.external or set(net.config) - {"name"}:
            out.append(Unconverted(f"networks.{key}", "networks", "not converted: pods share the cluster network"))
    return out
