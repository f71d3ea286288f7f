"""`--change` instructions (Dockerfile syntax) applied to an image's container config.

As `docker import`/`docker commit` (moby's BuildFromConfig): the changes are read by the
Dockerfile parser (`runtime.dockerfile`), only CMD ENTRYPOINT ENV EXPOSE HEALTHCHECK LABEL
ONBUILD STOPSIGNAL USER VOLUME WORKDIR are allowed, and each is applied with `$VAR` expanded
from the ENV set so far (not in CMD/ENTRYPOINT, which the shell expands later).
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Mapping, Sequence
from typing import Any

from runtime.dockerfile.commands import to_instruction
from runtime.dockerfile.config import apply_instruction
from runtime.dockerfile.errors import DockerfileError
from runtime.dockerfile.instructions import Cmd
from runtime.dockerfile.scanner import scan
from runtime.dockerfile.words import expand
from runtime.images.errors import ImageInvalid

__all__ = ["ALLOWED", "apply_changes", "apply_instruction"]

ALLOWED = ("cmd", "entrypoint", "env", "expose", "healthcheck", "label", "onbuild", "stopsignal", "user", "volume",
           "workdir")


def _expand(word: str, *, env: Mapping[str, str], escape: str) -> str:
    return expand(word, env, escape)


def apply_changes(changes: Sequence[str], base: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A new container config (image-config `config` keys) with the changes applied in order."""
    config: dict[str, Any] = copy.deepcopy(dict(base or {}))
    text = "\n".join(changes)
    if not text.strip():
        return config
    try:
        scanned = scan(text)
        for node in scanned.nodes:
            if node.name not in ALLOWED:
                raise ImageInvalid(f"{node.command} is not a valid change command")
        cmd_set = False
        for node in scanned.nodes:
            try:
                instruction = to_instruction(node)
            except ValueError as e:
                raise ImageInvalid(str(e)) from None
            env = dict(entry.partition("=")[::2] for entry in config.get("Env") or [])
            config = apply_instruction(config, instruction, functools.partial(_expand, env=env, escape=scanned.escape),
                                       cmd_set=cmd_set)
            cmd_set = cmd_set or isinstance(instruction, Cmd)
    except DockerfileError as e:
        raise ImageInvalid(e.message) from None
    return config
