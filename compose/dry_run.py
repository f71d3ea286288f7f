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
from typing import Any

from compose.conditions import COMPLETED, HEALTHY, STARTED, Outcome, Verdict
from compose.scheduler import ProgressEvent

PREFIX = "DRY-RUN MODE - "
_MET = {STARTED: "Started", HEALTHY: "Healthy", COMPLETED: "Exited"}


class DryRunCalls:
    """An `Executor` whose every call succeeds without reaching the engine."""

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
        return Outcome(Verdict.MET, status=_MET.get(condition, "Running"))


def marked(on_event: Callable[[ProgressEvent], None]) -> Callable[[ProgressEvent], None]:
    """Events as a dry run shows them: the resource behind `DRY-RUN MODE - `."""
    from dataclasses import replace

    return lambda event: on_event(replace(event, resource=PREFIX + event.resource))


async def nothing() -> None:
    """The work of a step a dry run only shows."""
