"""A Dockerfile as typed instructions: what the parser gives and the builder runs.

Words are kept as written (quotes and `$` references intact) wherever the
builder expands them later with the ARG/ENV in scope at that step
(`runtime.dockerfile.words.expand`): ADD COPY ENV EXPOSE FROM LABEL
STOPSIGNAL USER VOLUME WORKDIR, and ONBUILD of those. RUN, CMD and
ENTRYPOINT are left to the shell (shell form) or taken literally (exec form).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Heredoc:
    name: str  # the delimiter word, e.g. EOF
    content: str  # the body with the trailing newline; tabs already stripped for `<<-`
    expand: bool  # False when the delimiter was quoted; COPY/ADD bodies: words.expand_heredoc when True
    chomp: bool  # `<<-`


@dataclass(frozen=True)
class Command:
    """RUN/CMD/ENTRYPOINT/HEALTHCHECK CMD: an exec-form JSON array or a shell-form string."""
    exec_form: bool
    args: tuple[str, ...]  # exec form: the array; shell form: one element, the text as written (none if empty)
    heredocs: tuple[Heredoc, ...] = ()  # RUN's; run_argv.run_argv turns them into the argv


@dataclass(frozen=True)
class Instruction:
    line: int  # 1-based line of the instruction's first line in the Dockerfile
    original: str  # the instruction as written, continuation lines joined (for messages and history)


@dataclass(frozen=True)
class From(Instruction):
    image: str  # raw word; "scratch" allowed
    platform: str = ""  # raw word from --platform
    name: str = ""  # AS name, lower-cased


@dataclass(frozen=True)
class RunMount:
    type: str  # bind | cache | tmpfs | secret | ssh
    target: str = ""
    source: str = ""
    from_: str = ""  # stage name/index or image, for bind and cache
    rw: bool = False
    id: str = ""
    sharing: str = "shared"
    mode: int | None = None
    uid: int | None = None
    gid: int | None = None
    size: int | None = None  # tmpfs bytes
    required: bool = False
    env: str = ""  # secret as an env variable
    raw: str = ""  # the --mount text as written; with `$` in it, re-parse with mounts.parse_mount(raw, expand)


@dataclass(frozen=True)
class Run(Instruction):
    command: Command
    mounts: tuple[RunMount, ...] = ()
    network: str = "default"  # default | none | host


@dataclass(frozen=True)
class Copy(Instruction):
    """COPY and ADD (`add` True). Heredoc sources (`COPY <<EOF /f`) are not in `sources`: they are
    `heredocs`, in order, each a file named by its delimiter holding its body."""
    sources: tuple[str, ...]  # raw words (paths, globs, URLs), heredoc words left out
    dest: str  # raw word
    add: bool = False
    from_: str = ""
    chown: str = ""
    chmod: str = ""
    link: bool = False
    parents: bool = False
    excludes: tuple[str, ...] = ()
    checksum: str = ""  # ADD --checksum
    keep_git_dir: bool = False
    unpack: bool | None = None  # ADD --unpack; None: Docker's default (local tars unpacked, URLs not)
    heredocs: tuple[Heredoc, ...] = ()


@dataclass(frozen=True)
class Env(Instruction):
    pairs: tuple[tuple[str, str], ...]  # (raw key, raw value)


@dataclass(frozen=True)
class Arg(Instruction):
    pairs: tuple[tuple[str, str | None], ...]  # (name, raw default or None)


@dataclass(frozen=True)
class Label(Instruction):
    pairs: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Workdir(Instruction):
    path: str


@dataclass(frozen=True)
class User(Instruction):
    user: str


@dataclass(frozen=True)
class Cmd(Instruction):
    command: Command


@dataclass(frozen=True)
class Entrypoint(Instruction):
    command: Command


@dataclass(frozen=True)
class Expose(Instruction):
    ports: tuple[str, ...]


@dataclass(frozen=True)
class Volume(Instruction):
    paths: tuple[str, ...]


@dataclass(frozen=True)
class Shell(Instruction):
    args: tuple[str, ...]


@dataclass(frozen=True)
class StopSignal(Instruction):
    signal: str


@dataclass(frozen=True)
class Healthcheck(Instruction):
    command: Command | None  # None: HEALTHCHECK NONE
    interval: int = 0  # nanoseconds; 0 = not set (inherit Docker's default)
    timeout: int = 0
    start_period: int = 0
    start_interval: int = 0
    retries: int = 0


@dataclass(frozen=True)
class OnBuild(Instruction):
    trigger: str  # the instruction text kept in the image's OnBuild, e.g. "RUN echo hi" (heredoc bodies appended)


@dataclass(frozen=True)
class Maintainer(Instruction):
    name: str


@dataclass(frozen=True)
class Stage:
    index: int
    base: From
    instructions: tuple[Instruction, ...]  # after FROM

    @property
    def name(self) -> str:
        return self.base.name


@dataclass(frozen=True)
class Dockerfile:
    escape: str = "\\"
    syntax: str = ""
    check: str = ""
    global_args: tuple[Arg, ...] = ()  # ARGs before the first FROM
    stages: tuple[Stage, ...] = field(default_factory=tuple)
    warnings: tuple[str, ...] = ()  # lines dockerd's builder prints before the steps ("[WARNING]: ...")
