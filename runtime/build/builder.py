"""A build: the stages the target needs, each as soon as the stages it names are built, their
steps one after the other, and the classic builder's stream in Dockerfile order.

Stages run concurrently; their lines are kept in order (a stage's lines wait while an earlier
stage still prints). The end: the image ID (`aux`), the unused build args warning,
"Successfully built", the tags.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any

import anyio
import anyio.to_thread

from runtime.build import messages, stages
from runtime.build.args import BuildArgs, StageArgs, platform_args
from runtime.build.pulling import ensure_image
from runtime.build.state import DEFAULT_PATH, Build, BuildFailed, Emit, StageState
from runtime.build.steps import Steps
from runtime.dockerfile import instructions as ins
from runtime.dockerfile.words import expand as expand_word
from runtime.images.reference import parse as parse_reference


class Ordered:
    """Lines of concurrent stages, written in stage order: the first unfinished stage writes as it
    goes, later ones are held until the stages before them are done. One lock makes a flush of
    held lines and a new line of the next stage never cross."""

    def __init__(self, emit: Emit, order: Iterable[int]) -> None:
        self._emit = emit
        self._order = list(order)
        self._head = 0
        self._buffers: dict[int, list[messages.Message]] = {i: [] for i in self._order}
        self._done: set[int] = set()
        self._lock = anyio.Lock()

    def for_stage(self, index: int) -> Emit:
        async def emit(message: messages.Message) -> None:
            async with self._lock:
                if self._head < len(self._order) and self._order[self._head] == index:
                    await self._emit(message)
                else:
                    self._buffers[index].append(message)

        return emit

    async def finished(self, index: int) -> None:
        async with self._lock:
            self._done.add(index)
            while self._head < len(self._order) and self._order[self._head] in self._done:
                self._head += 1
                if self._head < len(self._order):
                    pending, self._buffers[self._order[self._head]] = self._buffers[self._order[self._head]], []
                    for message in pending:
                        await self._emit(message)


def label_instruction(labels: Iterable[tuple[str, str]]) -> ins.Label | None:
    """`--label`s as the LABEL step dockerd appends to the target stage."""
    pairs = sorted(labels)
    if not pairs:
        return None
    original = "LABEL " + "".join(f"\"{k}\"='{v}' " for k, v in pairs)
    return ins.Label(0, original, tuple((f'"{k}"', f"'{v}'") for k, v in pairs))


def check_tags(tags: Iterable[str]) -> list[str]:
    """The tags as dockerd prints them; a bad one is a 400 before anything runs."""
    from runtime.errors import bad_request

    out = []
    for tag in tags:
        try:
            ref = parse_reference(tag)
        except Exception:
            raise bad_request(f"invalid reference format: {tag}") from None
        if ref.digest is not None:
            raise bad_request(f"invalid reference format: {tag}")
        out.append(ref.defaulted().familiar())
    return out


class Builder:
    def __init__(self, build: Build, dockerfile: ins.Dockerfile, emit: Emit) -> None:
        self.build = build
        self.dockerfile = dockerfile
        self.emit = emit
        self.steps = Steps(build)
        self.args = BuildArgs(dict(build.options.build_args), platform_args(build.options.platform))

    def _expand(self, word: str, env: Mapping[str, str]) -> str:
        try:
            return expand_word(word, env, self.dockerfile.escape)
        except ValueError as exc:
            raise BuildFailed(str(exc)) from None

    async def run(self) -> str:
        df, options = self.dockerfile, self.build.options
        tags = check_tags(options.tags)
        for arg in df.global_args:
            self.args.declare_globals(arg.pairs, self._expand)
        plan = stages.plan(df, options.target, lambda word: self._expand(word, self.args.for_from()),
                           frozenset(self.build.named))
        target = plan.order[-1]
        extra = label_instruction(options.labels)
        self.build.stage_names = {s.name: s.index for s in df.stages if s.name}
        total = len(df.global_args) + sum(1 + len(df.stages[i].instructions) for i in plan.order) + (1 if extra else 0)
        number = 0
        for arg in df.global_args:
            number += 1
            await self.emit(messages.step(number, total, arg.original))
        starts: dict[int, int] = {}
        for index in plan.order:
            starts[index] = number
            number += 1 + len(df.stages[index].instructions)
        await self._cache_sources()
        done = {i: anyio.Event() for i in plan.order}
        ordered = Ordered(self.emit, plan.order)

        async def stage(index: int) -> None:
            for need in plan.needs[index]:
                await done[need].wait()
            emit = ordered.for_stage(index)
            more = (extra,) if extra is not None and index == target else ()
            image_id = await self._stage(df.stages[index], plan.bases[index], starts[index], total, more, emit)
            self.build.stage_images[index] = image_id
            done[index].set()
            await ordered.finished(index)

        try:
            async with anyio.create_task_group() as tasks:
                for index in plan.order:
                    tasks.start_soon(stage, index)
        except BaseExceptionGroup as group:
            raise first_failure(group) from None
        final = self.build.stage_images[target]
        if not final:
            raise BuildFailed("No image was generated. Is your Dockerfile empty?")
        unused = self.args.unused()
        if unused:
            await self.emit(messages.unused_args(unused))
        await self.emit(messages.built(final))
        for tag in tags:
            await anyio.to_thread.run_sync(self.build.images.tag, final, tag)
            await self.emit(messages.tagged(tag))
        return final

    async def _cache_sources(self) -> None:
        """`--cache-from`: a hit must be one of these images or one of their parents; else a step
        is matched against their history (cache_from.py)."""
        refs = self.build.options.cache_from
        if not refs:
            return

        def ancestry() -> frozenset[str]:
            found: set[str] = set()
            for ref in refs:
                try:
                    image_id = self.build.images.resolve(ref)
                    self.build.cache_from.append((image_id, self.build.images.image_config(image_id)))
                except Exception:
                    continue
                while image_id and image_id not in found:
                    found.add(image_id)
                    image_id = str(self.build.images.inspect(image_id).get("Parent") or "")
            return frozenset(found)

        self.build.cache_sources = await anyio.to_thread.run_sync(ancestry)

    async def _stage(self, stage: ins.Stage, base: str, start: int, total: int,
                     extra: tuple[ins.Instruction, ...], emit: Emit) -> str:
        number = start + 1
        await emit(messages.step(number, total, stage.base.original))
        state = await self._from(stage, base, emit)
        await emit(messages.image(state.image_id))
        for instruction in (*stage.instructions, *extra):
            number += 1
            if instruction not in extra:
                await emit(messages.step(number, total, instruction.original))
            else:
                await emit(messages.step(total, total, instruction.original))
            await self.steps.dispatch(state, instruction, emit)
            await emit(messages.image(state.image_id))
        if state.image_id:
            await emit(messages.aux(state.image_id))
        return state.image_id

    async def _from(self, stage: ins.Stage, base: str, emit: Emit) -> StageState:
        build = self.build
        index = stages.stage_index(self.dockerfile.stages, base, stage.index)
        state = StageState(stage.index, "", {}, StageArgs(self.args), self.dockerfile.escape)
        named = build.named.get(base.lower())
        if named is not None:
            from runtime.build.named_use import base_image

            platform = self._expand(stage.base.platform, self.args.for_from()) if stage.base.platform else ""
            image_id = await base_image(self.steps, state, named, emit, platform)
        elif index is not None:
            image_id = build.stage_images[index]
        elif base.lower() == "scratch":
            image_id = ""
        else:
            platform = self._expand(stage.base.platform, self.args.for_from()) if stage.base.platform else ""
            image_id = await ensure_image(build, base, emit, platform=platform)
        if image_id:
            await self.steps.move_to(state, image_id)
            doc: dict[str, Any] = await anyio.to_thread.run_sync(build.images.image_config, image_id)
            state.config = copy.deepcopy(doc.get("config") or {})
            state.author = str(doc.get("author") or "")
        env = list(state.config.get("Env") or [])
        if not any(item.partition("=")[0] == "PATH" for item in env):
            state.config["Env"] = [*env, "PATH=" + DEFAULT_PATH]
        triggers = list(state.config.get("OnBuild") or [])
        if triggers:
            state.config["OnBuild"] = None
            await emit(messages.triggers(len(triggers)))
            for trigger in triggers:
                await self.steps.dispatch(state, parse_trigger(trigger, self.dockerfile.escape), emit)
        return state


def first_failure(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The failure a stage's task group stands for: its first leaf that is not a cancellation."""
    leaves: list[BaseException] = []
    todo: list[BaseException] = [group]
    while todo:
        exc = todo.pop(0)
        if isinstance(exc, BaseExceptionGroup):
            todo[:0] = list(exc.exceptions)
        else:
            leaves.append(exc)
    cancelled = anyio.get_cancelled_exc_class()
    for leaf in leaves:
        if not isinstance(leaf, cancelled):
            return leaf
    return leaves[0]


def parse_trigger(text: str, escape: str) -> ins.Instruction:
    """An ONBUILD trigger as an instruction (parsed as a line of a Dockerfile)."""
    from runtime.dockerfile.errors import DockerfileError
    from runtime.dockerfile.parser import parse

    prefix = "# escape=`\n" if escape == "`" else ""
    try:
        parsed = parse(f"{prefix}FROM scratch\n{text}\n")
    except DockerfileError as exc:
        raise BuildFailed(exc.text()) from None
    if not parsed.stages or len(parsed.stages[0].instructions) != 1:
        raise BuildFailed(f"invalid ONBUILD trigger: {text!r}")
    return parsed.stages[0].instructions[0]
