"""A node as a typed instruction, with buildkit's checks and messages (argument counts,
flags, stage names, HEALTHCHECK options, ONBUILD triggers, heredoc sources)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace

from runtime.dockerfile import instructions as ins
from runtime.dockerfile.durations import parse_go_duration
from runtime.dockerfile.errors import WordError, suggest
from runtime.dockerfile.flags import Flags
from runtime.dockerfile.mounts import parse_mount
from runtime.dockerfile.scanner import chomp
from runtime.dockerfile.syntax import Node, parse_heredoc

NAMES = ("add", "arg", "cmd", "copy", "entrypoint", "env", "expose", "from", "healthcheck", "label", "maintainer",
         "onbuild", "run", "shell", "stopsignal", "user", "volume", "workdir")
_STAGE_NAME = re.compile(r"^[a-z][a-z0-9-_.]*\Z")
_ONBUILD_PREFIX = re.compile(r"^\s*ONBUILD\s*", re.IGNORECASE)
MINIMUM_DURATION_NS = 1_000_000


def unknown(node: Node) -> str:
    hint = suggest(node.command, [n.upper() for n in NAMES], case_sensitive=False)
    return f"unknown instruction: {node.command}{hint}"


def _at_least_one(name: str) -> ValueError:
    return ValueError(f"{name} requires at least one argument")


def _exactly_one(name: str) -> ValueError:
    return ValueError(f"{name} requires exactly one argument")


def _flags(node: Node, declare: Callable[[Flags], object] | None = None) -> Flags:
    flags = Flags()
    if declare is not None:
        declare(flags)
    return flags.parse(node.flags)


def _pairs(node: Node, name: str) -> tuple[tuple[str, str], ...]:
    _flags(node)
    if not node.args:
        raise _at_least_one(name)
    if len(node.args) % 2:
        raise ValueError(f"Bad input to {name}, too many arguments")
    pairs = tuple((node.args[i], node.args[i + 1]) for i in range(0, len(node.args), 2))
    if any(not key for key, _ in pairs):
        raise ValueError(f"{name} names can not be blank")
    return pairs


def _chomped(heredoc: ins.Heredoc) -> ins.Heredoc:
    return replace(heredoc, content=chomp(heredoc.content)) if heredoc.chomp else heredoc


def _command(node: Node, args: tuple[str, ...]) -> ins.Command:
    return ins.Command(exec_form=node.json, args=args, heredocs=tuple(_chomped(h) for h in node.heredocs))


def parse_from(node: Node) -> ins.From:
    args = node.args
    name = ""
    if len(args) == 3 and args[1].lower() == "as":
        name = args[2].lower()
        if not _STAGE_NAME.match(name):
            raise ValueError(f'invalid name for build stage: "{args[2]}", name can\'t start with a number or '
                             "contain symbols")
    elif len(args) != 1:
        raise ValueError("FROM requires either one or three arguments")
    flags = _flags(node, lambda f: f.string("platform"))
    return ins.From(image=args[0], platform=flags.get("platform"), name=name, line=node.line,
                    original=node.original.strip())


def _sources(node: Node, name: str) -> tuple[tuple[str, ...], str, tuple[ins.Heredoc, ...]]:
    *sources, dest = node.args
    if parse_heredoc(dest) is not None:
        raise ValueError(f"{name} cannot accept a heredoc as a destination")
    bodies = {heredoc.name: heredoc for heredoc in node.heredocs}
    paths: list[str] = []
    docs: list[ins.Heredoc] = []
    for source in sources:
        head = parse_heredoc(source)
        if head is None:
            paths.append(source)
        else:
            body = bodies.get(head.name)
            docs.append(_chomped(body) if body is not None else head)
    return tuple(paths), dest, tuple(docs)


def parse_copy(node: Node) -> ins.Copy:
    add = node.name == "add"
    name = node.name.upper()
    if len(node.args) < 2:
        raise ValueError(f"{name} requires at least two arguments, but only one was provided. "
                         "Destination could not be determined")
    flags = Flags().string("chown").string("chmod").boolean("link").strings("exclude")
    if add:
        flags.boolean("keep-git-dir").string("checksum").boolean("unpack")
    else:
        flags.string("from").boolean("parents")
    flags.parse(node.flags)
    sources, dest, heredocs = _sources(node, name)
    return ins.Copy(
        sources=sources, dest=dest, add=add, from_="" if add else flags.get("from"), chown=flags.get("chown"),
        chmod=flags.get("chmod"), link=flags.true("link"), parents=not add and flags.true("parents"),
        excludes=tuple(flags.lists["exclude"]), checksum=flags.get("checksum") if add else "",
        keep_git_dir=add and flags.true("keep-git-dir"),
        unpack=flags.true("unpack") if add and "unpack" in flags.used else None,
        heredocs=heredocs, line=node.line, original=node.original)


def parse_run(node: Node) -> ins.Run:
    flags = _flags(node, lambda f: f.strings("mount").string("network", "default"))
    network = flags.get("network")
    if network not in ("default", "none", "host"):
        raise ValueError(f'invalid network mode "{network}"')
    mounts = []
    for text in flags.lists["mount"]:
        mounts.append(parse_mount(text, (lambda v: v) if "$" not in text else None))
    return ins.Run(command=_command(node, node.args), mounts=tuple(mounts), network=network, line=node.line,
                   original=node.original)


def _interval(flags: Flags, name: str) -> int:
    text = flags.get(name)
    if not text:
        return 0
    ns = parse_go_duration(text)
    if ns and ns < MINIMUM_DURATION_NS:
        raise ValueError(f'Interval "{name}" cannot be less than 1ms')
    return ns


def parse_healthcheck(node: Node) -> ins.Healthcheck:
    if not node.args:
        raise _at_least_one("HEALTHCHECK")
    kind, args = node.args[0].upper(), node.args[1:]
    if kind == "NONE":
        if args:
            raise ValueError("HEALTHCHECK NONE takes no arguments")
        return ins.Healthcheck(command=None, line=node.line, original=node.original)
    flags = _flags(node, lambda f: [f.string(n) for n in ("interval", "timeout", "start-period",
                                                           "start-interval", "retries")])
    if kind != "CMD":
        raise ValueError(f'Unknown type "{kind}" in HEALTHCHECK (try CMD)')
    if not args:
        raise ValueError("Missing command after HEALTHCHECK CMD")
    retries = 0
    if flags.get("retries"):
        text = flags.get("retries")
        if not re.fullmatch(r"[+-]?\d+", text):
            raise ValueError(f'strconv.ParseInt: parsing "{text}": invalid syntax')
        retries = int(text)
        if not -(2 ** 31) <= retries < 2 ** 31:
            raise ValueError(f'strconv.ParseInt: parsing "{text}": value out of range')
        if retries < 0:
            raise ValueError(f"--retries cannot be negative ({retries})")
    return ins.Healthcheck(
        command=ins.Command(exec_form=node.json, args=args), interval=_interval(flags, "interval"),
        timeout=_interval(flags, "timeout"), start_period=_interval(flags, "start-period"),
        start_interval=_interval(flags, "start-interval"), retries=retries, line=node.line,
        original=node.original)


def parse_onbuild(node: Node) -> ins.OnBuild:
    if not node.args or node.child is None:
        raise _at_least_one("ONBUILD")
    _flags(node)
    trigger = node.args[0].strip().upper()
    if trigger == "ONBUILD":
        raise ValueError("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed")
    if trigger in ("MAINTAINER", "FROM"):
        raise ValueError(f"{trigger} isn't allowed as an ONBUILD trigger")
    expression = _ONBUILD_PREFIX.sub("", node.original, count=1)
    for heredoc in node.heredocs:
        expression += "\n" + heredoc.content + heredoc.name
    return ins.OnBuild(trigger=expression, line=node.line, original=node.original)


def parse_arg(node: Node) -> ins.Arg:
    if not node.args:
        raise _at_least_one("ARG")
    pairs: list[tuple[str, str | None]] = []
    for word in node.args:
        if "=" in word:
            key, _, value = word.partition("=")
            if not key:
                raise ValueError("ARG names can not be blank")
            pairs.append((key, value))
        else:
            pairs.append((word, None))
    return ins.Arg(pairs=tuple(pairs), line=node.line, original=node.original)


def _single(node: Node, name: str) -> str:
    if len(node.args) != 1:
        raise _exactly_one(name)
    if name != "STOPSIGNAL":
        _flags(node)
    return node.args[0]


def _shell(node: Node) -> ins.Shell:
    _flags(node)
    if not node.args:
        raise _at_least_one("SHELL")
    if not node.json:
        raise ValueError("SHELL requires the arguments to be in JSON form")
    return ins.Shell(args=node.args, line=node.line, original=node.original)


def _volume(node: Node) -> ins.Volume:
    if not node.args:
        raise _at_least_one("VOLUME")
    _flags(node)
    paths = tuple(arg.strip() for arg in node.args)
    if any(not path for path in paths):
        raise ValueError("VOLUME specified can not be an empty string")
    return ins.Volume(paths=paths, line=node.line, original=node.original)


def _expose(node: Node) -> ins.Expose:
    if not node.args:
        raise _at_least_one("EXPOSE")
    _flags(node)
    return ins.Expose(ports=tuple(sorted(node.args)), line=node.line, original=node.original)


def to_instruction(node: Node) -> ins.Instruction:
    """The typed instruction; ValueError (the message) when the node is not a valid one."""
    name = node.name
    base = {"line": node.line, "original": node.original}
    try:
        if name == "from":
            return parse_from(node)
        if name in ("copy", "add"):
            return parse_copy(node)
        if name == "run":
            return parse_run(node)
        if name in ("cmd", "entrypoint"):
            _flags(node)
            cls = ins.Cmd if name == "cmd" else ins.Entrypoint
            return cls(command=_command(node, node.args), line=node.line, original=node.original)
        if name == "env":
            return ins.Env(pairs=_pairs(node, "ENV"), line=node.line, original=node.original)
        if name == "label":
            return ins.Label(pairs=_pairs(node, "LABEL"), line=node.line, original=node.original)
        if name == "arg":
            return parse_arg(node)
        if name == "healthcheck":
            return parse_healthcheck(node)
        if name == "onbuild":
            return parse_onbuild(node)
        if name == "shell":
            return _shell(node)
        if name == "volume":
            return _volume(node)
        if name == "expose":
            return _expose(node)
        if name == "workdir":
            return ins.Workdir(path=_single(node, "WORKDIR"), **base)  # type: ignore[arg-type]
        if name == "user":
            return ins.User(user=_single(node, "USER"), **base)  # type: ignore[arg-type]
        if name == "stopsignal":
            return ins.StopSignal(signal=_single(node, "STOPSIGNAL"), **base)  # type: ignore[arg-type]
        if name == "maintainer":
            return ins.Maintainer(name=_single(node, "MAINTAINER"), **base)  # type: ignore[arg-type]
    except WordError as e:
        raise ValueError(str(e)) from None
    raise ValueError(unknown(node))
