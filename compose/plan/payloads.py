"""What each kind of plan operation carries: one frozen dataclass per kind, read by attribute.

The target (a container id or `Ref`, a network or volume name) is the
operation's own; a payload holds the rest of the one API call. Values may
hold `Ref`s (a create body naming a container this plan creates); the
scheduler resolves them before the call.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from compose.plan.kinds import Kind


@dataclass(frozen=True)
class Nothing:
    """Start, pause or unpause a container, remove a network or a volume: the target says it all."""


@dataclass(frozen=True)
class NetworkCreate:
    body: Mapping[str, Any]  # POST /networks/create, without `Name` (the target)


@dataclass(frozen=True)
class NetworkConnect:
    network: str  # the container is the target
    body: Mapping[str, Any] = field(default_factory=dict)  # `EndpointConfig`


@dataclass(frozen=True)
class NetworkDisconnect:
    network: str
    force: bool = False


@dataclass(frozen=True)
class VolumeCreate:
    body: Mapping[str, Any]  # POST /volumes/create, without `Name` (the target)


@dataclass(frozen=True)
class ContainerCreate:
    name: str  # the name it is created under (a temporary one while recreating)
    body: Mapping[str, Any]
    platform: str | None = None


@dataclass(frozen=True)
class Stop:
    timeout: int | None = None  # seconds; None: the container's own


@dataclass(frozen=True)
class Restart:
    timeout: int | None = None


@dataclass(frozen=True)
class Kill:
    signal: str | None = None  # None: the engine's default (SIGKILL)


@dataclass(frozen=True)
class Remove:
    volumes: bool = False  # its anonymous volumes too
    force: bool = False


@dataclass(frozen=True)
class Rename:
    name: str


@dataclass(frozen=True)
class CopyFiles:
    path: str  # where in the container
    files: Sequence[Mapping[str, Any]]  # see `compose.plan.injected.copied_files`


@dataclass(frozen=True)
class Wait:
    condition: str  # service_started, service_healthy, service_completed_successfully, running_or_healthy
    required: bool = True  # a failed optional dependency is a warning
    service: str = ""  # whose container, for messages
    timeout: float | None = None
    timeout_message: str = "timeout waiting for dependencies"


Payload = (Nothing | NetworkCreate | NetworkConnect | NetworkDisconnect | VolumeCreate | ContainerCreate | Stop
           | Restart | Kill | Remove | Rename | CopyFiles | Wait)

PAYLOADS: Mapping[Kind, type[Any]] = {
    Kind.CREATE_NETWORK: NetworkCreate,
    Kind.REMOVE_NETWORK: Nothing,
    Kind.CONNECT_NETWORK: NetworkConnect,
    Kind.DISCONNECT_NETWORK: NetworkDisconnect,
    Kind.CREATE_VOLUME: VolumeCreate,
    Kind.REMOVE_VOLUME: Nothing,
    Kind.CREATE_CONTAINER: ContainerCreate,
    Kind.START_CONTAINER: Nothing,
    Kind.STOP_CONTAINER: Stop,
    Kind.RESTART_CONTAINER: Restart,
    Kind.KILL_CONTAINER: Kill,
    Kind.PAUSE_CONTAINER: Nothing,
    Kind.UNPAUSE_CONTAINER: Nothing,
    Kind.REMOVE_CONTAINER: Remove,
    Kind.RENAME_CONTAINER: Rename,
    Kind.COPY_TO_CONTAINER: CopyFiles,
    Kind.WAIT_CONDITION: Wait,
}
