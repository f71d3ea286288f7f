"""The image side of `docker run`: `--pull always|missing|never`, and pulling an image that is not there.

As the docker CLI: with `always` the image is pulled before the create;
with `missing` (the default) the create is tried and, when the engine has
no such image, `Unable to find image 'busybox:latest' locally` goes to
stderr, the pull follows (its progress on stderr too, none with -q) and the
create is tried again; with `never` the engine's error stands. Nothing here
imports click or anyio until a pull happens: the plain run path stays fast.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

from compose.client.errors import EngineConnectionError, EngineError

if TYPE_CHECKING:
    from compose.client import EngineClient

T = TypeVar("T")
POLICIES = ("always", "missing", "never")


class PullFailed(Exception):
    """A pull for run failed: the docker CLI's line for it (exit 125)."""


def check_policy(value: str | None) -> str:
    policy = value or "missing"
    if policy not in POLICIES:
        raise ValueError(f'invalid pull option: \'{policy}\': must be one of "always", "missing" or "never"')
    return policy


def missing_image(exc: EngineError) -> bool:
    return exc.status == 404 and "image" in exc.message.lower()


def familiar(image: str) -> str:
    from compose.registry.reference import parse, with_default_tag

    return with_default_tag(parse(image)).familiar()


async def pull_async(client: EngineClient, image: str, platform: str | None, quiet: bool) -> None:
    """Pull `image` showing the progress on stderr as docker run does."""
    from compose.cli.image_transfer import display_width
    from compose.cli.jsonmessage import MessageDisplay
    from compose.registry import transfer
    from compose.registry.credentials import CredentialStore, auth_headers

    headers = auth_headers(CredentialStore.from_environ(os.environ), image)
    display = MessageDisplay(sys.stderr, sys.stderr.isatty(), display_width())
    try:
        async for message in transfer.pull(client, image, headers, platform):
            if not quiet:
                display.show(message)
    except EngineConnectionError:
        raise
    except EngineError as exc:
        raise PullFailed(transfer.daemon_message(exc)) from None


def pull_blocking(host: str, image: str, platform: str | None, quiet: bool) -> None:
    from compose.client import run_sync

    run_sync(host, lambda client: pull_async(client, image, platform, quiet))


def announce_missing(image: str) -> None:
    print(f"Unable to find image '{familiar(image)}' locally", file=sys.stderr, flush=True)


def create_with_pull(create: Callable[[], T], pull: Callable[[], None], image: str, policy: str) -> T:
    """docker's createContainer: `create` after (or, on a missing image, around) `pull`."""
    if policy == "always":
        pull()
    try:
        return create()
    except EngineError as exc:
        if policy != "missing" or not missing_image(exc):
            raise
    announce_missing(image)
    pull()
    return create()


async def create_with_pull_async(create: Callable[[], Awaitable[T]], pull: Callable[[], Awaitable[None]],
                                 image: str, policy: str) -> T:
    """The same for the anyio flows."""
    if policy == "always":
        await pull()
    try:
        return await create()
    except EngineError as exc:
        if policy != "missing" or not missing_image(exc):
            raise
    announce_missing(image)
    await pull()
    return await create()
