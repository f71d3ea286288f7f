"""Pull images for the compose commands (`pull`, `up`, `create`, `run`): in parallel, with progress.

The decisions are compose/plan/pull.py's; this module asks the engine what
it has (`LocalImage` per reference) and runs the pulls a plan of
`ImageStep`s asks for, one task per image, each shown under its first
service as Docker Compose shows it: `web Pulling`, a line per layer (with
bytes on a terminal), `web Pulled`, or `web Error` and the engine's message.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from compose.errors import ComposeError
from compose.plan.pull import PULL, ImageStep, LocalImage

if TYPE_CHECKING:
    from compose.client import EngineClient
    from compose.model import Project
    from compose.progress import Progress

_FRACTION = re.compile(r"(\.\d{6})\d+")


def parse_time(value: Any) -> float | None:
    """An RFC 3339 time of the Engine API as epoch seconds; Go's zero time (and nothing) is None."""
    if not value or not isinstance(value, str) or value.startswith("0001-01-01"):
        return None
    try:
        return datetime.fromisoformat(_FRACTION.sub(r"\1", value).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def local_image(info: Mapping[str, Any]) -> LocalImage:
    return LocalImage(str(info.get("Id") or ""), parse_time((info.get("Metadata") or {}).get("LastTagTime")))


async def inspect_image(client: EngineClient, ref: str) -> LocalImage | None:
    from compose.client import EngineError

    try:
        return local_image(await (await client.get(f"/images/{ref}/json")).json() or {})
    except EngineError as exc:
        if exc.status != 404:
            raise
        return None


async def local_images(client: EngineClient, refs: Iterable[str]) -> dict[str, LocalImage | None]:
    """What the engine has of each reference, asked all at once."""
    import anyio

    out: dict[str, LocalImage | None] = {}

    async def one(ref: str) -> None:
        out[ref] = await inspect_image(client, ref)

    async with anyio.create_task_group() as tasks:
        for ref in set(refs):
            tasks.start_soon(one, ref)
    return out


@dataclass
class PullReport:
    pulled: list[str] = field(default_factory=list)  # images
    failed: dict[str, str] = field(default_factory=dict)  # service -> message


async def transfer_one(client: EngineClient, display: Progress, service: str, image: str, platform: str | None,
                       quiet: bool = False, warn_only: bool = False, push: bool = False) -> str | None:
    """Pull (or push) `image` shown under `service`; the error message, or None when it worked."""
    import anyio

    from compose.client import EngineError
    from compose.registry import transfer
    from compose.registry.credentials import CredentialStore, auth_headers
    from compose.registry.messages import layer_event
    from compose.scheduler import DONE, ERROR, WARNING, WORKING, ProgressEvent

    working, done = ("Pushing", "Pushed") if push else ("Pulling", "Pulled")
    began = anyio.current_time()
    display.event(ProgressEvent(service, working, WORKING))
    try:
        headers = auth_headers(CredentialStore.from_environ(os.environ), image)
        stream = transfer.push(client, image, headers) if push else transfer.pull(client, image, headers, platform)
        async for item in stream:
            event = None if quiet else layer_event(service, item)
            if event is not None:
                display.event(event)
    except ComposeError as exc:
        if isinstance(exc, EngineError) and exc.status == 0:
            raise
        message = exc.message if isinstance(exc, EngineError) else str(exc)
        state, word = (WARNING, "Warning") if warn_only else (ERROR, "Error")
        display.event(ProgressEvent(service, word, state, anyio.current_time() - began, message))
        return transfer.daemon_message(exc) if isinstance(exc, EngineError) else message
    display.event(ProgressEvent(service, done, DONE, anyio.current_time() - began))
    return None


async def run_transfers(client: EngineClient, project: Project, steps: Iterable[ImageStep], display: Progress,
                        quiet: bool = False, tolerated: Callable[[str], bool] = lambda service: False,
                        push: bool = False, parallel: int = -1) -> PullReport:
    """Every `pull` step at once (at most `parallel`, -1 for no bound); a failure `tolerated` does not stop
    the others, any other does."""
    import math

    import anyio

    report = PullReport()
    limiter = anyio.CapacityLimiter(parallel if parallel > 0 else math.inf)

    async def one(step: ImageStep, cancel: anyio.CancelScope) -> None:
        async with limiter:
            await transfer_step(step, cancel)

    async def transfer_step(step: ImageStep, cancel: anyio.CancelScope) -> None:
        service = step.services[0]
        platform = project.services[service].config.get("platform") or os.environ.get("DOCKER_DEFAULT_PLATFORM")
        keep_going = tolerated(service)
        error = await transfer_one(client, display, service, step.image, platform, quiet, keep_going, push)
        if error is None:
            report.pulled.append(step.image)
            return
        report.failed[service] = error
        if not keep_going:
            cancel.cancel()

    async with anyio.create_task_group() as tasks:
        for step in steps:
            if step.action == PULL:
                tasks.start_soon(one, step, tasks.cancel_scope)
    return report


async def run_pulls(client: EngineClient, project: Project, steps: Iterable[ImageStep], display: Progress,
                    quiet: bool = False, parallel: int = -1) -> PullReport:
    return await run_transfers(client, project, steps, display, quiet, parallel=parallel)


def failure(report: PullReport, tolerated: Callable[[str], bool] = lambda service: False) -> ComposeError | None:
    """The error a failed pull ends a command with, as Docker Compose words it."""
    fatal = sorted(service for service in report.failed if not tolerated(service))
    if not fatal:
        return None
    return ComposeError(report.failed[fatal[0]])
