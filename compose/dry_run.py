"""`--dry-run`: a plan walked as a real run walks it, with no engine call.

`DryRunCalls` is the scheduler's executor that touches nothing: each
operation succeeds at once (a created container gets a stand-in id, a wait
is met with the word its condition ends on), so the progress a dry run
shows is made by the same scheduler, from the same plan, in the same order
of dependencies as the real run's. Its lines carry Docker Compose's
`DRY-RUN MODE - ` prefix.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from compose.conditions import COMPLETED, HEALTHY, RUNNING_OR_HEALTHY, STARTED, Outcome, Verdict
from compose.scheduler import ProgressEvent

if TYPE_CHECKING:
    from compose.client import EngineClient

PREFIX = "DRY-RUN MODE - "
_MET = {STARTED: "Started", HEALTHY: "Healthy", COMPLETED: "Exited"}


class DryRunCalls:
    """An `Executor` whose every call succeeds without changing the engine.

    It may read (`--wait`'s running-or-healthy ends on Healthy where the container, or its image,
    has a health check: the engine is asked which, as the real wait would find out)."""

    def __init__(self, client: EngineClient | None = None) -> None:
        self.client = client
        self.created: dict[str, Mapping[str, Any]] = {}  # stand-in id -> create body

    async def create_network(self, name: str, body: Mapping[str, Any]) -> None:
        return None

    async def remove_network(self, name: str) -> None:
        return None

    async def connect_network(self, network: str, container: str, body: Mapping[str, Any]) -> None:
        return None

    async def disconnect_network(self, network: str, container: str, force: bool) -> None:
        return None

    async def create_volume(self, name: str, body: Mapping[str, Any]) -> None:
        return None

    async def remove_volume(self, name: str) -> None:
        return None

    async def create_container(self, name: str, body: Mapping[str, Any], platform: str | None) -> str:
        self.created[f"dryrun-{name}"] = body
        return f"dryrun-{name}"

    async def start_container(self, container: str) -> None:
        return None

    async def stop_container(self, container: str, timeout: int | None) -> None:
        return None

    async def restart_container(self, container: str, timeout: int | None) -> None:
        return None

    async def kill_container(self, container: str, signal: str | None) -> None:
        return None

    async def pause_container(self, container: str) -> None:
        return None

    async def unpause_container(self, container: str) -> None:
        return None

    async def remove_container(self, container: str, volumes: bool, force: bool) -> None:
        return None

    async def rename_container(self, container: str, name: str) -> None:
        return None

    async def copy_to_container(self, container: str, path: str, files: Sequence[Mapping[str, Any]]) -> None:
        return None

    async def wait_condition(self, container: str, condition: str) -> Outcome:
        if condition == RUNNING_OR_HEALTHY:
            return Outcome(Verdict.MET, status="Healthy" if await self._probed(container) else "Running")
        return Outcome(Verdict.MET, status=_MET.get(condition, "Running"))

    async def _probed(self, container: str) -> bool:
        """Whether the container has a health check (its own, or its image's)."""
        body = self.created.get(container)
        test = ((body or {}).get("Healthcheck") or {}).get("Test")
        if test is None and self.client is not None:
            path = f"/images/{body.get('Image')}/json" if body is not None else f"/containers/{container}/json"
            if body is None or body.get("Image"):
                found = await (await self.client.get(path)).json() or {}
                test = ((found.get("Config") or {}).get("Healthcheck") or {}).get("Test")
        return isinstance(test, list) and bool(test) and test[0] != "NONE"


def marked(on_event: Callable[[ProgressEvent], None]) -> Callable[[ProgressEvent], None]:
    """Events as a dry run shows them: the resource behind `DRY-RUN MODE - `."""
    from dataclasses import replace

    return lambda event: on_event(replace(event, resource=PREFIX + event.resource))


async def nothing() -> None:
    """The work of a step a dry run only shows."""
