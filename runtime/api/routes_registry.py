"""Registry routes: pull (`POST /images/create?fromImage=`), push, `POST /auth`,
`GET /distribution/{name}/json`.

Credentials come in `X-Registry-Auth` (base64url JSON) or, for /auth, the body. The work runs
in a worker thread writing dockerd's progress stream; an error before the first line is a
status code (dockerd answers before it flushes), a later one an `errorDetail` line.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from typing import Any, BinaryIO

from runtime.api.bridge import stream_from_writer
from runtime.api.errors import EngineError
from runtime.api.http import Request, Response, json_response
from runtime.api.router import Route
from runtime.engine import Engine

log = logging.getLogger(__name__)


def registry_error(exc: Exception) -> Exception:
    """The API error for a registry, reference or image store exception (others pass through)."""
    from runtime.api.routes_images import store_error
    from runtime.registry.config import ConfigError

    if isinstance(exc, ConfigError):
        return EngineError(500, str(exc))
    return store_error(exc)


async def _mapped(chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    try:
        async for chunk in chunks:
            yield chunk
    except Exception as exc:
        error = registry_error(exc)
        if error is exc:
            raise
        raise error from exc
    finally:
        await chunks.aclose()  # type: ignore[attr-defined]


def _streamed(request: Request, work: Callable[[Any], object]) -> Response:
    """Run `work(progress)` in a worker thread as a dockerd progress stream."""

    def produce(out: BinaryIO) -> None:
        from runtime.registry.progress import Progress

        progress = Progress(out)
        try:
            work(progress)
        except Exception as exc:
            if not progress.started:
                raise
            error = registry_error(exc)
            if not isinstance(error, EngineError):
                log.exception("registry operation failed")
            progress.error(getattr(error, "message", None) or str(exc) or type(exc).__name__)

    return Response(200, _mapped(stream_from_writer(request.tasks, produce)), [("Content-Type", "application/json")])


def _auth(request: Request) -> Any:
    from runtime.registry.auth import decode_registry_auth

    try:
        return decode_registry_auth(request.headers.get("x-registry-auth", ""))
    except Exception as exc:
        raise registry_error(exc) from exc


def _config(engine: Engine) -> Any:
    from runtime.registry.config import load_config

    try:
        return load_config(engine.root)
    except Exception as exc:
        raise registry_error(exc) from exc


async def pull_image(engine: Engine, request: Request) -> Response:
    """`POST /images/create?fromImage=&tag=&platform=` (called by routes_images.create_image)."""
    from runtime.images import oci
    from runtime.registry.manifests import parse_platform
    from runtime.registry.pull import Puller, PullRequest, target

    platform = request.arg("platform")
    try:
        ref = target(request.arg("fromImage"), request.arg("tag"))
        want = parse_platform(platform) if platform else oci.host_platform()
    except Exception as exc:
        raise registry_error(exc) from exc
    every = not request.arg("tag") and "@" not in request.arg("fromImage") and ":" not in \
        request.arg("fromImage").rsplit("/", 1)[-1]
    pull = PullRequest(ref, want, bool(platform), _auth(request), all_tags=every)
    config = _config(engine)
    return _streamed(request, lambda progress: Puller(engine.images, config, progress).pull(pull))


async def push_image(engine: Engine, request: Request) -> Response:
    """`POST /images/{name}/push?tag=` (`tag` empty: every tag of the repository)."""
    from runtime.registry.push import Pusher, push_targets

    auth, config = _auth(request), _config(engine)
    try:
        targets = push_targets(engine.images, request.params["name"], request.arg("tag"))
    except Exception as exc:
        raise registry_error(exc) from exc
    return _streamed(request, lambda progress: Pusher(engine.images, config, progress).push(targets, auth))


async def login(engine: Engine, request: Request) -> Response:
    """`POST /auth`: check the credentials against the registry."""
    import anyio.to_thread

    from runtime.registry.auth import auth_from_json
    from runtime.registry.login import check_login

    body = await request.json() or {}
    config = _config(engine)
    try:
        auth = auth_from_json(body)
        token = await anyio.to_thread.run_sync(lambda: check_login(auth, config))
    except Exception as exc:
        raise registry_error(exc) from exc
    return json_response({"Status": "Login Succeeded", "IdentityToken": token})


async def distribution_inspect(engine: Engine, request: Request) -> Response:
    """`GET /distribution/{name}/json`: the descriptor and platforms a reference names."""
    import anyio.to_thread

    from runtime.registry.login import inspect_distribution

    auth, config = _auth(request), _config(engine)
    try:
        answer = await anyio.to_thread.run_sync(lambda: inspect_distribution(request.params["name"], auth, config))
    except Exception as exc:
        raise registry_error(exc) from exc
    return json_response(answer)


ROUTES: tuple[Route[Engine], ...] = (
    Route("POST", "/auth", login),
    Route("GET", "/distribution/{name:.*}/json", distribution_inspect),
    Route("POST", "/images/{name:.*}/push", push_image),
)
