"""Shared by the Dockerfile tests."""

from __future__ import annotations

from runtime.dockerfile import instructions as ins
from runtime.dockerfile.parser import parse


def only(text: str) -> ins.Instruction:
    """The single instruction after `FROM scratch`."""
    (stage,) = parse("FROM scratch\n" + text).stages
    (instruction,) = stage.instructions
    return instruction
