"""The build stream of concurrent stages stays in Dockerfile order, even when writing a line waits."""

from __future__ import annotations

import random

import anyio

from runtime.build.builder import Ordered


def test_lines_of_concurrent_stages_come_out_in_stage_order() -> None:
    async def main(seed: int) -> list[str]:
        rng = random.Random(seed)
        out: list[str] = []

        async def slow_emit(message: dict[str, str]) -> None:
            await anyio.sleep(rng.choice((0, 0, 0.001)))  # the client reads slowly now and then
            out.append(message["stream"])

        ordered = Ordered(slow_emit, [0, 1, 2])

        async def stage(index: int, wait_for: anyio.Event | None, done: anyio.Event) -> None:
            if wait_for is not None:
                await wait_for.wait()
            emit = ordered.for_stage(index)
            for line in range(6):
                await emit({"stream": f"{index}.{line}"})
                await anyio.sleep(rng.choice((0, 0.0005, 0.001)))
            done.set()
            await ordered.finished(index)

        done = [anyio.Event() for _ in range(3)]
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(stage, 0, None, done[0])
            tasks.start_soon(stage, 1, None, done[1])
            tasks.start_soon(stage, 2, done[0], done[2])  # the last stage is FROM the first
        return out

    for seed in range(30):
        assert anyio.run(main, seed) == [f"{i}.{n}" for i in range(3) for n in range(6)], seed
