"""Build a project's services: in dependency order, independent ones at once, a progress line each.

A service is built after those it depends on (`depends_on`) and after any
built service whose image its Dockerfile names in a `FROM` (one service
built from another's image) or its `additional_contexts` name (`service:x`). Services that share an image name are built
once, shown under the first. The first failure stops the others and is the
command's one-line error. Credentials for the registries a Dockerfile's
FROMs (and `docker-image://` additional contexts) name go in
`X-Registry-Config`, as the docker CLI sends them.
"""

from __future__ import annotations

import base64
import json
import math
import os
import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

import anyio

from compose.build.extension import IMAGE
from compose.build.spec import BuildFlags, BuildSpec, build_spec
from compose.build.stream import BuildError, Built, run_build
from compose.errors import ComposeError
from compose.model import Project

if TYPE_CHECKING:
    from compose.client import EngineClient
    from compose.progress import Progress

_FROM = re.compile(r"^\s*FROM\s+(?:--\S+\s+)*(\S+)", re.IGNORECASE | re.MULTILINE)


def from_images(spec: BuildSpec) -> set[str]:
    """The images a Dockerfile's FROM lines name (stage names and `${…}` forms included, harmlessly)."""
    if spec.inline is not None:
        text = spec.inline
    else:
        try:
            text = spec.dockerfile.read_text(errors="replace") if spec.dockerfile else ""
        except OSError:
            return set()
    return set(_FROM.findall(text))


def images_named(spec: BuildSpec) -> set[str]:
    """The FROMs' images and the `docker-image://` additional contexts'."""
    return from_images(spec) | {v[len(IMAGE):] for v in spec.named_contexts.values() if v.startswith(IMAGE)}


def _tagged(ref: str) -> str:
    return ref if ":" in ref.rsplit("/", 1)[-1] or "@" in ref else ref + ":latest"


def _same(a: str, b: str) -> bool:
    """`web` and `web:latest` are one image."""
    return _tagged(a) == _tagged(b)


def build_order(project: Project, specs: Mapping[str, BuildSpec]) -> dict[str, set[str]]:
    """For each service built, the built services it must wait for."""
    from compose.graph import ancestors
    from compose.plan.common import service_graph

    graph = service_graph(project)
    out: dict[str, set[str]] = {}
    for name, spec in specs.items():
        before = {a for a in ancestors(graph, name) if a in specs}
        froms = images_named(spec)
        before |= {other for other, o in specs.items() if other != name
                   and any(_same(ref, tag) for ref in froms for tag in o.names)}
        out[name] = before - {name}
    return out


def in_order(order: Mapping[str, set[str]]) -> list[str]:
    """The services of `build_order` with each after those it waits for (ties by name)."""
    done: list[str] = []
    left = dict(order)
    while left:
        ready = sorted(n for n, before in left.items() if before <= set(done)) or sorted(left)[:1]
        done += ready
        for name in ready:
            del left[name]
    return done


def registry_config(spec: BuildSpec, environ: Mapping[str, str]) -> dict[str, str]:
    """`X-Registry-Config`: the credentials of the registries the FROMs name, base64url JSON by server."""
    from compose.registry.credentials import CredentialStore

    store = CredentialStore.from_environ(environ)
    config: dict[str, dict[str, str]] = {}
    for image in sorted(images_named(spec)):
        if "$" in image or image == "scratch":
            continue
        try:
            creds = store.for_image(image)
        except ComposeError:
            continue
        if creds.username or creds.identity_token:
            entry = {"serveraddress": creds.server, "username": creds.username or "", "password": creds.password or ""}
            if creds.identity_token:
                entry["identitytoken"] = creds.identity_token
            config[creds.server] = entry
    if not config:
        return {}
    return {"X-Registry-Config": base64.urlsafe_b64encode(json.dumps(config).encode()).decode()}


def specs_for(project: Project, services: Iterable[str], flags: BuildFlags) -> dict[str, BuildSpec]:
    """The builds of the services with a build section, one per image name (under its first service)."""
    from compose.build.spec import proxy_args
    from compose.registry.config_file import config_dir, read_config

    proxies = proxy_args(read_config(config_dir(os.environ)))
    out: dict[str, BuildSpec] = {}
    seen: set[str] = set()
    for name in sorted(services):
        if project.services[name].build is None:
            continue
        spec = build_spec(project, name, flags, proxies=proxies)
        if spec.image not in seen:
            seen.add(spec.image)
            out[name] = spec
    return out


async def build_all(client: EngineClient, project: Project, specs: Mapping[str, BuildSpec], display: Progress,
                    parallel: int = -1, show_output: bool = True) -> dict[str, str]:
    """Build every spec; the image id of each service built (sharers of an image included)."""
    from compose.scheduler import DONE, ERROR, WORKING, ProgressEvent

    order = build_order(project, specs)
    finished = {name: anyio.Event() for name in specs}
    limiter = anyio.CapacityLimiter(parallel if parallel > 0 else math.inf)
    built: dict[str, Built] = {}
    errors: list[BuildError] = []

    async def one(name: str, spec: BuildSpec) -> None:
        for before in sorted(order[name]):
            await finished[before].wait()
            if before not in built:
                finished[name].set()
                return
        resource = f"Service {name}"
        async with limiter:
            began = anyio.current_time()
            display.event(ProgressEvent(resource, "Building", WORKING))

            def line(text: str) -> None:
                if show_output:
                    display.event(ProgressEvent(resource, text, WORKING))

            try:
                built[name] = await run_build(client, spec, line, registry_config(spec, os.environ))
            except BuildError as exc:
                display.event(ProgressEvent(resource, "Error", ERROR, anyio.current_time() - began))  # the line: once
                errors.append(exc)
                tasks.cancel_scope.cancel()
            else:
                display.event(ProgressEvent(resource, "Built", DONE, anyio.current_time() - began))
            finally:
                finished[name].set()

    async with anyio.create_task_group() as tasks:
        for name, spec in specs.items():
            tasks.start_soon(one, name, spec)
    if errors:
        raise errors[0]
    out: dict[str, str] = {}
    for name, spec in specs.items():
        for other, svc in project.services.items():
            if svc.build is not None and (svc.image or f"{project.name}-{other}") == spec.image:
                out[other] = built[name].image_id
    return dict(sorted(out.items()))
