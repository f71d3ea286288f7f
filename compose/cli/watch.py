"""`pycompose watch`: bring the services up, then follow `develop.watch` rules until Ctrl-C.

File events come from watchfiles (inotify), debounced into batches; each
batch becomes actions (compose/watch.py) carried out on the running
replicas: a sync copies into the container without restarting it.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import click

from compose.cli.main import GlobalOptions
from compose.cli.project_cmd import call, load, open_session

if TYPE_CHECKING:
    from compose.client import EngineClient
    from compose.model import Project
    from compose.watch import Action, Rule

DEBOUNCE_MS = 100  # changes closer than this are one batch (an editor's save is often several events)


def _run(actions: Sequence[Action], project: Project, quiet: bool, prune: bool = True) -> None:
    from compose.session import Session
    from compose.watch import apply, rebuild

    async def flow(client: EngineClient) -> list[str]:
        done: list[str] = []
        rebuilt: set[str] = set()
        for action in actions:
            if action.rule.action != "rebuild":
                done.append(await apply(client, project.name, action))
            elif action.rule.service not in rebuilt:
                rebuilt.add(action.rule.service)
                done.append(await rebuild(Session(client, project), action.rule.service, prune))
        return done

    for line in call(flow):
        if not quiet:
            click.echo(line, err=True)


def follow(project: Project, all_rules: Sequence[Rule], quiet: bool = False,
           stop: threading.Event | None = None, prune: bool = True) -> None:
    """Apply the initial syncs, then every batch of changes, until `stop` is set (or Ctrl-C)."""
    import watchfiles

    from compose.watch import actions, initial

    first = initial(all_rules)
    if first:
        _run(first, project, quiet, prune)
    roots = sorted({str(rule.path if rule.path.is_dir() else rule.path.parent) for rule in all_rules})
    if not quiet:
        click.echo(f"Watch enabled ({len(all_rules)} rule(s) on {', '.join(roots)})", err=True)
    for changes in watchfiles.watch(*roots, debounce=DEBOUNCE_MS, step=20, stop_event=stop,
                                    raise_interrupt=False):
        batch = actions(all_rules, [Path(path) for _, path in changes])
        if batch:
            _run(batch, project, quiet, prune)


@click.command("watch")
@click.argument("services", nargs=-1)
@click.option("--no-up", is_flag=True, help="Do not build & start services before watching.")
@click.option("--prune/--no-prune", default=True, help="Prune dangling images on rebuild.")
@click.option("--quiet", is_flag=True, help="Hide build output.")
@click.pass_obj
def watch(opts: GlobalOptions, services: tuple[str, ...], no_up: bool, prune: bool, quiet: bool) -> None:
    """Watch the build context for services and sync, restart or rebuild them when files are updated."""
    from compose.plan import UpOptions
    from compose.watch import rules

    if opts.dry_run:  # a watch copies and restarts as files change: nothing a dry run could show beforehand
        raise click.UsageError("watch does not take --dry-run")
    project = load(opts, services)
    all_rules = rules(project, services)
    if not no_up:
        async def up(client: EngineClient) -> None:
            await open_session(client, opts, project).converge(UpOptions(services=services, wait=False))

        call(up)
    try:
        follow(project, all_rules, quiet, prune=prune)
    except KeyboardInterrupt:
        sys.exit(130)


def _running(project: Project, service_names: set[str]) -> bool:
    from compose import labels as L

    async def flow(client: EngineClient) -> set[str]:
        found = await (await client.get("/containers/json", {"filters": L.project_filter(project.name)})).json()
        return {str((c.get("Labels") or {}).get(L.SERVICE)) for c in found or []}

    return service_names <= call(flow)


def watch_alongside(project: Project, all_rules: Sequence[Rule]) -> threading.Event:
    """`up --watch`: follow the rules in a thread once the watched services run; set the event to stop."""
    import time

    stop = threading.Event()

    def run() -> None:
        try:
            names = {rule.service for rule in all_rules}
            while not stop.is_set() and not _running(project, names):
                time.sleep(0.1)
            if not stop.is_set():
                follow(project, all_rules, stop=stop)
        except Exception as exc:  # the watcher's end is one line; the attached `up` goes on
            click.echo(f"watch: {exc}", err=True)

    threading.Thread(target=run, name="watch", daemon=True).start()
    return stop
