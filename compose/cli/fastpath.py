"""`pycompose container run|exec` without click, for the common plain case.

A short command's time goes mostly to start-up: click (~20 ms here),
logging, dataclasses. `container run IMAGE CMD…` and `container exec
NAME CMD…` without a terminal or stdin are the commands a script runs in
a loop, and they need none of it: this module parses their command lines
as click would and runs the same blocking flows (container_plain.py).

It only takes what it is sure of. `run_fast` answers None — and main.py
hands the command line to click — for anything else: another command,
global options, `--help`, an unknown or combined option (`-dt`, `-eX`),
`--`, a missing value or argument, `-i`/`-t`, a value click would refuse,
a flag value the body builders refuse, an engine that does not answer yet
(the click path starts it), shell completion. So every error message,
and every behaviour beyond the plain flow, is click's own. The option
tables below mirror the click declarations in container_run.py and
engine_group.py; tests/compose/cli/test_fastpath.py keeps them equal.
"""

from __future__ import annotations

import errno
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Any, TextIO, cast

FLAG, VALUE, INT, MULTI = "flag", "value", "int", "multi"
Table = Mapping[str, tuple[str, str]]  # option string -> (parameter name, kind)


def _table(*rows: tuple[tuple[str, ...], str, str]) -> dict[str, tuple[str, str]]:
    return {opt: (dest, kind) for opts, dest, kind in rows for opt in opts}


RUN_OPTIONS = _table(
    (("-d", "--detach"), "detach", FLAG),
    (("--rm",), "auto_remove", FLAG),
    (("--name",), "name", VALUE),
    (("-e", "--env"), "env", MULTI),
    (("--env-file",), "env_files", MULTI),
    (("-v", "--volume"), "volumes", MULTI),
    (("--mount",), "mounts", MULTI),
    (("--tmpfs",), "tmpfs", MULTI),
    (("-w", "--workdir"), "workdir", VALUE),
    (("-u", "--user"), "user", VALUE),
    (("--entrypoint",), "entrypoint", VALUE),
    (("--init",), "init", FLAG),
    (("-m", "--memory"), "memory", VALUE),
    (("--cpus",), "cpus", VALUE),
    (("--pids-limit",), "pids_limit", INT),
    (("--cap-add",), "cap_add", MULTI),
    (("--cap-drop",), "cap_drop", MULTI),
    (("--privileged",), "privileged", FLAG),
    (("--read-only",), "read_only", FLAG),
    (("--security-opt",), "security_opt", MULTI),
    (("--restart",), "restart", VALUE),
    (("--network", "--net"), "network", VALUE),
    (("-l", "--label"), "labels", MULTI),
    (("-i", "--interactive"), "interactive", FLAG),
    (("-t", "--tty"), "tty", FLAG),
    (("--detach-keys",), "detach_keys", VALUE),
    (("-h", "--hostname"), "hostname", VALUE),
    (("--stop-signal",), "stop_signal", VALUE),
    (("--stop-timeout",), "stop_timeout", INT),
    (("--ulimit",), "ulimits", MULTI),
    (("--sysctl",), "sysctls", MULTI),
    (("--shm-size",), "shm_size", VALUE),
    (("-p", "--publish"), "publish", MULTI),
    (("-P", "--publish-all"), "publish_all", FLAG),
    (("--expose",), "expose", MULTI),
    (("--network-alias",), "network_aliases", MULTI),
    (("--ip",), "ip", VALUE),
    (("--mac-address",), "mac_address", VALUE),
    (("--add-host",), "add_hosts", MULTI),
    (("--dns",), "dns", MULTI),
    (("--dns-search",), "dns_search", MULTI),
    (("--dns-option",), "dns_options", MULTI),
    (("--link",), "links", MULTI),
    (("--pull",), "pull", VALUE),
    (("--platform",), "platform", VALUE),
    (("-q", "--quiet"), "quiet", FLAG),
)
EXEC_OPTIONS = _table(
    (("-d", "--detach"), "detach", FLAG),
    (("-e", "--env"), "env", MULTI),
    (("-i", "--interactive"), "interactive", FLAG),
    (("-t", "--tty"), "tty", FLAG),
    (("-u", "--user"), "user", VALUE),
    (("-w", "--workdir"), "workdir", VALUE),
    (("--privileged",), "privileged", FLAG),
    (("--detach-keys",), "detach_keys", VALUE),
)
GROUP_OPTIONS = _table((("-H", "--host"), "host", VALUE))
HOST_ENV = "DOCKER_HOST"
# Set by a shell asking click for completions (click's `_<PROG>_COMPLETE`).
COMPLETION_ENV = "_PYCOMPOSE_COMPLETE"


def parse_options(args: Sequence[str], table: Table) -> tuple[dict[str, Any], list[str]] | None:
    """Options up to the first argument, as click parses them without interspersed arguments.

    (values by parameter name, the arguments from the first one on), or None where click
    should decide. Unset options get click's defaults: False, None, ().
    """
    values: dict[str, Any] = {}
    for dest, kind in table.values():
        values[dest] = False if kind == FLAG else [] if kind == MULTI else None
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            return None
        if arg[:1] != "-" or arg == "-":
            break
        name, eq, attached = arg.partition("=") if arg.startswith("--") else (arg, "", "")
        spec = table.get(name)
        if spec is None:
            return None
        dest, kind = spec
        i += 1
        if kind == FLAG:
            if eq:
                return None
            values[dest] = True
            continue
        if eq:
            value = attached
        elif i < len(args):
            value, i = args[i], i + 1
        else:
            return None
        if kind == INT:
            try:
                values[dest] = int(value)
            except ValueError:
                return None
        elif kind == MULTI:
            values[dest].append(value)
        else:
            values[dest] = value
    for dest, kind in table.values():
        if kind == MULTI:
            values[dest] = tuple(values[dest])
    return values, list(args[i:])


def parse(argv: Sequence[str]) -> tuple[str, str, dict[str, Any]] | None:
    """`container [-H HOST] run|exec …` -> (host option or None, command, its parameters), or None."""
    if not argv or argv[0] != "container":
        return None
    group = parse_options(argv[1:], GROUP_OPTIONS)
    if group is None or not group[1]:
        return None
    host, rest = group[0]["host"], group[1]
    command, args = rest[0], rest[1:]
    table = RUN_OPTIONS if command == "run" else EXEC_OPTIONS if command == "exec" else None
    if table is None:
        return None
    parsed = parse_options(args, table)
    if parsed is None:
        return None
    values, positional = parsed
    if command == "run" and positional:
        values.update(image=positional[0], command=tuple(positional[1:]))
    elif command == "exec" and len(positional) >= 2:
        values.update(container=positional[0], command=tuple(positional[1:]))
    else:
        return None
    if values["interactive"] or values["tty"] or values["detach_keys"]:
        return None
    return host, command, values


def target_host(option: str | None) -> str:
    """The engine the container group talks to: -H, else $DOCKER_HOST (click ignores it empty), else the default."""
    from compose.client.place import default_host

    host = option if option is not None else os.environ.get(HOST_ENV) or None
    return host or default_host()


def run_fast(argv: Sequence[str]) -> int | None:
    """Run `argv` here when it is a plain `container run|exec`: its exit status; None for click."""
    if os.environ.get(COMPLETION_ENV):
        return None
    try:  # the root group's callback reads it, and fails on a bad one: click must show that
        int(os.environ.get("COMPOSE_PARALLEL_LIMIT") or -1)
    except ValueError:
        return None
    parsed = parse(argv)
    if parsed is None:
        return None
    from compose.cli.container_create import CreateOptions, create_body, environment
    from compose.cli.container_plain import exec_plain, run_plain, run_status
    from compose.cli.container_pull import check_policy
    from compose.engine_reach import EngineUnavailable, host_path, probe
    from compose.exec_body import exec_body

    option, command, values = parsed
    from compose.client.place import context_active

    if option is None and not os.environ.get(HOST_ENV) and context_active():
        return None  # the engine is a docker context's: compose/client/contexts.py reads it
    values.pop("detach_keys")  # only an attached stdin reads it, and then click has the command
    host = target_host(option)
    work: Callable[[], int]
    try:  # a value the body builders refuse raises click's error: click's to report, and nothing happened yet
        if command == "run":
            pull = check_policy(values.pop("pull"))
            platform, quiet = values.pop("platform"), values.pop("quiet")
            opts = CreateOptions(**values, environ=dict(os.environ), console_size=None)
            work = partial(run_plain, host, create_body(opts), opts.name, opts.detach, opts.auto_remove, pull,
                           platform, quiet)
        else:
            body = exec_body(values["command"], env=environment(values["env"], os.environ), detach=values["detach"],
                             user=values["user"], workdir=values["workdir"], privileged=values["privileged"])
            work = partial(exec_plain, host, values["container"], body, values["detach"])
    except Exception:
        return None
    try:  # ensure_engine's check: an engine to start, or the error of not reaching one, is the click path's
        if probe(host_path(host)) != 0:
            return None
    except EngineUnavailable:
        return None
    return ended_as_click_ends(partial(run_status, work))


class _QuietFlush:
    """A stream whose flush ignores a closed pipe: the reader went away, and exit must not complain."""

    def __init__(self, wrapped: TextIO) -> None:
        self.wrapped = wrapped

    def flush(self) -> None:
        try:
            self.wrapped.flush()
        except OSError as exc:
            if exc.errno != errno.EPIPE:
                raise

    def __getattr__(self, name: str) -> Any:
        return getattr(self.wrapped, name)


def ended_as_click_ends(work: Callable[[], int]) -> int:
    """`work`'s status, with the endings click gives a command (BaseCommand.main, then app.run).

    Ctrl-C or end of input: a blank line, `aborted`, 130; a reader that closed
    our output (`… | head -1`): exit 1, quietly.
    """
    try:
        return work()
    except (EOFError, KeyboardInterrupt):
        sys.stderr.write("\n")
        sys.stderr.flush()
        sys.stderr.write("aborted\n")
        sys.stderr.flush()
        return 130
    except OSError as exc:
        if exc.errno != errno.EPIPE:
            raise
        sys.stdout = cast(TextIO, _QuietFlush(sys.stdout))
        sys.stderr = cast(TextIO, _QuietFlush(sys.stderr))
        return 1
