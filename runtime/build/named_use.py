"""Named contexts (named.py) where a Dockerfile names them: `FROM <name>` (an image's, or a local
folder's files as the stage's first layer, with an empty config as buildkit gives it) and the
root a `COPY --from=<name>` or `RUN --mount=from=<name>` reads."""

from __future__ import annotations

import tarfile
from typing import TYPE_CHECKING, BinaryIO

import anyio.to_thread

from runtime.build import copying, history
from runtime.build.named import Named
from runtime.build.state import DEFAULT_SHELL, BuildFailed, Emit, StageState

if TYPE_CHECKING:
    from runtime.build.steps import Steps


async def _quiet(_message: object) -> None:
    return None


async def base_image(steps: Steps, state: StageState, named: Named, emit: Emit, platform: str = "") -> str:
    """The image a `FROM <name>` starts from."""
    from runtime.build.pulling import ensure_image

    if named.image:
        return await ensure_image(steps.build, named.image, emit, platform=platform)
    assert named.path is not None
    folder = named.path

    def choose() -> tuple[copying.Selection | None, str]:
        if not any(folder.iterdir()):
            return None, "dir:" + "0" * 64
        selection = copying.select(folder, ["."], what="FROM", context=False)
        return selection, copying.digest(selection)

    try:
        selection, digest = await anyio.to_thread.run_sync(choose)
    except (copying.CopyError, ValueError) as exc:
        raise BuildFailed(str(exc)) from None
    probe = history.nop_string(list(DEFAULT_SHELL), f"COPY {digest} in / ")
    key, hit = await steps.cached(state, {"Cmd": probe}, _quiet, {})  # FROM prints no "Using cache"
    if hit:
        return state.image_id

    def write(out: BinaryIO) -> int:
        if selection is None:
            with tarfile.open(fileobj=out, mode="w|"):
                return 0
        copying.write_tar(selection, "/", out, dest_is_dir=True)
        return 1

    try:
        return await steps.commit(state, key, {}, history.created_by(probe), write)
    except copying.CopyError as exc:
        raise BuildFailed(str(exc)) from None
