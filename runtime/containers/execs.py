"""Exec instances: `docker exec` from create to exit, and the ExecSpec the supervisor runs.

An exec is created against a running container (its process, env, user and
capabilities are derived from the container's), started once, and
remembered after it exits so `GET /exec/{id}/json` can give the exit code.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio

from runtime.containers import create_config as cc
from runtime.containers.records import Record
from runtime.containers.users import ReadFile, resolve_user
from runtime.errors import bad_request, conflict, not_found
from runtime.spec import ExecSpec, Process, Rlimit, User

# Exec instances of removed containers go; of live ones, the finished beyond this many.
KEEP_FINISHED = 64


@dataclass
class Exec:
    id: str
    container_id: str
    config: dict[str, Any]
    running: bool = False
    started: bool = False
    exit_code: int | None = None
    pid: int = 0
    done: anyio.Event = field(default_factory=anyio.Event)

    @property
    def argv(self) -> list[str]:
        return [str(a) for a in self.config.get("Cmd") or []]

    @property
    def tty(self) -> bool:
        return bool(self.config.get("Tty"))

    def inspect(self) -> dict[str, Any]:
        argv = self.argv
        return {
            "CanRemove": False,
            "ContainerID": self.container_id,
            "DetachKeys": self.config.get("DetachKeys") or "",
            "ExitCode": self.exit_code,
            "ID": self.id,
            "OpenStderr": bool(self.config.get("AttachStderr")),
            "OpenStdin": bool(self.config.get("AttachStdin")),
            "OpenStdout": bool(self.config.get("AttachStdout")),
            "ProcessConfig": {
                "arguments": argv[1:],
                "entrypoint": argv[0] if argv else "",
                "privileged": bool(self.config.get("Privileged")),
                "tty": self.tty,
                "user": self.config.get("User") or "",
            },
            "Running": self.running,
            "Pid": self.pid,
        }


class Execs:
    def __init__(self) -> None:
        self._by_id: dict[str, Exec] = {}
        # Exits the supervisor reported before `exec` returned the pid to us.
        self._early: dict[tuple[str, int], int] = {}

    def create(self, record: Record, body: Mapping[str, Any]) -> Exec:
        cmd = body.get("Cmd")
        if isinstance(cmd, str):
            cmd = [cmd]
        if not cmd:
            raise bad_request("No exec command specified")
        config = {k: body.get(k) for k in ("AttachStdin", "AttachStdout", "AttachStderr", "Tty", "Env",
                                           "WorkingDir", "User", "Privileged", "DetachKeys", "ConsoleSize")}
        config["Cmd"] = [str(c) for c in cmd]
        exec_id = secrets.token_hex(32)
        entry = Exec(exec_id, record.id, config)
        self._by_id[exec_id] = entry
        self._trim(record.id)
        return entry

    def get(self, exec_id: str) -> Exec:
        entry = self._by_id.get(exec_id)
        if entry is None:
            matches = [e for i, e in self._by_id.items() if i.startswith(exec_id)] if exec_id else []
            if len(matches) != 1:
                raise not_found(f"No such exec instance: {exec_id}")
            entry = matches[0]
        return entry

    def of_container(self, container_id: str) -> list[Exec]:
        return [e for e in self._by_id.values() if e.container_id == container_id]

    def running(self) -> list[Exec]:
        return [e for e in self._by_id.values() if e.running]

    def running_ids(self, container_id: str) -> list[str]:
        return [e.id for e in self.of_container(container_id) if e.running]

    def claim(self, exec_id: str) -> Exec:
        """Mark an exec as started; 409 when it was started before."""
        entry = self.get(exec_id)
        if entry.running:
            raise conflict(f"Exec command {entry.id} is already running")
        if entry.started:
            raise conflict(f"Exec command {entry.id} has already run")
        entry.started = True
        return entry

    def started(self, entry: Exec, pid: int) -> None:
        entry.pid, entry.running = pid, True
        code = self._early.pop((entry.container_id, pid), None)
        if code is not None:
            self.exited(entry, code)

    def exited(self, entry: Exec, code: int) -> None:
        entry.running, entry.exit_code = False, code
        entry.done.set()

    def on_exit(self, container_id: str, pid: int, code: int) -> Exec | None:
        """The supervisor says exec `pid` in the container exited: the exec it was, now finished."""
        for entry in self.of_container(container_id):
            if entry.pid == pid and entry.running:
                self.exited(entry, code)
                return entry
        self._early[(container_id, pid)] = code
        return None

    def container_gone(self, container_id: str) -> None:
        """The container stopped or went away: its running execs are over too."""
        for entry in self.of_container(container_id):
            if entry.running:
                self.exited(entry, entry.exit_code if entry.exit_code is not None else 137)
        self._early = {k: v for k, v in self._early.items() if k[0] != container_id}

    def forget_container(self, container_id: str) -> None:
        self.container_gone(container_id)
        for entry in self.of_container(container_id):
            del self._by_id[entry.id]

    def _trim(self, container_id: str) -> None:
        finished = [e for e in self.of_container(container_id) if e.started and not e.running]
        for entry in finished[:-KEEP_FINISHED] if len(finished) > KEEP_FINISHED else ():
            del self._by_id[entry.id]


def exec_spec(record: Record, entry: Exec, pid: int, linked: Sequence[str] = ()) -> ExecSpec:
    """The process to run: the container's environment (after its links' variables, as dockerd's),
    user, cwd and privileges, with the exec's changes."""
    process = record.spec.get("process") or {}
    config = entry.config
    tty = entry.tty
    base = [f"PATH={cc.DEFAULT_PATH}", f"HOSTNAME={record.config.get('Hostname') or ''}",
            *(["TERM=xterm"] if tty else []), *linked]
    env = cc.replace_or_append(cc.replace_or_append(base, record.config.get("Env") or []), config.get("Env") or [])
    user_spec = str(config.get("User") or "")
    if user_spec:
        resolved = resolve_user(user_spec, [], _reader(Path(f"/proc/{pid}/root")))
        user, home = resolved.user, f"HOME={resolved.home}"
    else:
        raw = process.get("user") or {}
        user = User(int(raw.get("uid", 0)), int(raw.get("gid", 0)), tuple(raw.get("additional_gids", ())))
        home = next((e for e in process.get("env", ()) if e.startswith("HOME=")), "")
    if home and not any(e.startswith("HOME=") for e in env):
        env.append(home)
    privileged = bool(config.get("Privileged"))
    capabilities = tuple(process.get("capabilities", ()))
    if privileged:
        from runtime.linux import caps

        capabilities = caps.resolve((), (), True)
    cwd = str(config.get("WorkingDir") or process.get("cwd") or "/")
    return ExecSpec(
        Process(
            args=tuple(entry.argv),
            env=tuple(env),
            cwd=cwd,
            user=user,
            terminal=tty,
            capabilities=capabilities,
            no_new_privileges=bool(process.get("no_new_privileges")),
            rlimits=tuple(Rlimit(**r) for r in process.get("rlimits", ())),
        ),
        privileged=privileged,
    )


def _reader(root: Path) -> ReadFile:
    """Files of a running container's root, through /proc/PID/root."""

    def read(relative: str) -> str | None:
        try:
            return (root / relative).read_text(errors="replace")
        except OSError:
            return None

    return read
