"""Which stages a build runs and what each waits for (pure).

The target (`--target`, default the last stage) and, transitively, the stages it names: a
`FROM <stage>`, a `COPY --from=<stage>` or a `RUN --mount=…,from=<stage>`, by name or index
(unless a named context of that name shadows it).
Anything else named there is an image. Stages run as soon as the stages they name are built.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass

from runtime.dockerfile.instructions import Copy, Dockerfile, Run, Stage
from runtime.errors import bad_request


@dataclass(frozen=True)
class Plan:
    order: tuple[int, ...]  # stage indices to build, in Dockerfile order
    needs: dict[int, frozenset[int]]  # stage index -> the stages it waits for
    bases: dict[int, str]  # stage index -> the FROM word expanded (an image, or a stage reference)


def stage_index(stages: tuple[Stage, ...], ref: str, before: int) -> int | None:
    """The stage `ref` names (a name, case-insensitive, or an index), among those before `before`."""
    if ref.isdigit():
        index = int(ref)
        return index if index < before else None
    lowered = ref.lower()
    for stage in stages[:before]:
        if stage.name and stage.name == lowered:
            return stage.index
    return None


def target_index(dockerfile: Dockerfile, target: str) -> int:
    if not dockerfile.stages:
        raise bad_request("the Dockerfile has no FROM instruction")
    if not target:
        return len(dockerfile.stages) - 1
    for stage in dockerfile.stages:
        if stage.name == target.lower():
            return stage.index
    raise bad_request(f"failed to reach build target {target} in Dockerfile")


def plan(dockerfile: Dockerfile, target: str, expand_from: Callable[[str], str],
         named: Collection[str] = frozenset()) -> Plan:
    """`named`: the build's named contexts, which shadow stages of the same name."""
    stages = dockerfile.stages
    last = target_index(dockerfile, target)
    needs: dict[int, frozenset[int]] = {}
    bases: dict[int, str] = {}
    for stage in stages[: last + 1]:
        base = expand_from(stage.base.image)
        bases[stage.index] = base
        refs = [base]
        for instruction in stage.instructions:
            if isinstance(instruction, Copy) and instruction.from_:
                refs.append(instruction.from_)
            elif isinstance(instruction, Run):
                refs += [m.from_ for m in instruction.mounts if m.from_]
        found = {stage_index(stages, ref, stage.index) for ref in refs if ref.lower() not in named}
        needs[stage.index] = frozenset(i for i in found if i is not None)
    wanted: set[int] = set()
    todo = [last]
    while todo:
        index = todo.pop()
        if index not in wanted:
            wanted.add(index)
            todo += needs[index]
    return Plan(tuple(sorted(wanted)), {i: needs[i] for i in wanted}, {i: bases[i] for i in wanted})
