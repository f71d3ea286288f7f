"""`parse(text)`: a Dockerfile's text as typed stages, or a DockerfileError worded as dockerd's.

Directives (`syntax`, `escape`, `check`) come from the top of the file; ARGs before the first
FROM are the global args; every other instruction belongs to the stage the last FROM opened.
Unknown instructions are refused with buildkit's hint ("unknown instruction: RUNN (did you
mean RUN?)"). Words stay raw (quotes and `$` kept) for the builder to expand at each step.
"""

from __future__ import annotations

from runtime.dockerfile import instructions as ins
from runtime.dockerfile.commands import to_instruction
from runtime.dockerfile.errors import DockerfileError
from runtime.dockerfile.scanner import Scanned, scan


def _typed(scanned: Scanned) -> list[ins.Instruction]:
    out = []
    for node in scanned.nodes:
        try:
            out.append(to_instruction(node))
        except ValueError as e:
            raise DockerfileError(node.line, str(e), end_line=node.end_line) from None
    return out


def parse_instructions(text: str) -> tuple[str, list[ins.Instruction]]:
    """Instructions without stages (docker commit/import `--change`): (escape, instructions)."""
    scanned = scan(text)
    return scanned.escape, _typed(scanned)


def parse(text: str) -> ins.Dockerfile:
    scanned = scan(text)
    global_args: list[ins.Arg] = []
    stages: list[tuple[ins.From, list[ins.Instruction]]] = []
    for instruction in _typed(scanned):
        if isinstance(instruction, ins.From):
            stages.append((instruction, []))
        elif not stages and isinstance(instruction, ins.Arg):
            global_args.append(instruction)
        elif not stages:
            raise DockerfileError(instruction.line, "no build stage in current context", kind="plain")
        else:
            stages[-1][1].append(instruction)
    return ins.Dockerfile(
        escape=scanned.escape,
        syntax=scanned.directives.get("syntax", ""),
        check=scanned.directives.get("check", ""),
        global_args=tuple(global_args),
        stages=tuple(ins.Stage(index=i, base=base, instructions=tuple(body))
                     for i, (base, body) in enumerate(stages)),
        warnings=scanned.warnings,
    )
