"""`develop.watch`: which rule a changed file falls under, and what it asks of the service.

Pure here: the rules read from the model (`rules`), the matching of a
changed host path to rules (`match`, with `ignore`/`include` patterns
relative to the rule's path, as .dockerignore patterns are), and the
grouping of a batch of changes into actions (`actions`). The engine side
(`apply`) copies synced files into every running replica with
`PUT /containers/{id}/archive` (no restart), removes deleted ones with an
exec, restarts, or runs the rule's `exec` command; `rebuild` builds the
service's image again and recreates its containers (`rebuild`).
"""

from __future__ import annotations

import fnmatch
import posixpath
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from compose.errors import ComposeError

if TYPE_CHECKING:
    from compose.client import EngineClient
    from compose.model import Project
    from compose.session import Session

ACTIONS = ("sync", "rebuild", "restart", "sync+restart", "sync+exec")
# Never synced, whatever the rules say: version-control folders and editors' swap and backup files.
ALWAYS_IGNORED = (".git", ".git/**", "**/.git/**", "*.swp", "*.swx", "*~", ".#*", "**/.#*", "*___jb_tmp___")


@dataclass(frozen=True)
class Rule:
    service: str
    action: str
    path: Path
    target: str | None
    ignore: tuple[str, ...] = ()
    include: tuple[str, ...] = ()
    initial_sync: bool = False
    exec_command: tuple[str, ...] = ()


@dataclass(frozen=True)
class Action:
    """What one batch of changes asks of one service under one rule."""

    rule: Rule
    copies: tuple[tuple[Path, str], ...] = ()  # host path -> path in the container
    deletes: tuple[str, ...] = ()


def rules(project: Project, services: Iterable[str] = ()) -> list[Rule]:
    """The watch rules of the services (all when none is named); an error when none has any."""
    names = sorted(services) or sorted(project.services)
    out: list[Rule] = []
    for name in names:
        develop = project.services[name].config.get("develop") or {}
        for raw in develop.get("watch") or ():
            out.append(_rule(name, raw, project.working_dir))
    if not out:
        raise ComposeError("none of the selected services is configured for watch, consider setting a 'develop' "
                           "section")
    unbuildable = sorted({r.service for r in out
                          if r.action == "rebuild" and project.services[r.service].build is None})
    if unbuildable:
        raise ComposeError(f"watch: service {unbuildable[0]}: a rebuild rule needs a build section")
    return out


def _rule(service: str, raw: Mapping[str, Any], base: Path) -> Rule:
    action = str(raw.get("action") or "")
    if action not in ACTIONS:
        raise ComposeError(f"services.{service}.develop.watch: invalid action {action!r} "
                           f"(one of {', '.join(ACTIONS)})")
    path = raw.get("path")
    if not path:
        raise ComposeError(f"services.{service}.develop.watch: path is required")
    target = raw.get("target")
    if action.startswith("sync") and not target:
        raise ComposeError(f"services.{service}.develop.watch: target is required for {action}")
    command = (raw.get("exec") or {}).get("command") if action == "sync+exec" else None
    if action == "sync+exec" and not command:
        raise ComposeError(f"services.{service}.develop.watch: exec.command is required for sync+exec")
    argv = tuple(["/bin/sh", "-c", command] if isinstance(command, str) else command or ())
    return Rule(service, action, (base / str(path)).resolve(), str(target) if target else None,
                tuple(str(p) for p in raw.get("ignore") or ()), tuple(str(p) for p in raw.get("include") or ()),
                bool(raw.get("initial_sync", False)), argv)


def _matches(relative: str, patterns: Sequence[str]) -> bool:
    """A .dockerignore-style match: the path, or one of its parent folders, fits a pattern."""
    parts = relative.split("/")
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    return any(fnmatch.fnmatchcase(c, p.strip("/")) for p in patterns for c in candidates)


def match(rule: Rule, changed: Path) -> str | None:
    """The path of `changed` relative to the rule's path ("" for the path itself), None when the rule skips it."""
    try:
        relative = changed.relative_to(rule.path).as_posix()
    except ValueError:
        return None
    relative = "" if relative == "." else relative
    if relative and (_matches(relative, ALWAYS_IGNORED) or _matches(relative, rule.ignore)):
        return None
    if relative and rule.include and not _matches(relative, rule.include):
        return None
    return relative


def actions(all_rules: Sequence[Rule], changed: Iterable[Path]) -> list[Action]:
    """One action per rule that a changed path falls under, with its copies and deletions."""
    out = []
    paths = sorted(set(changed))
    for rule in all_rules:
        copies: list[tuple[Path, str]] = []
        deletes: list[str] = []
        fired = False
        for path in paths:
            relative = match(rule, path)
            if relative is None:
                continue
            fired = True
            if rule.target is None:
                continue
            inside = posixpath.join(rule.target, relative) if relative else rule.target
            if path.exists():
                copies.append((path, inside))
            else:
                deletes.append(inside)
        if fired:
            out.append(Action(rule, tuple(copies), tuple(deletes)))
    return out


def initial(all_rules: Sequence[Rule]) -> list[Action]:
    """The whole path of each sync rule with `initial_sync`."""
    return [Action(rule, ((rule.path, rule.target or "/"),)) for rule in all_rules
            if rule.initial_sync and rule.action.startswith("sync") and rule.path.exists()]


async def apply(client: EngineClient, project: str, action: Action) -> str:
    """Carry out `action` on every running replica of its service; a line saying what was done."""
    from compose import labels as L
    from compose.copying import pack
    from compose.exec_body import exec_body
    from compose.execs import exec_output

    rule = action.rule
    filters = {"label": [f"{L.PROJECT}={project}", f"{L.SERVICE}={rule.service}"]}
    found = await (await client.get("/containers/json", {"filters": filters})).json() or []
    ids = [str(c["Id"]) for c in found]
    for cid in ids:
        if rule.action.startswith("sync"):
            for source, inside in action.copies:  # full paths from /: missing parent folders are made
                archive = pack(source, inside.lstrip("/"))
                await (await client.put(f"/containers/{cid}/archive", {"path": "/"}, body=archive,
                                        headers={"Content-Type": "application/x-tar"})).read()
            if action.deletes:
                body = exec_body(("rm", "-rf", "--", *action.deletes), tty=False, interactive=False, detach=False,
                                 env=[], user=None, workdir=None, privileged=False)
                await exec_output(client, cid, body)
        if rule.action in ("restart", "sync+restart"):
            await (await client.post(f"/containers/{cid}/restart")).read()
        if rule.action == "sync+exec":
            body = exec_body(rule.exec_command, tty=False, interactive=False, detach=False, env=[], user=None,
                             workdir=None, privileged=False)
            await exec_output(client, cid, body)
    what = {"sync": "Syncing", "restart": "Restarting", "sync+restart": "Syncing and restarting",
            "sync+exec": "Syncing and running"}[rule.action]
    files = len(action.copies) + len(action.deletes)
    return f'{what} service "{rule.service}" after {files} changed file(s) ({len(ids)} container(s))'


async def rebuild(session: Session, service: str, prune: bool = True) -> str:
    """A `rebuild` rule fired: build the service's image, recreate its containers on it, and (`prune`) remove
    the image they ran before when nothing else names or uses it."""
    from compose.client import EngineError
    from compose.plan import UpOptions
    from compose.plan.pull import image_of
    from compose.pulling import inspect_image

    before = await inspect_image(session.client, image_of(session.project, service))
    await session.build([service])
    await session.converge(UpOptions(services=(service,), no_deps=True, force_recreate=True), build="never")
    after = await inspect_image(session.client, image_of(session.project, service))
    if prune and before is not None and after is not None and before.id != after.id:
        try:  # a dangling image only: the engine refuses (409) one that a container or a tag still holds
            info = await (await session.client.get(f"/images/{before.id}/json")).json() or {}
            if not info.get("RepoTags"):
                await (await session.client.delete(f"/images/{before.id}")).read()
        except EngineError:
            pass
    return f'Rebuilt image and recreated service "{service}"'
