"""A project and the engine it runs on: what the CLI and the Python API both do, neither's own.

Observe the engine, pick the services a command acts on, resolve their
images (pulling where the policy says), converge (`up`, `create`), find a
replica, run a plan. Decisions stay the plan's (compose/plan); the calls are
`compose.engine_calls`'s; how progress is shown is the caller's: a session
is given a `display` (one per plan, by title) and shows nothing of its own.
The CLI and the API parse their inputs, open a session, call it and render.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, TypeVar

import anyio

from compose import labels as L
from compose.error_base import exception_leaves
from compose.errors import ComposeError, warn
from compose.observed import ObservedContainer, ObservedState, observed_state
from compose.progress import Progress

if TYPE_CHECKING:
    from compose.build.spec import BuildFlags
    from compose.client import EngineClient
    from compose.loader.project import LoadOptions
    from compose.model import Project
    from compose.plan import Plan, UpOptions
    from compose.scheduler import ProgressEvent

T = TypeVar("T")


def quiet(title: str) -> Progress:
    """A display that shows nothing."""
    return Progress()


async def _list(client: EngineClient, path: str, params: Mapping[str, Any] | None = None) -> Any:
    """A list answer; an engine without the route (404) has none of those objects."""
    from compose.client import EngineError

    try:
        return await (await client.get(path, params)).json()
    except EngineError as exc:
        if exc.status == 404:
            return []
        raise


async def observe(client: EngineClient, project: str) -> ObservedState:
    """The project's containers (by label) and every network and volume (by name)."""
    answers: dict[str, Any] = {}

    async def fetch(path: str, params: Mapping[str, Any] | None = None) -> None:
        answers[path] = await _list(client, path, params)

    async with anyio.create_task_group() as tasks:  # three round trips at once
        tasks.start_soon(fetch, "/containers/json", {"all": True, "filters": L.project_filter(project)})
        tasks.start_soon(fetch, "/networks")
        tasks.start_soon(fetch, "/volumes")
    return observed_state(project, answers["/containers/json"] or [], answers["/networks"] or [],
                          answers["/volumes"] or [])


def selected_services(project: Project, targeted: Iterable[str], no_deps: bool) -> set[str]:
    """The services named (all when none is), with what they depend on unless `no_deps`."""
    from compose.graph import with_dependencies
    from compose.plan.common import service_graph

    names = sorted(targeted) or sorted(project.services)
    if no_deps:
        return set(names)
    return with_dependencies(service_graph(project), names) & set(project.services)


def replica(observed: ObservedState, service: str, index: int) -> ObservedContainer:
    """Running replica `index` of `service`, or the error that says why there is none."""
    replicas = observed.service_containers(service)
    chosen = [c for c in replicas if c.number == index]
    if not replicas or not any(c.running for c in replicas):
        raise ComposeError(f'service "{service}" is not running')
    if not chosen or not chosen[0].running:
        raise ComposeError(f'service "{service}" is not running container #{index}')
    return chosen[0]


def run_sync(host: str, work: Callable[[EngineClient], Awaitable[T]]) -> T:
    """`work(client)` on its own event loop against the engine at `host` (which must answer)."""
    from compose.client import run_sync as run_client

    return run_client(host, lambda client: unwrapped(work(client)))


async def unwrapped(work: Awaitable[T]) -> T:
    """A lone error out of task groups, as itself: the user gets its one line."""
    try:
        return await work
    except BaseExceptionGroup as group:
        leaves = exception_leaves(group)
        if len(leaves) == 1:
            raise leaves[0] from None
        errors = [leaf for leaf in leaves if isinstance(leaf, ComposeError)]
        if errors:
            raise errors[0] from None
        raise


@dataclass
class Session:
    """One command's dealings with the engine for one project."""

    client: EngineClient
    project: Project
    load_options: LoadOptions | None = None  # how the project was loaded (None: known by name alone)
    parallel: int = -1  # engine calls at once (-1: no bound)
    display: Callable[[str], Progress] = quiet  # a progress display per plan, by title
    dry_run: bool = False  # plans are shown, their operations walked without an engine call

    async def observe(self) -> ObservedState:
        return await observe(self.client, self.project.name)

    def known_services(self, observed: ObservedState) -> frozenset[str]:
        """Services the files define under any profile: their containers are not orphans.

        The second load (every profile enabled) only happens when there are
        containers the active services do not explain.
        """
        from compose.loader.project import load_project

        if self.load_options is None or not self.project.services or not observed.orphans(self.project.services):
            return frozenset()
        try:
            full = load_project(replace(self.load_options, profiles=("*",), services=())).project
        except ComposeError:
            return frozenset()
        return frozenset(full.services)

    async def run(self, plan: Plan, on_event: Callable[[ProgressEvent], None] = lambda event: None) -> dict[str, str]:
        """Every operation of the plan; the ids of the containers it created, by operation."""
        from compose.engine_calls import EngineCalls
        from compose.scheduler import Executor, run_plan

        executor: Executor = EngineCalls(self.client)
        if self.dry_run:
            from compose.dry_run import DryRunCalls, marked

            executor, on_event = DryRunCalls(self.client), marked(on_event)
        return await run_plan(plan, executor, parallel=self.parallel, on_event=on_event)

    async def execute(self, plan: Plan, title: str = "Running") -> dict[str, str]:
        """Report the plan's warnings, then run it under a display of `title`."""
        from compose.scheduler import DONE, ProgressEvent

        for message in plan.warnings:
            warn(message)
        if not plan and not plan.unchanged:
            return {}
        with self.display(title) as display:
            shown: Callable[[ProgressEvent], None] = display.event
            if self.dry_run:
                from compose.dry_run import marked

                shown = marked(display.event)
            for resource in plan.unchanged:  # Docker Compose lists what it left alone as Running
                shown(ProgressEvent(resource, "Running", DONE, 0.0))
            return await self.run(plan, display.event)

    async def resolve_images(self, services: Iterable[str], pull: str | None = None,
                             quiet_pull: bool = False, build: str = "auto",
                             build_flags: BuildFlags | None = None) -> dict[str, str]:
        """The id of each service's image, built or pulled first where the policy (or `pull`, `build`) says so.

        Each image is asked for, built or pulled once, however many services run it, and all at once; the
        decisions are compose/plan/pull.py's. An image that cannot be had is an error that says why."""
        from compose.plan.pull import BUILD_IT, FAIL, PULL, image_of, up_steps
        from compose.pulling import failure, local_images, run_pulls

        project, names = self.project, sorted(services)
        local = await local_images(self.client, {image_of(project, name) for name in names})
        steps = up_steps(project, names, local, time.time(), pull, build)
        failing = sorted((step.services[0], step.reason) for step in steps if step.action == FAIL)
        if failing:
            raise ComposeError(failing[0][1])
        building = sorted(n for step in steps if step.action == BUILD_IT for n in step.services)
        if building:
            await self.build(building, build_flags)
            local.update(await local_images(self.client, [s.image for s in steps if s.action == BUILD_IT]))
        if self.dry_run and any(step.action in (PULL, BUILD_IT) for step in steps):
            from compose.dry_run import PREFIX
            from compose.scheduler import DONE, ProgressEvent

            if any(step.action == PULL for step in steps):
                with self.display("Pulling") as display:  # what a real run would pull, pulled by none
                    for step in steps:
                        if step.action == PULL:
                            display.event(ProgressEvent(f"{PREFIX}{step.services[0]}", "Pulled", DONE, 0.0))
            return {name: getattr(local.get(step.image), "id", step.image) for step in steps for name in step.services}
        if any(step.action == PULL for step in steps):
            with self.display("Pulling") as display:
                report = await run_pulls(self.client, project, steps, display, quiet_pull, self.parallel)
            error = failure(report)
            if error is not None:
                raise error
            local.update(await local_images(self.client, [step.image for step in steps if step.action == PULL]))
        out: dict[str, str] = {}
        for step in steps:
            found = local.get(step.image)
            if found is None:
                raise ComposeError(f'service "{step.services[0]}": no such image: {step.image}')
            out.update({name: found.id for name in step.services})
        return dict(sorted(out.items()))

    async def build(self, services: Iterable[str], flags: BuildFlags | None = None,
                    show_output: bool = True) -> dict[str, str]:
        """Build the services' images (those with a build section), in dependency order; their ids."""
        from compose.build.run import build_all, specs_for
        from compose.build.spec import BuildFlags

        specs = specs_for(self.project, services, flags or BuildFlags())
        if not specs:
            return {}
        if self.dry_run:
            from compose.build.run import build_order, in_order
            from compose.dry_run import PREFIX
            from compose.scheduler import DONE, ProgressEvent

            with self.display("Building") as display:
                for name in in_order(build_order(self.project, specs)):
                    display.event(ProgressEvent(f"{PREFIX}Service {name}", "Built", DONE, 0.0))
            return {}
        with self.display("Building") as display:
            return await build_all(self.client, self.project, specs, display, self.parallel, show_output)

    async def converge(self, options: UpOptions, pull: str | None = None, quiet_pull: bool = False,
                       build: str = "auto", build_flags: BuildFlags | None = None) -> None:
        """Observe, resolve the images, plan and run: what `up` and `create` have in common."""
        from compose.plan import UpFacts, plan_up

        project = self.project
        observed = await self.observe()
        chosen = {s for s in selected_services(project, options.services, options.no_deps)
                  if options.scale.get(s, project.services[s].scale) > 0}
        images = await self.resolve_images(chosen, pull, quiet_pull, build, build_flags)
        facts = UpFacts(images=images, known_services=self.known_services(observed))
        await self.execute(plan_up(project, observed, options, facts))

    async def find_container(self, service: str, index: int = 1) -> ObservedContainer:
        """Running replica `index` of `service` (an unknown service is refused before asking the engine)."""
        if service not in self.project.services:
            raise ComposeError(f"no such service: {service}")
        return replica(await self.observe(), service, index)
