"""COPY and ADD: the files a step takes (from the context, a stage or an image) written as a
layer, with `--chown` resolved in the step's root and the sources' digest in the cache key."""

from __future__ import annotations

import contextlib
import copy
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

import anyio.to_thread

from runtime.build import copying, history, owners, rootfs
from runtime.build.state import BuildFailed, Emit, StageState
from runtime.dockerfile import instructions as ins

if TYPE_CHECKING:
    from runtime.build.steps import Steps


def _is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


async def source_root_layers(steps: Steps, ref: str, emit: Emit) -> list[Path]:
    """The layers of what `--from` names: a stage built before, or an image (pulled if missing)."""
    build = steps.build
    index = build.stage_names.get(ref.lower())
    if index is None and ref.isdigit():
        index = int(ref)
    if index is not None:
        if index not in build.stage_images:
            raise BuildFailed(f"invalid from flag value {ref}: stage {ref} is not built before this one")
        image_id = build.stage_images[index]
    else:
        from runtime.build.pulling import ensure_image

        image_id = await ensure_image(build, ref, emit)
    if not image_id:
        return []
    return await anyio.to_thread.run_sync(build.images.rootfs_layers, image_id)


async def copy_files(steps: Steps, state: StageState, instruction: ins.Copy, emit: Emit) -> None:
    build = steps.build
    what = "ADD" if instruction.add else "COPY"
    expand = steps.expander(state)
    heredocs = {doc.name: doc for doc in instruction.heredocs}
    sources = [s if s in heredocs else expand(s) for s in instruction.sources]
    if instruction.chmod and not instruction.chmod.strip():
        raise BuildFailed("invalid --chmod value")
    if any(_is_url(s) for s in sources):
        raise BuildFailed(f"{what} failed: source URLs are not supported yet by this engine")
    dest = copying.resolve_dest(expand(instruction.dest), str(state.config.get("WorkingDir") or "/"))
    layers = await source_root_layers(steps, expand(instruction.from_), emit) if instruction.from_ else None
    with contextlib.ExitStack() as stack:
        root = build.context if layers is None else stack.enter_context(rootfs.mounted(layers, build.work))
        files = [s for s in sources if s not in heredocs]

        def choose() -> copying.Selection:
            picked: list[copying.Source] = []
            if files:
                picked += copying.select(root, files, excludes=[expand(e) for e in instruction.excludes],
                                         parents=instruction.parents, what=what,
                                         context=layers is None).sources
            for name in sources:
                if name in heredocs:
                    picked.append(copying.heredoc_source(name, heredocs[name].content.encode()))
            selection = copying.Selection(tuple(picked))
            copying.check_dest(selection, dest, what)
            return selection

        try:
            selection = await anyio.to_thread.run_sync(choose)
            digest = await anyio.to_thread.run_sync(copying.digest, selection)
        except (copying.CopyError, ValueError) as exc:
            raise BuildFailed(str(exc)) from None
        probe = history.nop_string(state.shell, f"{what} {digest} in {dest} ")
        config = copy.deepcopy(state.config)
        key, hit = await steps.cached(state, {**config, "Cmd": probe}, emit)
        if hit:
            return
        uid, gid = 0, 0
        if instruction.chown:
            try:
                uid, gid = owners.resolve(expand(instruction.chown), lambda path: rootfs.read_file(state.layers, path))
            except ValueError as exc:
                raise BuildFailed(str(exc)) from None
        parent_layers = list(state.layers)
        dest_is_dir = rootfs.is_dir(parent_layers, dest)

        def write(out: BinaryIO) -> int:
            counted = _Counting(out)
            copying.write_tar(selection, dest, counted, dest_is_dir=dest_is_dir, uid=uid, gid=gid,  # type: ignore[arg-type]
                              chmod=instruction.chmod, exists=lambda p: rootfs.lookup(parent_layers, p) is not None,
                              what=what)
            return 1 if counted.count > 1024 else _has_members(counted)

        try:
            await steps.commit(state, key, config, history.created_by(probe), write)
        except copying.CopyError as exc:
            raise BuildFailed(str(exc)) from None


class _Counting:
    """A write-only file that counts what passes."""

    def __init__(self, out: BinaryIO) -> None:
        self.out = out
        self.count = 0
        self.head = b""

    def write(self, data: bytes) -> int:
        if len(self.head) < 1024:
            self.head += bytes(data[: 1024 - len(self.head)])
        self.count += len(data)
        return self.out.write(data)

    def flush(self) -> None:
        self.out.flush()


def _has_members(counted: _Counting) -> int:
    """Whether a short tar holds a member (a tar of no member is all zeros)."""
    return 1 if counted.head.strip(b"\0") else 0
