"""`pycompose pull` and `pycompose push`: the project's images to and from their registries.

As Docker Compose's: `pull` pulls every selected service's image at once
(`--include-deps` adds what they depend on), skips what the pull policy
(or `--policy`) says to skip and services without an image, and with
`--ignore-pull-failures` only warns; a failure of a service that has a
build section is a warning too (it can be built). `push` pushes the images
of services that have both `build:` and `image:`, skipping the others.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import click

from compose.cli.main import GlobalOptions
from compose.cli.project_cmd import call, load, progress
from compose.errors import ComposeError

if TYPE_CHECKING:
    from compose.client import EngineClient
    from compose.model import Project
    from compose.progress import Progress
    from compose.scheduler import ProgressEvent


def chosen(project: Project, services: Iterable[str], include_deps: bool) -> list[str]:
    from compose.graph import with_dependencies
    from compose.plan.common import service_graph

    names = sorted(services) or sorted(project.services)
    unknown = [name for name in names if name not in project.services]
    if unknown:
        raise ComposeError(f"no such service: {unknown[0]}")
    if include_deps:
        return sorted(with_dependencies(service_graph(project), names) & set(project.services))
    return names


def _display(opts: GlobalOptions, quiet: bool, title: str) -> Progress:
    from compose.progress import Progress

    return Progress() if quiet else progress(opts, title)


def shown(display: Progress, dry_run: bool) -> Callable[[ProgressEvent], None]:
    """Where a step's line goes: the display, behind `DRY-RUN MODE - ` in a dry run."""
    if dry_run:
        from compose.dry_run import marked

        return marked(display.event)
    return display.event


@click.command("pull")
@click.argument("services", nargs=-1)
@click.option("--ignore-pull-failures", is_flag=True, help="Pull what it can and ignores images with pull failures.")
@click.option("--include-deps", is_flag=True, help="Also pull services declared as dependencies.")
@click.option("--ignore-buildable", is_flag=True, help="Ignore images that can be built.")
@click.option("--policy", type=click.Choice(["missing", "always"]), default=None,
              help="Apply pull policy (missing, always).")
@click.option("-q", "--quiet", is_flag=True, help="Pull without printing progress information.")
@click.pass_obj
def pull(opts: GlobalOptions, services: tuple[str, ...], ignore_pull_failures: bool, include_deps: bool,
         ignore_buildable: bool, policy: str | None, quiet: bool) -> None:
    """Pull service images."""
    project = load(opts, services)
    names = chosen(project, services, include_deps)

    def tolerated(service: str) -> bool:
        return ignore_pull_failures or project.services[service].build is not None

    async def flow(client: EngineClient) -> None:
        from compose.plan.pull import PULL, ImageStep, image_of, pull_steps
        from compose.pulling import failure, local_images, run_transfers
        from compose.scheduler import DONE, ProgressEvent

        local = await local_images(client, {image_of(project, name) for name in names})
        steps = list(pull_steps(project, names, local, policy))
        if ignore_buildable:
            steps = [ImageStep(s.image, s.services, "use", "Image can be built")
                     if s.action == PULL and project.services[s.services[0]].build is not None else s for s in steps]
        with _display(opts, quiet, "Pulling") as display:
            for step in steps:
                if step.action != PULL:
                    text = f"Skipped - {step.reason}" if step.reason else "Skipped"
                    shown(display, opts.dry_run)(ProgressEvent(step.services[0], text, DONE, 0.0))
                elif opts.dry_run:
                    shown(display, opts.dry_run)(ProgressEvent(step.services[0], "Pulled", DONE, 0.0))
            if opts.dry_run:
                return
            report = await run_transfers(client, project, steps, display, tolerated=tolerated, parallel=opts.parallel)
            must_build = sorted(s for s in report.failed if project.services[s].build is not None)
            if must_build:
                display.note("WARNING: Some service image(s) must be built from source by running:\n"
                             f"    docker compose build {' '.join(must_build)}")
        error = failure(report, tolerated)
        if error is not None:
            raise error

    call(flow)


@click.command("push")
@click.argument("services", nargs=-1)
@click.option("--ignore-push-failures", is_flag=True, help="Push what it can and ignores images with push failures.")
@click.option("--include-deps", is_flag=True, help="Also push images of services declared as dependencies.")
@click.option("-q", "--quiet", is_flag=True, help="Push without printing progress information.")
@click.pass_obj
def push(opts: GlobalOptions, services: tuple[str, ...], ignore_push_failures: bool, include_deps: bool,
         quiet: bool) -> None:
    """Push service images."""
    project = load(opts, services)
    names = chosen(project, services, include_deps)

    async def flow(client: EngineClient) -> None:
        from compose.plan.pull import PULL, ImageStep
        from compose.pulling import failure, run_transfers
        from compose.scheduler import DONE, ProgressEvent

        steps: dict[str, Any] = {}
        with _display(opts, quiet, "Pushing") as display:
            for name in names:
                svc = project.services[name]
                if svc.build is None or svc.image is None:
                    shown(display, opts.dry_run)(ProgressEvent(name, "Skipped", DONE, 0.0))
                elif svc.image not in steps:
                    steps[svc.image] = ImageStep(svc.image, (name,), PULL)
                    if opts.dry_run:
                        shown(display, opts.dry_run)(ProgressEvent(name, "Pushed", DONE, 0.0))
            if opts.dry_run:
                return
            report = await run_transfers(client, project, steps.values(), display,
                                         tolerated=lambda s: ignore_push_failures, push=True,
                                         parallel=opts.parallel)
        error = failure(report, lambda s: ignore_push_failures)
        if error is not None:
            raise error

    call(flow)
