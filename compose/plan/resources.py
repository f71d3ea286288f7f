"""Whether an existing network or volume may serve as the project's, in Docker Compose's words."""

from __future__ import annotations

from compose import labels as L
from compose.errors import ComposeError
from compose.model import Project
from compose.observed import ObservedNetwork, ObservedVolume
from compose.plan.bodies import resource_hash


def check_network(project: Project, key: str, found: ObservedNetwork | None, warnings: list[str]) -> bool:
    """True when the plan should manage the network (create it if `found` is None); errors if unusable."""
    resource = project.networks[key]
    if resource.external:
        if found is None:
            raise ComposeError(f"network {resource.name} declared as external, but could not be found")
        return False
    if found is None:
        return True
    if found.project is None:
        warnings.append(f"a network with name {resource.name} exists but was not created by compose.\n"
                        "Set `external: true` to use an existing network")
        return False
    if found.project != project.name:
        warnings.append(f'a network with name {resource.name} exists but was not created for project '
                        f'"{project.name}".\nSet `external: true` to use an existing network')
        return False
    if found.key is not None and found.key != key:
        raise ComposeError(f'network {resource.name} was found but has incompatible label {L.NETWORK} set to '
                           f'"{found.key}" (expected: "{key}")')
    return True


def check_volume(project: Project, key: str, found: ObservedVolume | None, warnings: list[str]) -> bool:
    """True when the plan should manage the volume; a diverged one is kept (recreating it loses data)."""
    resource = project.volumes[key]
    if resource.external:
        if found is None:
            raise ComposeError(f'external volume "{resource.name}" not found')
        return False
    if found is None:
        return True
    if found.project is None:
        warnings.append(f'volume "{resource.name}" already exists but was not created by Docker Compose. '
                        "Use `external: true` to use an existing volume")
    elif found.project != project.name:
        warnings.append(f'volume "{resource.name}" already exists but was created for project "{found.project}" '
                        f'(expected "{project.name}"). Use `external: true` to use an existing volume')
    elif found.config_hash and found.config_hash != resource_hash(resource):
        warnings.append(f'volume "{resource.name}" exists but doesn\'t match configuration in compose file; '
                        "remove it (data will be lost) to apply the new configuration")
    return True
