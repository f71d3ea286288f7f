"""COPY and ADD: the files a step takes (from the context, a stage or an image) written as a
layer, with `--chown` resolved in the step's root and the sources' digest in the cache key."""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import hashlib
import json
import logging
import os
import stat
import tarfile
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

import anyio.to_thread

from runtime.build import copy_reuse, copy_tar, copying, fetch, history, owners, rootfs
from runtime.build.context import build_root
from runtime.build.state import BuildFailed, Emit, StageState
from runtime.dockerfile import instructions as ins
from runtime.images.layers import Offer
from runtime.store.durable import write_atomic

if TYPE_CHECKING:
    from runtime.build.steps import Steps

log = logging.getLogger("pycompose.build")


def heredoc_text(doc: ins.Heredoc, env: dict[str, str]) -> str:
    """A COPY heredoc's content: `$` references expanded unless the delimiter was quoted."""
    if not doc.expand:
        return doc.content
    from runtime.dockerfile.words import expand_heredoc

    try:
        return expand_heredoc(doc.content, env)
    except ValueError as exc:
        raise BuildFailed(str(exc)) from None


async def source_root_layers(steps: Steps, ref: str, emit: Emit) -> tuple[str, list[Path]]:
    """The image and layers of what `--from` names: a stage built before, or an image (pulled if
    missing)."""
    build = steps.build
    named = build.named.get(ref.lower())
    if named is not None and named.image:
        from runtime.build.pulling import ensure_image

        image_id = await ensure_image(build, named.image, emit)
        return image_id, await anyio.to_thread.run_sync(build.images.rootfs_layers, image_id)
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
        return "", []
    return image_id, await anyio.to_thread.run_sync(build.images.rootfs_layers, image_id)


def _digest_key(identity: str, what: str, files: list[str], instruction: ins.Copy, excludes: list[str],
                heredocs: dict[str, str], dest: str) -> str:
    doc = json.dumps([identity, what, files, excludes, instruction.parents, sorted(heredocs.items()), dest])
    return hashlib.sha256(doc.encode()).hexdigest()


def _remembered(path: Path) -> str | None:
    try:
        return path.read_text() or None
    except OSError:
        return None


async def copy_files(steps: Steps, state: StageState, instruction: ins.Copy, emit: Emit) -> None:
    build = steps.build
    what = "ADD" if instruction.add else "COPY"
    expand = steps.expander(state)
    heredocs = {doc.name: doc for doc in instruction.heredocs}
    sources = [expand(s) for s in instruction.sources] + [doc.name for doc in instruction.heredocs]
    if instruction.chmod and not instruction.chmod.strip():
        raise BuildFailed("invalid --chmod value")
    urls = [s for s in sources if fetch.is_url(s) or fetch.is_git(s)]
    if urls and not instruction.add:
        raise BuildFailed(f"source can't be a URL for {what}")
    if any(fetch.is_git(u) for u in urls):
        raise BuildFailed(f"{what} failed: git sources are not supported by this engine")
    dest = copying.resolve_dest(expand(instruction.dest), str(state.config.get("WorkingDir") or "/"))
    source_ref = expand(instruction.from_) if instruction.from_ else ""
    named = build.named.get(source_ref.lower()) if source_ref else None
    local = named.path if named is not None and named.path is not None else None
    from_image, layers = await source_root_layers(steps, source_ref, emit) \
        if source_ref and local is None else ("", None)
    env = state.env()
    texts = {name: heredoc_text(doc, env) for name, doc in heredocs.items()}
    with contextlib.ExitStack() as stack:
        root = (local or build.context) if layers is None else stack.enter_context(rootfs.mounted(layers, build.work))
        downloads = stack.enter_context(tempfile.TemporaryDirectory(dir=build.work)) if urls else ""
        fetched: list[copying.Source] = []
        for number, url in enumerate(urls):
            place = Path(downloads) / str(number)
            place.mkdir()
            try:
                got = await fetch.fetch_url(url, place, checksum=instruction.checksum)
            except copying.CopyError as exc:
                raise BuildFailed(str(exc)) from None
            fetched += [dataclasses.replace(source, unpack=instruction.unpack is True)  # URLs: only --unpack
                        for source in copying.select(place, [got.name], what=what, context=False).sources]
        files = [s for s in sources[: len(instruction.sources)] if s not in urls]

        def choose() -> copying.Selection:
            picked: list[copying.Source] = []
            if files:
                picked += copying.select(root, files, excludes=excludes,
                                         parents=instruction.parents, what=what,
                                         context=layers is None).sources
            picked += fetched
            for doc in instruction.heredocs:
                picked.append(copying.heredoc_source(doc.name, texts[doc.name].encode()))
            selection = copying.Selection(tuple(picked))
            copying.check_dest(selection, dest, what)
            return selection

        # The context and image layers never change: a selection's digest over them is kept.
        excludes = [expand(e) for e in instruction.excludes]
        identity = f"ctx:{build.context.parent.name}:{source_ref.lower() if local else ''}" if layers is None \
            else f"img:{from_image}"
        remember = None if urls else build_root(build.root) / "digests" / _digest_key(
            identity, what, files, instruction, excludes, texts, dest)
        digest = await anyio.to_thread.run_sync(_remembered, remember) if remember is not None else None
        selection: copying.Selection | None = None
        if digest is None:
            try:
                started = time.monotonic()
                selection = await anyio.to_thread.run_sync(choose)
                digest = await anyio.to_thread.run_sync(copying.digest, selection)
                log.debug("%s sources selected and digested in %.3f s", what, time.monotonic() - started)
            except (copying.CopyError, ValueError) as exc:
                raise BuildFailed(str(exc)) from None
            if remember is not None:
                remember.parent.mkdir(mode=0o700, exist_ok=True)
                write_atomic(remember, digest.encode(), durable=False)
        # dockerd: "COPY --chown=1:1file:… in /dst " (the flag glued to the hash); --chmod likewise.
        flags = "".join(f"--{name}={value}" for name, value in (("chown", expand(instruction.chown)),
                                                                 ("chmod", instruction.chmod)) if value)
        flags += "--link " if instruction.link else ""  # its layer differs: a key of its own
        probe = history.nop_string(state.shell, f"{what} {flags}{digest} in {dest} ")
        config = copy.deepcopy(state.config)
        key, hit = await steps.cached(state, {**config, "Cmd": probe}, emit, config)
        if hit:
            return
        if selection is None:
            try:
                selection = await anyio.to_thread.run_sync(choose)
            except (copying.CopyError, ValueError) as exc:
                raise BuildFailed(str(exc)) from None
        chosen = selection
        # dockerd: files from the context are root's; from a stage or an image they keep their owners
        # (the directories COPY creates on the way are root's either way).
        uid: int | None
        gid: int | None
        uid, gid = (0, 0) if layers is None else (None, None)
        if instruction.chown:
            try:
                uid, gid = owners.resolve(expand(instruction.chown), lambda path: rootfs.read_file(state.layers, path))
            except ValueError as exc:
                raise BuildFailed(str(exc)) from None
        parent_layers = list(state.layers)
        unpack = instruction.add and instruction.unpack is not False
        # Symlinks on the destination's path are followed in the step's root (a layer must not
        # put a directory where the root has a link: /bin -> usr/bin). `--link` copies onto an
        # empty root, as buildkit: nothing of the step's root is looked at, links are replaced.
        link = instruction.link
        target = dest if link else rootfs.resolve(parent_layers, dest)
        dest_is_dir = False if link else rootfs.is_dir(parent_layers, target)
        if link:
            parent_layers = []

        # The tar this step wrote last time (same parent, same instruction) may start this one. Only
        # from a context: a stage's or an image's root is mounted afresh, its files never match.
        step = (state.image_id, f"{what} {flags}in {dest} ")
        recorder: copy_reuse.Recorder | None = None

        def write(out: BinaryIO) -> int:
            nonlocal recorder
            ops = copy_tar.plan_tar(chosen, target, dest_is_dir=dest_is_dir, uid=uid, gid=gid,
                                    chmod=instruction.chmod, unpack=unpack, what=what,
                                    exists=lambda p: rootfs.lookup(parent_layers, p) is not None)
            if layers is not None:
                counted = _Counting(out)
                copy_tar.emit_tar(ops, counted)  # type: ignore[arg-type]
                return 1 if counted.count > 1024 else _has_members(counted)
            recorder = copy_reuse.Recorder(ops, build.traces.get(step), build.images.blob_path)
            try:
                start, offset = recorder.start(out)  # type: ignore[arg-type]
                log.debug("%s tar: %d of %d members (%d bytes) from the last one's blob", what, start, len(ops),
                          offset)
                counted = _Counting(out, offset)
                copy_tar.emit_tar(ops, counted, start=start, offset=offset,  # type: ignore[arg-type]
                                  boundary=recorder.boundary, replay=recorder)
            finally:
                recorder.close()
            return 1 if counted.count > 1024 else _has_members(counted)

        try:
            # Context files the layer holds unchanged are linked into its snapshot, not written again.
            reuse = same_sources(chosen) if layers is None else None
            await steps.commit(state, key, config, history.created_by(probe), write, reuse)
        except copying.CopyError as exc:
            raise BuildFailed(str(exc)) from None
        if recorder is not None:
            build.traces.put(step, recorder.trace())


def same_sources(selection: copying.Selection) -> Callable[[tarfile.TarInfo], Offer | None]:
    """For the layer's unpacking: the context file a tar member was written from, opened, when
    it is that file exactly (size, mode, owner, mtime; so no --chown/--chmod changed it). Its bytes
    are the entry's by construction: the member was just written from it, and a kept context's
    tree is never written to."""
    by_rel: dict[str, list[copying.Entry]] = {}
    files = [e for s in selection.sources for e in s.entries if e.kind == "file" and e.host is not None]
    for entry in files:
        by_rel.setdefault(entry.rel, []).append(entry)

    def find(member: tarfile.TarInfo) -> Offer | None:
        parts = [p for p in member.name.split("/") if p]
        found: list[copying.Entry] = []
        for start in range(len(parts)):
            found = by_rel.get("/".join(parts[start:]), [])
            if found:
                break
        if not found and len(files) == 1:
            found = files
        if len(found) != 1 or found[0].host is None:
            return None
        try:
            fd = os.open(found[0].host, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError:
            return None
        st = os.fstat(fd)
        if (stat.S_ISREG(st.st_mode) and st.st_size == member.size and stat.S_IMODE(st.st_mode) == member.mode & 0o7777
                and (st.st_uid, st.st_gid) == (member.uid, member.gid)
                and abs(st.st_mtime_ns / 1e9 - member.mtime) < 1e-6):
            return Offer(fd, known=True)
        os.close(fd)
        return None

    return find


class _Counting:
    """A write-only file that counts what passes."""

    def __init__(self, out: BinaryIO, count: int = 0) -> None:
        self.out = out
        self.count = count
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
