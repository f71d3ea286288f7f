"""Routes: method + path pattern -> handler, with Docker's version prefix.

Every route answers both `/path` and `/v1.NN/path`. A version above ours or
below the minimum is refused with Docker's 400 message; an unknown path (or
a known path with another method) is Docker's 404 "page not found".
Patterns use `{name}` for one path segment and `{name:.*}` for the rest,
because image references carry slashes (`/images/library/busybox/json`).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from runtime.api.decode import UNKNOWN, Decoder, Operation
from runtime.api.errors import bad_request, not_found
from runtime.api.http import Request, Response, engine_error_in, error_response

API_VERSION = "1.45"
MIN_API_VERSION = "1.24"

C = TypeVar("C")
Handler = Callable[[C, Request], Awaitable[Response]]

_VERSION_PREFIX = re.compile(r"/v([0-9][0-9.]*)(/.*)")
_PLACEHOLDER = re.compile(r"\{(\w+)(:\.\*)?\}")


def compile_pattern(pattern: str) -> re.Pattern[str]:
    """`/images/{name:.*}/json` -> a regex with one named group per placeholder."""
    out: list[str] = []
    last = 0
    for m in _PLACEHOLDER.finditer(pattern):
        out.append(re.escape(pattern[last : m.start()]))
        out.append(f"(?P<{m.group(1)}>{'.+' if m.group(2) else '[^/]+'})")
        last = m.end()
    out.append(re.escape(pattern[last:]))
    return re.compile("".join(out))


@dataclass(frozen=True)
class Route(Generic[C]):
    method: str
    pattern: str
    handler: Handler[C]
    regex: re.Pattern[str] = field(init=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "regex", compile_pattern(self.pattern))


def version_tuple(version: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in version.split("."))
    except ValueError:
        raise bad_request(f"invalid API version: {version}") from None


def check_version(version: str) -> None:
    """Docker's version middleware, same messages."""
    wanted = version_tuple(version)
    if wanted < version_tuple(MIN_API_VERSION):
        raise bad_request(
            f"client version {version} is too old. Minimum supported API version is "
            f"{MIN_API_VERSION}, please upgrade your client to a newer version"
        )
    if wanted > version_tuple(API_VERSION):
        raise bad_request(
            f"client version {version} is too new. Maximum supported API version is {API_VERSION}"
        )


def split_version(path: str) -> tuple[str | None, str]:
    """`/v1.45/info` -> ("1.45", "/info"); `/info` -> (None, "/info")."""
    m = _VERSION_PREFIX.fullmatch(path)
    if m is None:
        return None, path
    return m.group(1), m.group(2)


class Router(Generic[C]):
    """The application the server calls: finds the route and runs its handler.

    `context` (the Engine, in the daemon) is passed to every handler;
    `headers` go on every response (Docker sends Server, Api-Version, Ostype);
    `decoder` types each request's parameters and body before its handler runs (decode.py).
    """

    def __init__(
        self, context: C, routes: Iterable[Route[C]], headers: Iterable[tuple[str, str]] = (),
        decoder: Decoder | None = None,
    ) -> None:
        self.context = context
        self.routes = tuple(routes)
        self.headers = list(headers)
        self.decoder = decoder or Decoder({})
        self.operations: dict[tuple[str, str], Operation] = {
            (r.method, r.pattern): self.decoder.operation(r.method, r.pattern) for r in self.routes}

    def match(self, method: str, path: str) -> tuple[Route[C], dict[str, str]]:
        for route in self.routes:
            if route.method != method:
                continue
            m = route.regex.fullmatch(path)
            if m is not None:
                return route, m.groupdict()
        raise not_found("page not found")

    async def __call__(self, request: Request) -> Response:
        try:
            version, path = split_version(request.path)
            if version is not None:
                check_version(version)
            route, params = self.match(request.method, path)
            request.path, request.api_version, request.params = path, version, params
            await self.decoder.prepare(self.operations.get((route.method, route.pattern), UNKNOWN), request)
            response = await route.handler(self.context, request)
        except Exception as exc:
            error = engine_error_in(exc)
            if error is None:
                raise
            response = error_response(error)
        own = {name.lower() for name, _ in response.headers}
        response.headers = [h for h in self.headers if h[0].lower() not in own] + response.headers
        return response
