"""What the volume store raises: Engine API errors with Docker's status codes and messages.

They are `EngineError`s so that a failure reaches the API client as Docker
reports it whoever called the store (the volume routes, or the container
manager while it creates a container that names a volume).
"""

from __future__ import annotations

from collections.abc import Sequence

from runtime.errors import EngineError


class VolumeError(EngineError):
    """A volume operation failed."""


class VolumeNotFound(VolumeError):
    def __init__(self, name: str, op: str = "get") -> None:
        super().__init__(404, f"{op} {name}: no such volume")
        self.name = name


class VolumeInUse(VolumeError):
    """Docker's OpErr text: `remove NAME: volume is in use - [ID, ID]`."""

    def __init__(self, name: str, containers: Sequence[str]) -> None:
        super().__init__(409, f"remove {name}: volume is in use - [{', '.join(containers)}]")
        self.name = name
        self.containers = list(containers)


class VolumeInvalid(VolumeError):
    """A bad name, driver option or filter (400); `op`/`name` prefix it as Docker's OpErr does."""

    def __init__(self, message: str, op: str = "", name: str = "") -> None:
        prefix = f"{op} {name}: " if op and name else (f"{op}: " if op else "")
        super().__init__(400, prefix + message)


class VolumeDriverNotFound(VolumeError):
    def __init__(self, name: str, driver: str) -> None:
        super().__init__(404, f'create {name}: error looking up volume plugin {driver}: plugin "{driver}" not found')


class VolumeFailure(VolumeError):
    """The engine could not do it (a mount, an unmount, the disk): 500."""

    def __init__(self, message: str) -> None:
        super().__init__(500, message)
