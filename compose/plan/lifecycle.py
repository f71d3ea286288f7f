"""`down`, `stop`, `start`, `restart`, `kill`, `pause`/`unpause` and `rm` as plans.

Stops run in reverse dependency order (a service stops once everything that
depends on it has stopped), starts in dependency order with the same waits
as `up`; unrelated services run side by side. Kills, pauses and unpauses go
out all at once, as Docker Compose sends them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from compose import labels as L
from compose.conditions import STARTED
from compose.errors import ComposeError
from compose.graph import Graph, descendants, new_graph
from compose.model import Project
from compose.observed import ObservedContainer, ObservedState
from compose.plan.common import (
    Instance,
    Waits,
    check_services,
    container_resource,
    existing_instances,
    in_start_order,
    nearest,
    network_resource,
    service_graph,
    stop_then_remove,
    volume_resource,
    wait_condition_for,
)
from compose.plan.operations import Kind, Plan
from compose.plan.payloads import Kill, Remove, Restart, Stop


@dataclass(frozen=True)
class DownOptions:
    services: tuple[str, ...] = ()  # only these and what depends on them
    volumes: bool = False  # -v: named volumes of the project and anonymous ones of its containers
    remove_orphans: bool = False
    timeout: int | None = None
    known_services: frozenset[str] = field(default_factory=frozenset)  # disabled by profiles: not orphans


def _label_graph(observed: ObservedState) -> Graph:
    """Service order from the containers' `depends_on` labels, for a project known only by name."""
    graph = new_graph()
    for c in observed.containers:
        if c.service is None:
            continue
        graph.add_node(c.service)
        for entry in filter(None, c.labels.get(L.DEPENDS_ON, "").split(",")):
            graph.add_edge(entry.split(":")[0], c.service)
    return graph


def _stops(plan: Plan, graph: Graph, containers: Iterable[ObservedContainer], timeout: int | None,
           cause: str = "") -> dict[str, str]:
    """A stop per running container, each after the stops of the services depending on its own."""
    by_service: dict[str, list[ObservedContainer]] = {}
    for c in containers:
        if c.running:
            by_service.setdefault(c.service or "", []).append(c)
    # The order of the whole graph: a dependency reached only through a stopped service still comes later.
    order = [s for s in reversed(in_start_order(graph, list(graph))) if s in by_service]
    order += sorted(s for s in by_service if s not in graph)
    ops: dict[str, list[str]] = {}
    out: dict[str, str] = {}
    for service in order:
        later = nearest(graph, service, set(by_service), downstream=True) if service in graph else set()
        after = [op for d in sorted(later) for op in ops[d]]
        for c in by_service[service]:
            out[c.id] = plan.add(Kind.STOP_CONTAINER, c.id, container_resource(c.name), after=after,
                                 payload=Stop(timeout), cause=cause)
        ops[service] = [out[c.id] for c in by_service[service]]
    return out


def _removes(plan: Plan, containers: Iterable[ObservedContainer], stops: Mapping[str, str], volumes: bool,
             cause: str = "") -> list[str]:
    return [plan.add(Kind.REMOVE_CONTAINER, c.id, container_resource(c.name), after=[stops.get(c.id)],
                     payload=Remove(volumes), cause=cause)
            for c in containers]


def plan_down(project: Project, observed: ObservedState, options: DownOptions | None = None) -> Plan:
    options = options or DownOptions()
    check_services(project, options.services)
    plan = Plan()
    by_labels = not project.services  # `down -p NAME` without files: everything labelled with the project
    graph = _label_graph(observed) if by_labels else service_graph(project)
    selected = set(options.services) if options.services else set(graph)
    if options.services:
        for name in options.services:
            selected |= set(_descendants(graph, name))
    known = {*project.services, *options.known_services}
    candidates = [c for c in observed.containers if options.remove_orphans or not c.oneoff]
    mine = [c for c in candidates if by_labels or c.service in selected]
    orphans = [c for c in candidates if not by_labels and c not in mine and _is_orphan(c, known)]
    if orphans and not options.remove_orphans:
        orphans = []
    going = mine + orphans
    stops = _stops(plan, graph, mine, options.timeout)
    stops.update(_stops(plan, graph, orphans, options.timeout, "orphaned container"))
    removes = _removes(plan, mine, stops, options.volumes) + _removes(plan, orphans, stops, False, "orphaned container")
    staying = [c for c in observed.containers if c not in going]
    for name in _networks_to_remove(project, observed, by_labels, staying):
        plan.add(Kind.REMOVE_NETWORK, name, network_resource(name), after=removes)
    if options.volumes:
        for name in _volumes_to_remove(project, observed, by_labels, staying):
            plan.add(Kind.REMOVE_VOLUME, name, volume_resource(name), after=removes)
    if not plan:
        plan.warnings.append(f'No resource found to remove for project "{project.name}".')
    return plan


def _descendants(graph: Graph, name: str) -> set[str]:
    return descendants(graph, name)


def _is_orphan(c: ObservedContainer, known: set[str]) -> bool:
    if c.oneoff:
        return c.state in ("exited", "dead")
    return c.service not in known


def _networks_to_remove(project: Project, observed: ObservedState, by_labels: bool,
                        staying: list[ObservedContainer]) -> list[str]:
    busy = {n for c in staying for n in c.networks}
    if by_labels:
        names = [n.name for n in observed.networks.values() if n.project == project.name]
    else:
        names = [r.name for r in project.networks.values() if not r.external]
    return sorted(n for n in set(names) if n in observed.networks and n not in busy
                  and observed.networks[n].project == project.name)


def _volumes_to_remove(project: Project, observed: ObservedState, by_labels: bool,
                       staying: list[ObservedContainer]) -> list[str]:
    busy = {m.name for c in staying for m in c.mounts if m.name}
    if by_labels:
        names = [v.name for v in observed.volumes.values() if v.project == project.name]
    else:
        names = [r.name for r in project.volumes.values() if not r.external]
    return sorted(n for n in set(names) if n in observed.volumes and n not in busy
                  and observed.volumes[n].project in (None, project.name))


def _service_containers(observed: ObservedState, services: Iterable[str]) -> list[ObservedContainer]:
    return [c for s in sorted(services) for c in observed.service_containers(s)]


def plan_stop(project: Project, observed: ObservedState, services: tuple[str, ...] = (),
              timeout: int | None = None) -> Plan:
    check_services(project, services)
    plan = Plan()
    _stops(plan, service_graph(project), _service_containers(observed, services or project.services), timeout)
    return plan


def plan_kill(project: Project, observed: ObservedState, services: tuple[str, ...] = (), *,
              signal: str | None = None, remove_orphans: bool = False) -> Plan:
    """Signal the services' running containers at once; with `remove_orphans`, orphans go after."""
    check_services(project, services)
    plan = Plan()
    kills = [plan.add(Kind.KILL_CONTAINER, c.id, container_resource(c.name), payload=Kill(signal))
             for c in _service_containers(observed, services or project.services) if c.running]
    for c in observed.orphans(project.services) if remove_orphans else ():
        stop_then_remove(plan, c, timeout=None, after=kills, cause="orphaned container")
    if not plan:
        plan.warnings.append("no container to kill")
    return plan


def plan_pause(project: Project, observed: ObservedState, services: tuple[str, ...] = (), *,
               resume: bool = False) -> Plan:
    """Freeze the services' running containers (with `resume`, thaw the paused ones), all at once."""
    check_services(project, services)
    plan = Plan()
    kind, state = (Kind.UNPAUSE_CONTAINER, "paused") if resume else (Kind.PAUSE_CONTAINER, "running")
    for c in _service_containers(observed, services or project.services):
        if c.state == state:
            plan.add(kind, c.id, container_resource(c.name))
    if not plan:
        plan.warnings.append(f"no container to {'unpause' if resume else 'pause'}")
    return plan


def plan_rm(project: Project, observed: ObservedState, services: tuple[str, ...] = (), *, stop: bool = False,
            volumes: bool = False, timeout: int | None = None) -> Plan:
    """Remove the services' stopped containers; with `stop`, stop the running ones first."""
    check_services(project, services)
    plan = Plan()
    containers = _service_containers(observed, services or project.services)
    stops = _stops(plan, service_graph(project), containers, timeout) if stop else {}
    _removes(plan, [c for c in containers if not c.running or c.id in stops], stops, volumes)
    if not plan:
        plan.warnings.append("No stopped containers")
    return plan


def _add_waits(plan: Plan, project: Project, observed: ObservedState, dependent: str, waits: Waits,
               instances: dict[str, list[Instance]], only: set[str] | None = None) -> list[str]:
    """What `dependent` waits for; a dependency without containers is an error unless optional."""
    svc = project.services[dependent]
    deps = {k: d for k, d in svc.depends_on.items()
            if k in project.services and (only is None or k in only)}
    for dep, config in sorted(deps.items()):
        if dep in instances or config.condition == STARTED or project.services[dep].scale == 0:
            continue
        instances[dep] = existing_instances(observed, dep)
        if not instances[dep]:
            if config.required:
                raise ComposeError(f"{dependent} is missing dependency {dep}")
            plan.warnings.append(f"{dependent} is missing dependency {dep}")
    return waits.ready(dependent, deps)


def plan_start(project: Project, observed: ObservedState, services: tuple[str, ...] = (), *, wait: bool = False,
               wait_timeout: float | None = None) -> Plan:
    check_services(project, services)
    plan = Plan()
    instances: dict[str, list[Instance]] = {}
    waits = Waits(plan, instances, wait_timeout)
    selected = list(services or project.services)
    for name in in_start_order(service_graph(project), selected):
        containers = observed.service_containers(name)
        if not containers:
            if project.services[name].scale == 0:
                continue
            raise ComposeError(f'service "{name}" has no container to start')
        after = _add_waits(plan, project, observed, name, waits, instances)
        instances[name] = [
            Instance(name, c.number or 0, c.name, c.id,
                     plan.add(Kind.START_CONTAINER, c.id, container_resource(c.name), after=after)
                     if c.state in ("created", "exited", "dead") else None)
            for c in containers
        ]
    if wait:
        message = f"application not healthy after {wait_timeout:g}s" if wait_timeout else None
        for name in sorted(selected):
            for replica in instances.get(name, []):
                waits.wait(replica, wait_condition_for(project, name), True, message)
    return plan


def plan_restart(project: Project, observed: ObservedState, services: tuple[str, ...] = (), *,
                 no_deps: bool = False, timeout: int | None = None) -> Plan:
    """Restart the services and, unless `no_deps`, their dependents with `depends_on.restart: true`."""
    check_services(project, services)
    plan = Plan()
    graph = new_graph()
    graph.add_nodes_from(project.services)
    graph.add_edges_from((dep, name) for name, svc in project.services.items()
                         for dep, d in svc.depends_on.items() if d.restart and dep in project.services)
    selected = set(services or project.services)
    if not no_deps:
        for name in list(selected):
            selected |= descendants(graph, name)
    instances: dict[str, list[Instance]] = {}
    waits = Waits(plan, instances)
    for name in in_start_order(graph, selected):
        restart_deps = {d for d in project.services[name].depends_on if graph.has_edge(d, name)}
        after = _add_waits(plan, project, observed, name, waits, instances, only=restart_deps & selected)
        instances[name] = [
            Instance(name, c.number or 0, c.name, c.id,
                     plan.add(Kind.RESTART_CONTAINER, c.id, container_resource(c.name), after=after,
                              payload=Restart(timeout)))
            for c in observed.service_containers(name)
        ]
    return plan
