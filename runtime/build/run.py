"""One `POST /build` from context to image: unpack the context, read and parse the Dockerfile,
run the builder, and `q`'s quiet stream (only the image ID; held lines go out before an error)."""

from __future__ import annotations

from typing import TYPE_CHECKING, BinaryIO

import anyio.to_thread

from runtime.build import messages
from runtime.build.builder import Builder
from runtime.build.cache import BuildCache
from runtime.build.context import build_root, find_dockerfile, remove_ignored_files, unpack, work_dir
from runtime.build.options import BuildOptions
from runtime.build.state import Build, Emit
from runtime.errors import bad_request, not_implemented

if TYPE_CHECKING:
    from runtime.engine import Engine


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

    if options.remote:
        raise not_implemented(f"remote build contexts are not supported by this engine: {options.remote}")
    with work_dir(engine.root) as work:
        context = work / "context"
        context.mkdir(mode=0o700)
        await anyio.to_thread.run_sync(unpack, body, context)
        found = await anyio.to_thread.run_sync(find_dockerfile, context, options.dockerfile,
                                               options.dockerfile != "Dockerfile")
        await anyio.to_thread.run_sync(remove_ignored_files, found)
        try:
            dockerfile = parse(found.text)
        except DockerfileError as exc:
            raise bad_request(exc.text(options.dockerfile)) from None
        images = await anyio.to_thread.run_sync(lambda: engine.images)
        cache = BuildCache(build_root(engine.root) / "cache")
        build = Build(root=engine.root, images=images, containers=engine.containers, options=options, cache=cache,
                      context=context, work=work, platform=options.platform or _host_platform())
        return await Builder(build, dockerfile, emit).run()


def _host_platform() -> str:
    from runtime.images import oci

    return str(oci.host_platform())


__all__ = ["run_build"]
