"""`--change` instructions (Dockerfile syntax) applied to an image's container config.

Supported like `docker import`/`docker commit`: CMD, ENTRYPOINT, ENV, EXPOSE, HEALTHCHECK,
LABEL, ONBUILD, USER, VOLUME, WORKDIR, STOPSIGNAL. Words are split and quoted as a Dockerfile
does, and `$VAR`/`${VAR}`/`${VAR:-x}`/`${VAR:+x}` expand from the ENV set so far (not in
CMD/ENTRYPOINT, which the shell expands later).
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Mapping, Sequence
from typing import Any

from runtime.images.errors import ImageInvalid
from runtime.images.healthcheck_change import parse_healthcheck

ALLOWED = ("CMD", "ENTRYPOINT", "ENV", "EXPOSE", "HEALTHCHECK", "LABEL", "ONBUILD", "USER", "VOLUME", "WORKDIR",
           "STOPSIGNAL")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_PORT = re.compile(r"(\d+)(?:-(\d+))?(?:/(tcp|udp|sctp))?", re.IGNORECASE)


def _expand(text: str, i: int, env: Mapping[str, str]) -> tuple[str, int]:
    """Expand the `$...` at text[i]; returns (value, index after it)."""
    if text.startswith("${", i):
        end = text.find("}", i + 2)
        if end < 0:
            raise ImageInvalid(f"missing '}}' in {text!r}")
        inner = text[i + 2 : end]
        name, op, word = inner, "", ""
        for candidate in (":-", ":+"):
            if candidate in inner:
                name, _, word = inner.partition(candidate)
                op = candidate
                break
        if not _NAME.fullmatch(name):
            raise ImageInvalid(f"bad substitution ${{{inner}}} in {text!r}")
        value = env.get(name, "")
        if op == ":-":
            value = value or word
        elif op == ":+":
            value = word if value else ""
        return value, end + 1
    match = _NAME.match(text, i + 1)
    if match is None:
        return "$", i + 1
    return env.get(match.group(0), ""), match.end()


def words(text: str, env: Mapping[str, str], expand: bool = True) -> list[str]:
    """Split like a Dockerfile: whitespace, '...' literal, "..." with \\ escapes, \\x."""
    out: list[str] = []
    cur: list[str] = []
    in_word = False
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            if in_word:
                out.append("".join(cur))
                cur, in_word = [], False
            i += 1
            continue
        in_word = True
        if c == "\\" and i + 1 < n:
            cur.append(text[i + 1])
            i += 2
        elif c == "'":
            end = text.find("'", i + 1)
            if end < 0:
                raise ImageInvalid(f"unterminated single quote in {text!r}")
            cur.append(text[i + 1 : end])
            i = end + 1
        elif c == '"':
            i += 1
            while i < n and text[i] != '"':
                if text[i] == "\\" and i + 1 < n and text[i + 1] in '"\\$':
                    cur.append(text[i + 1])
                    i += 2
                elif text[i] == "$" and expand:
                    value, i = _expand(text, i, env)
                    cur.append(value)
                else:
                    cur.append(text[i])
                    i += 1
            if i >= n:
                raise ImageInvalid(f"unterminated double quote in {text!r}")
            i += 1
        elif c == "$" and expand:
            value, i = _expand(text, i, env)
            cur.append(value)
        else:
            cur.append(c)
            i += 1
    if in_word:
        out.append("".join(cur))
    return out


def _exec_or_shell(args: str) -> list[str]:
    stripped = args.strip()
    if stripped.startswith("["):
        try:
            parsed = json.loads(stripped)
        except ValueError:
            parsed = None
        if isinstance(parsed, list) and all(isinstance(x, str) for x in parsed):
            return parsed
    return ["/bin/sh", "-c", stripped]


def _pairs(instruction: str, args: str, env: Mapping[str, str]) -> list[tuple[str, str]]:
    items = words(args, env)
    if not items:
        raise ImageInvalid(f"{instruction} requires at least one argument")
    if "=" not in items[0]:  # legacy form: `ENV key the rest is the value`
        key, _, rest = args.strip().partition(" ")
        value = " ".join(words(rest, env)) if rest.strip() else ""
        if instruction == "ENV" and not rest.strip():
            raise ImageInvalid(f"ENV names can not be blank and need a value: {args.strip()!r}")
        return [(words(key, env)[0], value)]
    pairs = []
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ImageInvalid(f"{instruction}: {item!r} is not of the form key=value")
        pairs.append((key, value))
    return pairs


def _set_env(config: dict[str, Any], key: str, value: str) -> None:
    env = list(config.get("Env") or [])
    for i, entry in enumerate(env):
        if entry.partition("=")[0] == key:
            env[i] = f"{key}={value}"
            break
    else:
        env.append(f"{key}={value}")
    config["Env"] = env


def _ports(args: str, env: Mapping[str, str]) -> list[str]:
    out: list[str] = []
    for word in words(args, env):
        match = _PORT.fullmatch(word)
        if match is None:
            raise ImageInvalid(f"EXPOSE: invalid port {word!r}")
        low = int(match.group(1))
        high = int(match.group(2) or low)
        proto = (match.group(3) or "tcp").lower()
        if not 0 < low <= high <= 65535:
            raise ImageInvalid(f"EXPOSE: invalid port range {word!r}")
        out.extend(f"{port}/{proto}" for port in range(low, high + 1))
    return out


def apply_changes(changes: Sequence[str], base: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A new container config (image-config `config` keys) with the changes applied in order."""
    config: dict[str, Any] = json.loads(json.dumps(dict(base or {})))
    lines = [line.strip() for change in changes for line in change.splitlines() if line.strip()]
    for line in lines:
        instruction, _, args = line.partition(" ")
        instruction = instruction.upper()
        if instruction not in ALLOWED:
            raise ImageInvalid(f"{instruction} is not a valid change command")
        env = dict(e.partition("=")[::2] for e in config.get("Env") or [])
        if instruction in ("CMD", "ENTRYPOINT"):
            if not args.strip():
                raise ImageInvalid(f"{instruction} requires at least one argument")
            config["Cmd" if instruction == "CMD" else "Entrypoint"] = _exec_or_shell(args)
        elif instruction == "ENV":
            for key, value in _pairs(instruction, args, env):
                _set_env(config, key, value)
                env[key] = value
        elif instruction == "LABEL":
            config.setdefault("Labels", {}).update(dict(_pairs(instruction, args, env)))
        elif instruction == "EXPOSE":
            config.setdefault("ExposedPorts", {}).update({p: {} for p in _ports(args, env)})
        elif instruction == "VOLUME":
            paths = _exec_or_shell(args) if args.strip().startswith("[") else words(args, env)
            if paths[:2] == ["/bin/sh", "-c"] or not paths or any(not p for p in paths):
                raise ImageInvalid(f"VOLUME: invalid argument {args.strip()!r}")
            config.setdefault("Volumes", {}).update({p: {} for p in paths})
        elif instruction == "HEALTHCHECK":
            config["Healthcheck"] = parse_healthcheck(args)
        elif instruction == "ONBUILD":
            config.setdefault("OnBuild", []).append(args.strip())
        else:
            value = " ".join(words(args, env))
            if not value:
                raise ImageInvalid(f"{instruction} requires an argument")
            if instruction == "WORKDIR":
                value = posixpath.normpath(posixpath.join(config.get("WorkingDir") or "/", value))
                config["WorkingDir"] = value
            elif instruction == "USER":
                config["User"] = value
            else:
                config["StopSignal"] = value
    return config
