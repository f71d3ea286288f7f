"""One `POST /build` from context to image: unpack the context, read and parse the Dockerfile,
run the builder, and `q`'s quiet stream (only the image ID; held lines go out before an error)."""

from __future__ import annotations

import contextlib
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

import anyio.to_thread

from runtime.build import messages
from runtime.build.builder import Builder
from runtime.build.cache import BuildCache
from runtime.build.context import build_root, work_dir
from runtime.build.contexts import context_dir
from runtime.build.copy_reuse import Traces
from runtime.build.named import placed
from runtime.build.options import BuildOptions
from runtime.build.selection import CopyError
from runtime.build.state import Build, Emit
from runtime.errors import bad_request

if TYPE_CHECKING:
    from runtime.containers.manager import ContainerManager
    from runtime.images.store import ImageStore

log = logging.getLogger("pycompose.build")


@dataclass(frozen=True)
class Engine:
    """What a build uses of the engine: its state root, image store and containers."""

    root: Path
    images: ImageStore
    containers: ContainerManager | None
    traces: Traces = field(default_factory=Traces)  # the engine's, kept across builds (copy_reuse.py)


async def run_build(engine: Engine, options: BuildOptions, body: BinaryIO, emit: Emit) -> str:
    held: list[messages.Message] = []
    out = emit
    if options.quiet:
        async def quiet(message: messages.Message) -> None:
            if "stream" in message:
                held.append(message)
            else:
                await emit(message)

        out = quiet
    try:
        image_id = await _build(engine, options, body, out)
    except BaseException:
        if held:
            for message in held:
                await emit(message)
        raise
    if options.quiet:
        await emit(messages.stream(image_id))
    return image_id


async def _build(engine: Engine, options: BuildOptions, body: BinaryIO, emit: Emit) -> str:
    from runtime.dockerfile.errors import DockerfileError
    from runtime.dockerfile.parser import parse

    with work_dir(engine.root) as work, contextlib.ExitStack() as stack:
        if options.remote:
            from runtime.build.fetch import fetch_remote_context

            try:
                downloaded = await fetch_remote_context(options.remote, work, dockerfile=options.dockerfile)
            except CopyError as exc:  # FetchError: dockerd's "unable to prepare context: …"
                raise bad_request(str(exc)) from None
            body = stack.enter_context(open(downloaded, "rb"))
        started = time.monotonic()
        found = await anyio.to_thread.run_sync(
            stack.enter_context, context_dir(engine.root, body, work, options.dockerfile, bool(options.named_contexts)))
        log.debug("build context ready in %.3f s", time.monotonic() - started)
        context = found.root
        try:
            dockerfile = parse(found.text)
        except DockerfileError as exc:
            raise bad_request(exc.text(options.dockerfile)) from None
        cache = BuildCache(build_root(engine.root) / "cache")
        build = Build(root=engine.root, images=engine.images, containers=engine.containers, options=options,
                      cache=cache, context=context, work=work, platform=options.platform or _host_platform(),
                      named=placed(options.named_contexts, found.named), traces=engine.traces)
        return await Builder(build, dockerfile, emit).run()


def _host_platform() -> str:
    from runtime.images import oci

    return str(oci.host_platform())


__all__ = ["run_build"]
