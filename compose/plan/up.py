"""`up`: the operations that turn what the engine has into what the project describes.

Per service, in dependency order (as Docker Compose's reconciler): replicas
beyond the scale are removed (diverged ones first, then the highest
numbers), diverged replicas are recreated the way Docker does it (create
under a temporary name, stop and remove the old one, rename), missing
numbers are created from 1 up, and everything is started once what it
depends on is started, healthy or completed. A container diverges when its
config hash, its image, its networks or its named volumes differ, or when
the container whose namespace it shares is replaced.
"""

from __future__ import annotations

import itertools

from compose import labels as L
from compose.conditions import COMPLETED, HEALTHY
from compose.errors import ComposeError
from compose.graph import with_dependencies
from compose.model import Project, Service
from compose.observed import ObservedContainer, ObservedState
from compose.plan.bodies import config_hashes, container_body, shared_with
from compose.plan.common import (
    Instance,
    Waits,
    check_services,
    container_resource,
    in_start_order,
    network_resource,
    service_graph,
    stop_then_remove,
    volume_resource,
    wait_condition_for,
)
from compose.plan.injected import copied_files
from compose.plan.operations import Handle, Kind, Plan, Ref
from compose.plan.payloads import (
    ContainerCreate,
    CopyFiles,
    NetworkConnect,
    NetworkCreate,
    NetworkDisconnect,
    Remove,
    Rename,
    Stop,
    VolumeCreate,
)
from compose.plan.resources import check_network, check_volume, network_body, resource_hash, volume_body
from compose.plan.up_options import UpFacts, UpOptions

_REFERENCE_KEYS = ("network_mode", "ipc", "pid")


def plan_up(project: Project, observed: ObservedState, options: UpOptions | None = None,
            facts: UpFacts | None = None) -> Plan:
    options = options or UpOptions()
    if options.force_recreate and options.no_recreate:
        raise ComposeError("--force-recreate and --no-recreate are incompatible")
    if options.always_recreate_deps and options.no_recreate:
        raise ComposeError("--always-recreate-deps and --no-recreate are incompatible")
    check_services(project, [*options.services, *options.scale])
    for name, count in options.scale.items():
        if count < 0:
            raise ComposeError(f"invalid scale for service {name}: {count}")
    return _Up(project, observed, options, facts or UpFacts()).build()


def _shared_services(svc: Service) -> list[str]:
    """Services whose container this one's namespaces or volumes come from."""
    out = [other for key in _REFERENCE_KEYS if (other := shared_with(svc.config.get(key)))]
    for entry in svc.config.get("volumes_from") or ():
        if not str(entry).startswith("container:"):
            out.append(str(entry).split(":")[0])
    return out


class _Up:
    def __init__(self, project: Project, observed: ObservedState, options: UpOptions, facts: UpFacts) -> None:
        self.project, self.observed, self.options, self.facts = project, observed, options, facts
        self.plan = Plan()
        self.graph = service_graph(project)
        self.targeted = set(options.services or project.services)
        self.selected = self.targeted if options.no_deps else (
            with_dependencies(self.graph, sorted(self.targeted)) & set(project.services))
        self.hashes = config_hashes(project)
        self.network_ops: dict[str, str] = {}
        self.volume_ops: dict[str, str] = {}
        self.stops: dict[str, str] = {}  # container id -> its stop operation
        self.removals: dict[str, str] = {}  # container name -> operation removing it
        self.handled: set[str] = set()  # container ids whose fate the plan decided
        self.instances: dict[str, list[Instance]] = {}
        self.waits = Waits(self.plan, self.instances, options.wait_timeout)
        self.restart_dependents: dict[str, list[str]] = {}  # service -> services restarting with it
        for name, svc in sorted(project.services.items()):
            for dep, config in svc.depends_on.items():
                if config.restart:
                    self.restart_dependents.setdefault(dep, []).append(name)

    def build(self) -> Plan:
        self._networks()
        self._volumes()
        for name in in_start_order(self.graph, self.selected):
            self._service(self.project.services[name])
        self._restart_stopped_dependents()
        self._orphans()
        if self.options.wait and not self.options.no_start:
            self._wait_all()
        return self.plan

    # networks and volumes

    def _networks(self) -> None:
        used = sorted({k for n in self.selected for k in self._network_keys(self.project.services[n])})
        for key in used:
            resource = self.project.networks[key]
            found = self.observed.networks.get(resource.name)
            if not check_network(self.project, key, found, self.plan.warnings):
                continue
            if found is None:
                self.network_ops[key] = self.plan.add(
                    Kind.CREATE_NETWORK, resource.name, network_resource(resource.name),
                    payload=NetworkCreate(network_body(self.project, key)), cause="not found")
            elif found.config_hash and found.config_hash != resource_hash(resource):
                self._recreate_network(key, found.name)

    def _recreate_network(self, key: str, old_name: str) -> None:
        """Containers of the services we manage go with the network; others are disconnected and reconnected."""
        resource = self.project.networks[key]
        cause = f"network {key} config changed"
        before, reconnect = [], []
        for c in self.observed.containers:
            if old_name not in c.networks:
                continue
            if c.service in self.selected and not c.oneoff:
                before.append(self._stop_and_remove(c, cause))
            else:
                before.append(self.plan.add(Kind.DISCONNECT_NETWORK, c.id, container_resource(c.name),
                                            payload=NetworkDisconnect(old_name, force=True), cause=cause,
                                            progress=("", "")))
                reconnect.append(c)
        remove = self.plan.add(Kind.REMOVE_NETWORK, old_name, network_resource(old_name), after=before,
                               cause="config hash diverged")
        create = self.plan.add(Kind.CREATE_NETWORK, resource.name, network_resource(resource.name), after=[remove],
                               payload=NetworkCreate(network_body(self.project, key)),
                               cause="recreate after config change")
        self.network_ops[key] = create
        for c in reconnect:
            aliases = [c.name, c.service] if c.service else [c.name]
            self.plan.add(Kind.CONNECT_NETWORK, c.id, container_resource(c.name), after=[create],
                          payload=NetworkConnect(resource.name, {"EndpointConfig": {"Aliases": aliases}}),
                          cause=cause, progress=("", ""))

    def _volumes(self) -> None:
        used = sorted({
            v["source"] for n in self.selected for v in self.project.services[n].config.get("volumes") or ()
            if v.get("type") == "volume" and v.get("source") in self.project.volumes
        })
        for key in used:
            resource = self.project.volumes[key]
            found = self.observed.volumes.get(resource.name)
            if check_volume(self.project, key, found, self.plan.warnings) and found is None:
                self.volume_ops[key] = self.plan.add(
                    Kind.CREATE_VOLUME, resource.name, volume_resource(resource.name),
                    payload=VolumeCreate(volume_body(self.project, key)), cause="not found")

    @staticmethod
    def _network_keys(svc: Service) -> list[str]:
        return [] if svc.network_mode else list(svc.networks)

    def _infra(self, svc: Service, name: str) -> list[str | None]:
        deps: list[str | None] = [self.network_ops.get(k) for k in self._network_keys(svc)]
        deps += [self.volume_ops.get(v.get("source")) for v in svc.config.get("volumes") or ()
                 if v.get("type") == "volume"]
        deps.append(self.removals.get(name))  # the name must be free again
        return deps

    # containers

    def _strategy(self, name: str) -> str:
        o = self.options
        if o.no_recreate:
            return "never"
        if name in self.targeted:
            return "force" if o.force_recreate else "diverged"
        return "force" if o.always_recreate_deps else "diverged"

    def _service(self, svc: Service) -> None:
        desired = self.options.scale.get(svc.name, svc.scale)
        custom = svc.config.get("container_name")
        if custom and desired > 1:
            raise ComposeError(f'service "{svc.name}" is using the custom container name "{custom}"; Docker '
                               "requires each container to have a unique name, remove the custom name to scale it")
        strategy = self._strategy(svc.name)
        existing = [c for c in self.observed.service_containers(svc.name) if c.id not in self.handled]
        numbered = [c for c in existing if c.number is not None]
        obsolete = {c.id: self._must_recreate(svc, c, strategy) for c in numbered}
        ordered = sorted(numbered, key=lambda c: (obsolete[c.id], c.number))
        keep = ordered[:desired]
        for c in ordered[desired:] + [c for c in existing if c.number is None]:
            self._stop_and_remove(c, "scale down")
        replicas = [self._recreate(svc, c) if obsolete[c.id] else self._keep(svc, c) for c in keep]
        used = {r.number for r in replicas}
        free = (n for n in itertools.count(1) if n not in used)
        replicas += [self._create(svc, next(free)) for _ in range(desired - len(replicas))]
        self.instances[svc.name] = sorted(replicas, key=lambda r: r.number)

    def _must_recreate(self, svc: Service, c: ObservedContainer, strategy: str) -> bool:
        if strategy != "diverged":
            return strategy == "force"
        image = self.facts.images.get(svc.name)
        return (
            c.config_hash != self.hashes[svc.name]
            or bool(image and c.image_id and c.image_id != image)
            or self._shares_replaced(svc, c)
            or (c.state == "running" and self._networks_differ(svc, c))
            or self._volumes_differ(svc, c)
        )

    def _shares_replaced(self, svc: Service, c: ObservedContainer) -> bool:
        """The container it shares namespaces or volumes with is new, or is not the one it points at."""
        for other in _shared_services(svc):
            replicas = self.instances.get(other)
            if not replicas:
                continue
            handle = replicas[0].handle
            if isinstance(handle, Ref):
                return True
            pointed = (c.network_mode or "").removeprefix("container:")
            if other == shared_with(svc.network_mode) and c.network_mode and c.network_mode.startswith("container:") \
                    and pointed not in (handle, replicas[0].name) and not handle.startswith(pointed):
                return True
        return False

    def _networks_differ(self, svc: Service, c: ObservedContainer) -> bool:
        if not c.networks:
            return False
        return any(self.project.networks[k].name not in c.networks for k in self._network_keys(svc))

    def _volumes_differ(self, svc: Service, c: ObservedContainer) -> bool:
        if not c.mounts:
            return False
        mounted = {m.name for m in c.mounts if m.type == "volume"}
        return any(
            self.project.volumes[v["source"]].name not in mounted
            for v in svc.config.get("volumes") or ()
            if v.get("type") == "volume" and v.get("source") in self.project.volumes
        )

    def _refs(self, svc: Service) -> dict[str, Handle]:
        refs: dict[str, Handle] = {}
        for other in _shared_services(svc):
            replicas = self.instances.get(other)
            if replicas:
                refs[other] = replicas[0].handle
            elif existing := self.observed.service_containers(other):
                refs[other] = existing[0].id
        return refs

    def _body(self, svc: Service, number: int, name: str,
              replaced: ObservedContainer | None = None, created_as: str | None = None) -> ContainerCreate:
        body = container_body(
            self.project, svc, number, self.hashes[svc.name], name=name, refs=self._refs(svc),
            inherited=replaced.mounts if replaced and not self.options.renew_anon_volumes else (),
            image_id=self.facts.images.get(svc.name), replace=replaced.name if replaced else None)
        return ContainerCreate(created_as or name, body, svc.config.get("platform"))

    def _name(self, svc: Service, number: int) -> str:
        return L.container_name(self.project.name, svc.name, number, svc.config.get("container_name"))

    def _start(self, svc: Service, replica: Instance, after: list[str | None]) -> Instance:
        if not self.options.no_start:
            replica.last = self.plan.add(
                Kind.START_CONTAINER, replica.handle, container_resource(replica.name),
                after=[*after, *self.waits.ready(svc.name, svc.depends_on)])
        return replica

    def _gated_by(self, svc: Service) -> list[str | None]:
        """The starts of the dependencies this service waits on for health or completion.

        Such a wait lasts at least a probe or a run, far longer than a create: creating after the
        dependency's start costs nothing, and leaves the engine to the containers starting first."""
        return [replica.last for dep, config in svc.depends_on.items()
                if config.condition in (HEALTHY, COMPLETED) for replica in self.instances.get(dep, ())]

    def _create(self, svc: Service, number: int) -> Instance:
        name = self._name(svc, number)
        after = [*self._infra(svc, name), *self._gated_by(svc)]
        create = self.plan.add(Kind.CREATE_CONTAINER, name, container_resource(name), after=after,
                               payload=self._body(svc, number, name), cause="no existing container")
        ready = self._copy_files(svc, create, name) or create
        return self._start(svc, Instance(svc.name, number, name, Ref(create), ready), [ready])

    def _copy_files(self, svc: Service, create: str, name: str) -> str | None:
        """Secrets and configs from `environment`/`content` go in after create, before start."""
        files = copied_files(self.project, svc.config)
        if not files:
            return None
        return self.plan.add(Kind.COPY_TO_CONTAINER, Ref(create), container_resource(name),
                             payload=CopyFiles("/", files), cause="secrets and configs",
                             progress=("", ""))

    def _keep(self, svc: Service, c: ObservedContainer) -> Instance:
        self.handled.add(c.id)
        replica = Instance(svc.name, c.number or 0, c.name, c.id)
        renamed = self._take_name_back(svc, c, replica)
        if c.id in self.stops or c.state in ("created", "exited", "dead"):
            return self._start(svc, replica, [self.stops.get(c.id), renamed])
        if renamed is None:
            self.plan.unchanged.append(str(container_resource(c.name)))
        return replica

    def _take_name_back(self, svc: Service, c: ObservedContainer, replica: Instance) -> str | None:
        """A container an interrupted recreate left under its temporary name gets its own name."""
        final = self._name(svc, replica.number)
        if c.name == final or not c.name.endswith(f"_{final}"):
            return None
        replica.name = final
        replica.last = self.plan.add(Kind.RENAME_CONTAINER, c.id, container_resource(final),
                                     after=[self.removals.get(final)], payload=Rename(final),
                                     cause="left under a temporary name by an interrupted recreate")
        return replica.last

    def _recreate(self, svc: Service, c: ObservedContainer) -> Instance:
        self.handled.add(c.id)
        number = c.number or 0
        final = self._name(svc, number)
        resource, group = container_resource(final), f"recreate:{final}"
        temporary = f"{c.id[:12]}_{final}"
        dependents = self._stop_dependents(svc.name)
        create = self.plan.add(Kind.CREATE_CONTAINER, temporary, resource, after=self._infra(svc, temporary),
                               payload=self._body(svc, number, final, c, temporary), cause="diverged",
                               progress=("Recreate", ""), group=group)
        stop = self.stops.get(c.id)
        if stop is None and c.running:
            stop = self.stops[c.id] = self.plan.add(
                Kind.STOP_CONTAINER, c.id, resource, after=[create, *dependents],
                payload=Stop(self.options.timeout), cause="replaced", progress=("", ""), group=group)
        remove = self.plan.add(Kind.REMOVE_CONTAINER, c.id, resource, after=[stop, create],
                               payload=Remove(), cause="replaced",
                               progress=("", ""), group=group)
        copy = self._copy_files(svc, create, final)
        rename = self.plan.add(Kind.RENAME_CONTAINER, Ref(create), resource, after=[remove, copy],
                               payload=Rename(final), cause="replaced", progress=("", "Recreated"), group=group)
        return self._start(svc, Instance(svc.name, number, final, Ref(create), rename), [rename])

    def _stop(self, c: ObservedContainer, cause: str) -> str:
        if c.id not in self.stops:
            self.stops[c.id] = self.plan.add(Kind.STOP_CONTAINER, c.id, container_resource(c.name),
                                             payload=Stop(self.options.timeout), cause=cause)
        return self.stops[c.id]

    def _stop_and_remove(self, c: ObservedContainer, cause: str) -> str:
        self.handled.add(c.id)
        if c.id in self.stops or c.running:
            stop = self._stop(c, cause)
            remove = self.plan.add(Kind.REMOVE_CONTAINER, c.id, container_resource(c.name), after=[stop],
                                   payload=Remove(), cause=cause)
        else:
            _, remove = stop_then_remove(self.plan, c, timeout=self.options.timeout, cause=cause)
        self.removals[c.name] = remove
        return remove

    def _stop_dependents(self, service: str) -> list[str]:
        """Running dependents with `restart: true` stop before `service` is replaced, and start after."""
        if self.options.no_start:
            return []
        out = []
        for name in self.restart_dependents.get(service, ()):
            out += [self._stop(c, f"dependency {service} being recreated")
                    for c in self.observed.service_containers(name) if c.running and c.id not in self.handled]
        return out

    def _restart_stopped_dependents(self) -> None:
        for cid, stop in list(self.stops.items()):
            c = self.observed.container(cid)
            if cid in self.handled or c is None or c.service is None or c.service not in self.project.services:
                continue
            svc = self.project.services[c.service]
            self._start(svc, Instance(svc.name, c.number or 0, c.name, c.id), [stop])

    def _orphans(self) -> None:
        orphans = self.observed.orphans({*self.project.services, *self.facts.known_services})
        if not orphans:
            return
        if self.options.remove_orphans:
            for c in orphans:
                stop_then_remove(self.plan, c, timeout=self.options.timeout, cause="orphaned container")
            return
        names = ", ".join(c.name for c in orphans)
        self.plan.warnings.append(
            f"Found orphan containers ({names}) for this project. If you removed or renamed this service in your "
            "compose file, you can run this command with the --remove-orphans flag to clean it up.")

    def _wait_all(self) -> None:
        message = f"application not healthy after {self.options.wait_timeout:g}s" \
            if self.options.wait_timeout else None
        for name in sorted(self.selected):
            condition = wait_condition_for(self.project, name)
            for replica in self.instances.get(name, []):
                self.waits.wait(replica, condition, True, message)
