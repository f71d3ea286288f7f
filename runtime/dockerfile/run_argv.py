"""A RUN step's argv, heredocs included, as buildkit runs them.

- exec form: the array; shell form: SHELL (default `/bin/sh -c`) + the text.
- `RUN <<EOF` alone (one heredoc, nothing else on the line): the body is the script, given to
  the shell as its command; if the body starts with `#!`, it is written as an executable file
  `/dev/pipes/<name>` (mode 0755) and run directly, so its interpreter runs it.
- anything else with heredocs (`RUN <<EOF bash -e`, `RUN cat <<A > f`): the line and the bodies
  joined back into one shell text, so the shell reads the heredocs itself.
"""

from __future__ import annotations

from dataclasses import dataclass

from runtime.dockerfile.config import command_line
from runtime.dockerfile.instructions import Command
from runtime.dockerfile.syntax import parse_heredoc

PIPES = "/dev/pipes"


@dataclass(frozen=True)
class ScriptFile:
    path: str  # absolute, inside the container
    content: str
    mode: int = 0o755


@dataclass(frozen=True)
class RunArgv:
    argv: list[str]
    files: tuple[ScriptFile, ...] = ()  # to put in the container (read-only) before it starts


def run_argv(command: Command, shell: list[str] | None = None) -> RunArgv:
    """The argv (and script files) of RUN's command; ValueError for a command heredocs cannot form."""
    if not command.heredocs:
        return RunArgv(command_line(command, shell))
    if command.exec_form or len(command.args) != 1:
        raise ValueError(f"parsing produced an invalid run command: {list(command.args)}")
    text = command.args[0]
    head = parse_heredoc(text)
    if head is None:
        full = text + "".join(f"\n{h.content}{h.name}" for h in command.heredocs)
        return RunArgv([*(shell or ("/bin/sh", "-c")), full])
    first = command.heredocs[0]
    if first.content.startswith("#!"):
        path = f"{PIPES}/{first.name}"
        return RunArgv([path], (ScriptFile(path, first.content),))
    return RunArgv([*(shell or ("/bin/sh", "-c")), first.content])
