"""Pieces every planner shares: the service graph, replicas, and waits on dependencies."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from compose.conditions import COMPLETED, CONDITIONS, HEALTHY, RUNNING_OR_HEALTHY, STARTED
from compose.errors import ComposeError
from compose.graph import Graph, generations, new_graph
from compose.model import Dependency, Project
from compose.observed import ObservedContainer, ObservedState
from compose.plan.operations import Handle, Kind, Plan, Resource
from compose.plan.payloads import Remove, Stop, Wait

container_resource = Resource.container
network_resource = Resource.network
volume_resource = Resource.volume


def service_graph(project: Project) -> Graph:
    """Edge `dep -> svc` for each `depends_on` between services the project has."""
    graph = new_graph()
    graph.add_nodes_from(project.services)
    for name, svc in project.services.items():
        graph.add_edges_from((dep, name) for dep in svc.depends_on if dep in project.services)
    return graph


def in_start_order(graph: Graph, names: Iterable[str]) -> list[str]:
    """`names` with every service after those it depends on (ties by name)."""
    return [n for level in generations(graph.subgraph(names)) for n in level]


def nearest(graph: Graph, start: str, among: set[str], *, downstream: bool) -> set[str]:
    """The closest services of `among` reached from `start` along (or against) depends_on edges."""
    step = graph.successors if downstream else graph.predecessors
    found: set[str] = set()
    seen = {start}
    stack = list(step(start))
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        if node in among:
            found.add(node)
        else:
            stack.extend(step(node))
    return found


def check_services(project: Project, names: Iterable[str]) -> None:
    for name in names:
        if name not in project.services:
            raise ComposeError(f"no such service: {name}")


@dataclass
class Instance:
    """One replica as the plan leaves it: which container, and the operation that finishes it."""

    service: str
    number: int
    name: str
    handle: Handle
    last: str | None = None  # None: nothing to do, it already is as wanted


class Waits:
    """What a service's start must wait for, one wait operation per (container, condition)."""

    def __init__(self, plan: Plan, instances: Mapping[str, list[Instance]], timeout: float | None = None) -> None:
        self.plan = plan
        self.instances = instances
        self.timeout = timeout
        self._made: dict[tuple[str, str], str] = {}

    def ready(self, dependent: str, depends_on: Mapping[str, Dependency]) -> list[str]:
        """Operations to finish before `dependent` starts; services without instances are not waited for."""
        out: list[str] = []
        for dep, config in sorted(depends_on.items()):
            replicas = self.instances.get(dep)
            if not replicas:
                continue
            if config.condition not in CONDITIONS:
                self.plan.warnings.append(f"unsupported depends_on condition: {config.condition}")
                continue
            if config.condition == STARTED:
                out += [r.last for r in replicas if r.last]
                continue
            out += [self.wait(r, config.condition, config.required) for r in replicas]
        return out

    def wait(self, replica: Instance, condition: str, required: bool, timeout_message: str | None = None) -> str:
        """One wait per container and condition, so its Waiting and Healthy lines show once.

        A healthy wait serves `--wait`'s running-or-healthy too; one asked for twice is required if
        either asker requires it, and `--wait`'s deadline message (the user's) wins."""
        for wanted in (condition, HEALTHY) if condition == RUNNING_OR_HEALTHY else (condition,):
            op_id = self._made.get((replica.name, wanted))
            if op_id is None:
                continue
            payload = self.plan[op_id].payload
            if isinstance(payload, Wait):
                changed = replace(payload, required=payload.required or required,
                                  timeout_message=timeout_message or payload.timeout_message)
                if changed != payload:
                    self.plan.amend(op_id, changed)
            return op_id
        self._made[(replica.name, condition)] = self.plan.add(
            Kind.WAIT_CONDITION, replica.handle, container_resource(replica.name),
            after=[replica.last],
            payload=Wait(condition, required, replica.service, self.timeout,
                         timeout_message or "timeout waiting for dependencies"),
            cause=f"{condition} of {replica.service}",
        )
        return self._made[(replica.name, condition)]


def wait_condition_for(project: Project, service: str) -> str:
    """What `--wait` waits for: completion for one-shot dependencies, else running or healthy."""
    for svc in project.services.values():
        dep = svc.depends_on.get(service)
        if dep is not None and dep.condition == COMPLETED:
            return COMPLETED
    return RUNNING_OR_HEALTHY


def existing_instances(observed: ObservedState, service: str) -> list[Instance]:
    return [Instance(service, c.number or 0, c.name, c.id) for c in observed.service_containers(service)]


def stop_then_remove(
    plan: Plan,
    container: ObservedContainer,
    *,
    timeout: int | None,
    volumes: bool = False,
    after: Iterable[str | None] = (),
    cause: str = "",
) -> tuple[str | None, str]:
    """(stop, remove) operations; a container that is not running is only removed."""
    resource = container_resource(container.name)
    stop = None
    if container.running:
        stop = plan.add(Kind.STOP_CONTAINER, container.id, resource, after=after, payload=Stop(timeout), cause=cause)
    remove = plan.add(Kind.REMOVE_CONTAINER, container.id, resource, after=[stop] if stop else after,
                      payload=Remove(volumes), cause=cause)
    return stop, remove

