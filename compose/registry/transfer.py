"""Pull and push through the engine: one API call each, the progress messages as they come.

`POST /images/create?fromImage=&tag=&platform=` and `POST /images/{name}/push?tag=`,
both with `X-Registry-Auth` for the image's registry. An error answer
(HTTP status) raises `EngineError` as the client raises any; an error inside
the stream (`{"errorDetail":…,"error":…}`) raises `StreamError`, since the
docker CLI prints the first with `Error response from daemon: ` and the
second as it is.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any

from compose.client.errors import EngineError
from compose.registry.reference import parse

if TYPE_CHECKING:
    from compose.client import EngineClient


class StreamError(EngineError):
    """An error the engine reported inside a progress stream."""


def daemon_message(exc: EngineError) -> str:
    """How the docker CLI shows an engine's error."""
    if isinstance(exc, StreamError) or exc.status == 0:
        return exc.message
    return f"Error response from daemon: {exc.message}"


def pull_params(image: str, platform: str | None = None, all_tags: bool = False) -> dict[str, Any]:
    """`fromImage` without tag or digest, `tag` the tag or the digest (docker CLI's split)."""
    ref = parse(image)
    name = image.partition("@")[0]
    if ref.tag:
        name = name[: -len(ref.tag) - 1]
    tag = ref.digest or ref.tag or ("" if all_tags else "latest")
    return {"fromImage": name, "tag": tag or None, "platform": platform or None}


def push_target(image: str, all_tags: bool = False) -> tuple[str, str | None]:
    """(repository, tag) for `POST /images/{repository}/push?tag=`."""
    ref = parse(image)
    name = image.partition("@")[0]
    if ref.tag:
        name = name[: -len(ref.tag) - 1]
    return name, None if all_tags else (ref.tag or "latest")


async def _messages(response: Any) -> AsyncIterator[dict[str, Any]]:
    try:
        async for message in response.json_stream():
            yield message
    except EngineError as exc:
        if exc.status == 0:
            raise
        raise StreamError(500, exc.message) from None


async def pull(client: EngineClient, image: str, headers: Mapping[str, str], platform: str | None = None,
               all_tags: bool = False) -> AsyncIterator[dict[str, Any]]:
    response = await client.post("/images/create", pull_params(image, platform, all_tags), headers=dict(headers))
    async for message in _messages(response):
        yield message


async def push(client: EngineClient, image: str, headers: Mapping[str, str],
               all_tags: bool = False) -> AsyncIterator[dict[str, Any]]:
    name, tag = push_target(image, all_tags)
    response = await client.post(f"/images/{name}/push", {"tag": tag}, headers=dict(headers))
    async for message in _messages(response):
        yield message
