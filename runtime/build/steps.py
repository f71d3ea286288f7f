"""One instruction of a stage: probe the cache, else do it and commit the image it makes.

Metadata steps change the config (part of the image, an `empty_layer` history entry); WORKDIR
makes its directory when missing; RUN runs a container (run_step.py); COPY/ADD write their
files as a layer (copy_step.py). Every step's probe command is dockerd's (history.py), and
the cache key is the parent image, that command in the config, and the platform.
"""

from __future__ import annotations

import contextlib
import copy
import posixpath
import tarfile
import time
from collections.abc import AsyncIterator, Callable
from typing import Any, BinaryIO

import anyio
import anyio.to_thread

from runtime.build import history, messages, run_step
from runtime.build.cache import step_key
from runtime.build.state import Build, BuildFailed, Emit, StageState
from runtime.dockerfile import instructions as ins
from runtime.dockerfile.config import apply_instruction
from runtime.dockerfile.errors import DockerfileError
from runtime.dockerfile.words import expand as expand_word
from runtime.images import docker_json
from runtime.images.commit import commit_config
from runtime.images.layers import Reuse


def _nothing(_out: BinaryIO) -> int:
    return 0


class Steps:
    def __init__(self, build: Build) -> None:
        self.build = build

    def expander(self, state: StageState) -> Callable[[str], str]:
        env = state.env()

        def expand(word: str) -> str:
            try:
                return expand_word(word, env, state.escape)
            except ValueError as exc:
                raise BuildFailed(str(exc)) from None

        return expand

    async def dispatch(self, state: StageState, instruction: ins.Instruction, emit: Emit) -> None:
        if isinstance(instruction, ins.Run):
            from runtime.build.run_instruction import run_instruction

            await run_instruction(self, state, instruction, emit)
        elif isinstance(instruction, ins.Copy):
            from runtime.build.copy_step import copy_files

            await copy_files(self, state, instruction, emit)
        elif isinstance(instruction, ins.Workdir):
            await self.workdir(state, instruction, emit)
        elif isinstance(instruction, ins.Arg):
            await self.arg(state, instruction, emit)
        elif isinstance(instruction, ins.From):
            raise BuildFailed("FROM is not allowed here")
        else:
            await self.metadata(state, instruction, emit)

    # -- the cache and commits -------------------------------------------------------------------

    async def cached(self, state: StageState, probe: dict[str, Any], emit: Emit) -> tuple[str, bool]:
        """(the step's cache key, whether the cache had it: then the state moved to that image)."""
        build = self.build
        key = step_key(state.image_id, probe, build.platform)
        if build.options.no_cache:
            return key, False
        hit = await anyio.to_thread.run_sync(build.cache.lookup, key, self._exists)
        if hit is None or (build.cache_sources is not None and hit not in build.cache_sources):
            return key, False
        await emit(messages.using_cache())
        await self.move_to(state, hit)
        return key, True

    def _exists(self, image_id: str) -> bool:
        try:
            self.build.images.resolve(image_id)
        except Exception:
            return False
        return True

    async def move_to(self, state: StageState, image_id: str) -> None:
        state.image_id = image_id
        state.layers = await anyio.to_thread.run_sync(self.build.images.rootfs_layers, image_id)

    async def commit(self, state: StageState, key: str, config: dict[str, Any], created_by: str,
                     write: Callable[[BinaryIO], int] = _nothing, reuse: Reuse | None = None) -> str:
        parent = state.image_id
        created = docker_json.format_time(time.time())
        author = state.author

        def make(parent_doc: dict[str, Any], diff_id: str | None) -> bytes:
            return commit_config(parent_doc, config, diff_id, author=author, comment="", created=created,
                                 created_by=created_by)

        def work() -> str:
            image_id = self.build.images.commit(parent, write, make, None, None, parent_link=parent, reuse=reuse)
            self.build.cache.record(key, image_id, parent)
            return image_id

        image_id = await anyio.to_thread.run_sync(work)
        await self.move_to(state, image_id)
        return image_id

    # -- metadata ----------------------------------------------------------------------------------

    async def metadata(self, state: StageState, instruction: ins.Instruction, emit: Emit) -> None:
        expand = self.expander(state)
        config = copy.deepcopy(state.config)
        if isinstance(instruction, ins.Maintainer):
            state.author = expand(instruction.name)
            comment = "MAINTAINER " + state.author
        else:
            try:
                config = apply_instruction(config, instruction, expand, cmd_set=state.cmd_set)
            except DockerfileError as exc:
                raise BuildFailed(exc.message) from None
            if isinstance(instruction, ins.Cmd):
                state.cmd_set = True
            comment = metadata_comment(instruction, config, expand)
        await self.commit_config_step(state, config, history.nop(state.shell, comment), emit)

    async def commit_config_step(self, state: StageState, config: dict[str, Any], probe_cmd: list[str],
                                 emit: Emit) -> None:
        key, hit = await self.cached(state, {**config, "Cmd": probe_cmd}, emit)
        if not hit:
            async with self.step_container(state, config, probe_cmd, emit):
                await self.commit(state, key, config, history.created_by(probe_cmd))
        state.config = config

    @contextlib.asynccontextmanager
    async def step_container(self, state: StageState, config: dict[str, Any], probe_cmd: list[str],
                             emit: Emit) -> AsyncIterator[None]:
        """dockerd's classic builder creates (never starts) a container for a metadata or WORKDIR
        step and removes it after the commit ("Removing intermediate container …"): so do we."""
        manager = self.build.containers
        if manager is None or not state.image_id:
            yield
            return
        body = {**copy.deepcopy(config), "Image": state.image_id, "Cmd": probe_cmd, "Entrypoint": [""],
                "HostConfig": {"LogConfig": {"Type": "none"}, "NetworkMode": "none"}}
        for drop in ("OnBuild", "Shell", "StopSignal", "Healthcheck", "Volumes"):
            body.pop(drop, None)
        container_id = await run_step.create(manager, body)
        ok = False
        try:
            yield
            ok = True
        finally:
            options = self.build.options
            if options.force_rm or (options.rm and ok):
                await run_step.remove(manager, container_id)
                with anyio.CancelScope(shield=True), contextlib.suppress(Exception):
                    await emit(messages.removing(container_id))

    async def arg(self, state: StageState, instruction: ins.Arg, emit: Emit) -> None:
        words = []
        for name, default in instruction.pairs:
            env = state.env()
            state.args.declare(name, default, env, lambda word, env: expand_word(word, env, state.escape))
            value = None if default is None else expand_word(default, env, state.escape)
            words.append(name if value is None else f"{name}={value}")
        probe = history.nop(state.shell, "ARG " + " ".join(words))
        await self.commit_config_step(state, copy.deepcopy(state.config), probe, emit)

    # -- WORKDIR -----------------------------------------------------------------------------------

    async def workdir(self, state: StageState, instruction: ins.Workdir, emit: Emit) -> None:
        from runtime.build import rootfs

        expand = self.expander(state)
        try:
            config = apply_instruction(state.config, instruction, expand)
        except DockerfileError as exc:
            raise BuildFailed(exc.message) from None
        path = str(config.get("WorkingDir") or "/")
        probe = history.nop_string(state.shell, "WORKDIR " + path)
        key, hit = await self.cached(state, {**config, "Cmd": probe}, emit)
        if not hit:
            missing = [] if rootfs.is_dir(state.layers, path) else _parents(path)

            def write(out: BinaryIO) -> int:
                with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:
                    for name in missing:
                        if not rootfs.is_dir(state.layers, name):
                            info = tarfile.TarInfo(name.lstrip("/"))
                            info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, int(time.time())
                            tar.addfile(info)
                return len(missing)

            async with self.step_container(state, config, probe, emit):
                await self.commit(state, key, config, history.created_by(probe), write)
        state.config = config


def _parents(path: str) -> list[str]:
    out, current = [], ""
    for part in [p for p in path.split("/") if p]:
        current = current + "/" + part
        out.append(current)
    return out


def metadata_comment(instruction: ins.Instruction, config: dict[str, Any], expand: Callable[[str], str]) -> str:
    """The `#(nop)` comment of a metadata step, as dockerd's classic builder words it."""
    if isinstance(instruction, ins.Env):
        return "ENV " + " ".join(f"{expand(k)}={expand(v)}" for k, v in instruction.pairs)
    if isinstance(instruction, ins.Label):
        return "LABEL " + " ".join(f"{expand(k)}={expand(v)}" for k, v in instruction.pairs)
    if isinstance(instruction, ins.Cmd):
        return "CMD " + history.go_quote_list(config.get("Cmd") or [])
    if isinstance(instruction, ins.Entrypoint):
        return "ENTRYPOINT " + history.go_quote_list(config.get("Entrypoint") or [])
    if isinstance(instruction, ins.Expose):
        return "EXPOSE " + " ".join(expand(p) for p in instruction.ports)
    if isinstance(instruction, ins.User):
        return "USER " + str(config.get("User") or "")
    if isinstance(instruction, ins.Volume):
        return "VOLUME " + history.go_list([expand(p) for p in instruction.paths])
    if isinstance(instruction, ins.StopSignal):
        return "STOPSIGNAL " + str(config.get("StopSignal") or "")
    if isinstance(instruction, ins.Shell):
        return "SHELL " + history.go_list(list(instruction.args))
    if isinstance(instruction, ins.Healthcheck):
        return history.healthcheck_comment(config.get("Healthcheck") or {"Test": ["NONE"]})
    if isinstance(instruction, ins.OnBuild):
        return "ONBUILD " + instruction.trigger
    return posixpath.normpath(instruction.original)
