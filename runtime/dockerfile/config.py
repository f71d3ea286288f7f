"""Metadata instructions applied to an image's container config (Docker's keys), as dockerd's
builder dispatches them: ENV LABEL WORKDIR USER CMD ENTRYPOINT EXPOSE VOLUME SHELL STOPSIGNAL
HEALTHCHECK ONBUILD MAINTAINER.

`apply_instruction(config, instruction, expand)` returns a new config; `expand` turns a raw
word into its value with the ARG/ENV in scope at that step (`words.expand` over the builder's
environment). CMD/ENTRYPOINT/HEALTHCHECK/ONBUILD/SHELL are not expanded (the shell does it, or
the trigger's own step). Docker's CMD/ENTRYPOINT table: ENTRYPOINT clears an inherited Cmd unless
a CMD came before it in the same build (`cmd_set`). MAINTAINER sets `AUTHOR` ("Author"), which is
not a container-config key: the builder pops it into the image's `author`.
"""

from __future__ import annotations

import copy
import re
import signal
from collections.abc import Callable, Mapping
from typing import Any

from runtime.dockerfile import instructions as ins
from runtime.dockerfile.errors import DockerfileError, WordError

AUTHOR = "Author"
DEFAULT_SHELL = ("/bin/sh", "-c")
_PORT = re.compile(r"(\d+)(?:-(\d+))?\Z")


def clean_path(path: str) -> str:
    """Go's path.Clean for an absolute path."""
    parts: list[str] = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts:
                parts.pop()
            continue
        parts.append(part)
    return "/" + "/".join(parts)


def command_line(command: ins.Command, shell: list[str] | None) -> list[str]:
    """RUN/CMD/ENTRYPOINT argv: exec form as is; shell form after the SHELL (default /bin/sh -c)."""
    if not command.args:
        return []
    if command.exec_form:
        return list(command.args)
    return [*(shell or DEFAULT_SHELL), " ".join(command.args)]


def healthcheck(instruction: ins.Healthcheck) -> dict[str, Any]:
    """Docker's Healthcheck object (durations in ns; unset ones left out)."""
    if instruction.command is None:
        return {"Test": ["NONE"]}
    command = instruction.command
    test = ["CMD", *command.args] if command.exec_form else ["CMD-SHELL", " ".join(command.args)]
    out: dict[str, Any] = {"Test": test}
    for key, value in (("Interval", instruction.interval), ("Timeout", instruction.timeout),
                       ("StartPeriod", instruction.start_period), ("StartInterval", instruction.start_interval),
                       ("Retries", instruction.retries)):
        if value:
            out[key] = value
    return out


def check_signal(text: str) -> None:
    """moby's signal.ParseSignal: a number 1..255 or a name (with or without SIG)."""
    if text.isdigit():
        if 0 < int(text) < 256:
            return
        raise ValueError(f"Invalid signal: {text}")
    name = text.upper().removeprefix("SIG")
    if re.fullmatch(r"RTMIN(\+\d+)?|RTMAX(-\d+)?", name):
        offset = int(name[5:] or 0)
        if abs(offset) <= signal.SIGRTMAX - signal.SIGRTMIN:
            return
    if name and "SIG" + name in signal.Signals.__members__:
        return
    raise ValueError(f"Invalid signal: {text}")


def _ports(words: list[str]) -> list[str]:
    out: list[str] = []
    for word in words:
        port, _, proto = word.rpartition(":")[2].partition("/")
        proto = proto or "tcp"
        if proto.lower() not in ("tcp", "udp", "sctp"):
            raise ValueError(f"invalid proto: {proto}")
        match = _PORT.match(port)
        low = int(match.group(1)) if match else -1
        high = int(match.group(2) or low) if match else -1
        if not 0 < low <= 65535 or not 0 < high <= 65535:
            raise ValueError(f"invalid containerPort: {port}")
        if high < low:
            raise ValueError(f"invalid range specified for container port: {port}")
        out.extend(f"{number}/{proto.lower()}" for number in range(low, high + 1))
    return out


def _set_env(env: list[str], key: str, value: str) -> list[str]:
    for i, entry in enumerate(env):
        if entry.partition("=")[0] == key:
            env[i] = f"{key}={value}"
            return env
    env.append(f"{key}={value}")
    return env


def apply_instruction(config: Mapping[str, Any], instruction: ins.Instruction, expand: Callable[[str], str],
                      *, cmd_set: bool = False) -> dict[str, Any]:
    """A copy of `config` with the metadata instruction applied; DockerfileError (kind "plain",
    the instruction's line) when a value is refused, as dockerd refuses it at that step."""
    out: dict[str, Any] = copy.deepcopy(dict(config))
    try:
        _apply(out, instruction, expand, cmd_set)
    except (ValueError, WordError) as e:
        raise DockerfileError(instruction.line, str(e), kind="plain") from None
    return out


def _apply(out: dict[str, Any], instruction: ins.Instruction, expand: Callable[[str], str], cmd_set: bool) -> None:
    if isinstance(instruction, ins.Env):
        env = list(out.get("Env") or [])
        for key, value in instruction.pairs:
            env = _set_env(env, expand(key), expand(value))
        out["Env"] = env
    elif isinstance(instruction, ins.Label):
        labels = dict(out.get("Labels") or {})
        labels.update((expand(key), expand(value)) for key, value in instruction.pairs)
        out["Labels"] = labels
    elif isinstance(instruction, ins.Workdir):
        path = expand(instruction.path)
        if not path:
            raise ValueError("cannot normalize nothing")
        out["WorkingDir"] = clean_path(path if path.startswith("/") else f"{out.get('WorkingDir') or '/'}/{path}")
    elif isinstance(instruction, ins.User):
        out["User"] = expand(instruction.user)
    elif isinstance(instruction, ins.Cmd):
        out["Cmd"] = command_line(instruction.command, out.get("Shell"))
    elif isinstance(instruction, ins.Entrypoint):
        out["Entrypoint"] = command_line(instruction.command, out.get("Shell"))
        if not cmd_set:
            out["Cmd"] = None
    elif isinstance(instruction, ins.Expose):
        words = [w for port in instruction.ports for w in expand(port).split()]
        ports = dict(out.get("ExposedPorts") or {})
        ports.update((port, {}) for port in _ports(words))
        out["ExposedPorts"] = ports
    elif isinstance(instruction, ins.Volume):
        volumes = dict(out.get("Volumes") or {})
        for raw in instruction.paths:
            path = expand(raw).strip()
            if not path:
                raise ValueError("VOLUME specified can not be an empty string")
            volumes[path] = {}
        out["Volumes"] = volumes
    elif isinstance(instruction, ins.Shell):
        out["Shell"] = list(instruction.args)
    elif isinstance(instruction, ins.StopSignal):
        value = expand(instruction.signal)
        check_signal(value)
        out["StopSignal"] = value
    elif isinstance(instruction, ins.Healthcheck):
        out["Healthcheck"] = healthcheck(instruction)
    elif isinstance(instruction, ins.OnBuild):
        out["OnBuild"] = [*(out.get("OnBuild") or []), instruction.trigger]
    elif isinstance(instruction, ins.Maintainer):
        out[AUTHOR] = instruction.name
    else:
        name = type(instruction).__name__.upper()
        raise ValueError(f"{name} is not a metadata instruction")
