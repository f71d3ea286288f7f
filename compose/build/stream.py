"""One `POST /build`: the context sent as it is written, the answer read as it comes, errors made one line.

The classic builder answers with JSON messages: `stream` (text, lines
possibly split across messages), `status` (a FROM's pull), `aux` (the
built image's ID) and, on failure, `error`/`errorDetail`. A refusal before
the stream began is an HTTP error with the same text. A Dockerfile error
("dockerfile parse error on line 3: unknown instruction: FOO", older
dockerd says "Dockerfile parse error line 3: …") becomes
`path/to/Dockerfile:3: unknown instruction: FOO`; any other failure
(a RUN's "The command '/bin/sh -c exit 3' returned a non-zero code: 3")
`service "web" failed to build: …`.
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import anyio

from compose.build.context import Context, write_context
from compose.build.spec import BuildSpec
from compose.errors import ComposeError

if TYPE_CHECKING:
    from compose.client import EngineClient

CHUNK = 256 * 1024
_PARSE = re.compile(r"dockerfile parse error (?:on )?line (\d+): (.*)", re.IGNORECASE | re.DOTALL)
_BUILT = re.compile(r"Successfully built ([0-9a-f]{12,64})")


class BuildError(ComposeError):
    """A build that failed, in one line; `code` is the failing command's exit code when there is one."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


@dataclass(frozen=True)
class Built:
    service: str
    image_id: str


def where(spec: BuildSpec) -> str:
    """How an error names the Dockerfile: relative to the current folder when under it."""
    if spec.inline is not None:
        return f"service {spec.service!r} dockerfile_inline"
    if spec.remote or spec.dockerfile is None:
        return f"{spec.remote}:{spec.dockerfile_name}"
    try:
        return str(spec.dockerfile.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(spec.dockerfile)


def one_line(spec: BuildSpec, message: str, code: int = 1) -> BuildError:
    message = message.strip()
    found = _PARSE.search(message)
    if found:
        return BuildError(f"{where(spec)}:{found.group(1)}: {found.group(2).strip().splitlines()[0]}", code)
    first = message.splitlines()[0] if message else "the build failed"
    return BuildError(f'service "{spec.service}" failed to build: {first}', code)


def _write(spec: BuildSpec, out: IO[bytes]) -> Context:
    """The context tar, a git URL's cloned first (and removed once written)."""
    from compose.build.remote import local

    with local(spec) as ready:
        return write_context(ready, out)


async def _chunks(source: IO[bytes]) -> AsyncIterator[bytes]:
    while True:
        chunk = await anyio.to_thread.run_sync(source.read, CHUNK)
        if not chunk:
            return
        yield chunk


def _messages(buffer: str) -> tuple[list[dict[str, Any]], str]:
    decoder = json.JSONDecoder()
    out: list[dict[str, Any]] = []
    while True:
        buffer = buffer.lstrip()
        if not buffer:
            return out, ""
        try:
            message, end = decoder.raw_decode(buffer)
        except ValueError:
            return out, buffer
        buffer = buffer[end:]
        if isinstance(message, dict):
            out.append(message)


async def run_build(client: EngineClient, spec: BuildSpec, on_line: Callable[[str], None] = lambda line: None,
                    headers: dict[str, str] | None = None) -> Built:
    """Send the context, stream the output line by line to `on_line`, and return the image built."""
    from compose.client import EngineError

    if spec.extension:
        from compose.build.extension import is_ours, secrets_header

        if not is_ours(await client.version()):
            raise BuildError(f'service "{spec.service}": build: {spec.extension}: need BuildKit, and the engine '
                             "speaks the classic builder protocol")
        headers = {**(headers or {}), **await anyio.to_thread.run_sync(secrets_header, spec.secrets, spec.service)}
    with tempfile.TemporaryFile() as tar:
        context = await anyio.to_thread.run_sync(_write, spec, tar)
        await anyio.to_thread.run_sync(tar.seek, 0)
        try:
            response = await client.post("/build", spec.query(context.dockerfile), body=_chunks(tar),
                                         headers={"Content-Type": "application/x-tar", **(headers or {})})
        except EngineError as exc:
            if exc.status == 0:
                raise
            raise one_line(spec, exc.message) from None
        image_id, text, pending = "", "", ""
        async for chunk in response.stream():
            messages, pending = _messages(pending + chunk.decode(errors="replace"))
            for message in messages:
                if message.get("error") or message.get("errorDetail"):
                    detail = message.get("errorDetail") or {}
                    raise one_line(spec, str(message.get("error") or detail.get("message") or ""),
                                   int(detail.get("code") or 1))
                aux = message.get("aux")
                if isinstance(aux, dict) and aux.get("ID"):
                    image_id = str(aux["ID"])
                stream = message.get("stream")
                if isinstance(stream, str):
                    text += stream
                    *lines, text = text.split("\n")
                    for line in lines:
                        if line.strip():
                            on_line(line.rstrip("\r"))
                            found = _BUILT.search(line)
                            if found and not image_id:
                                image_id = found.group(1)
                        if spec.quiet and line.strip().startswith("sha256:"):
                            image_id = line.strip()
                elif isinstance(message.get("status"), str):
                    on_line(str(message["status"]))
        if text.strip():
            on_line(text.strip())
            if spec.quiet and text.strip().startswith("sha256:") and not image_id:
                image_id = text.strip()
    if not image_id:
        raise BuildError(f'service "{spec.service}" failed to build: the engine did not say which image it built')
    return Built(spec.service, image_id)
