"""Which images to pull: the one place that reads `pull_policy` and `--pull`/`--policy`.

Pure functions over the project and what the engine has (`LocalImage` per
reference). Policies as compose-go's `GetPullPolicy`: `always`, `never`,
`missing` (and `if_not_present`, its old name), `build`, and the refresh
ones — `daily`, `weekly`, `every_<duration>` (`every_12h`, `every_1w2d`) —
that pull when the local image was last tagged longer ago than the period.
"Last tagged" is the image's `Metadata.LastTagTime`, which Docker Compose
reads too and which the engine sets whenever a tag is put on an image (a
pull, a load, `image tag`); an image without one (zero time) counts as
stale, as Docker Compose counts it. Anything else (`refresh` alone) is
`missing`. `--pull` on `up`/`create`/`run` replaces every service's policy.

A service with a build section is built (never pulled) when its image is
missing, when its policy is `build`, or on `--build`; `--no-build` never
builds, so a missing image is then an error. With `image:` named too and a
policy that pulls (`always`, a refresh), the image is pulled instead.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from compose.errors import ComposeError
from compose.model import Project

ALWAYS, NEVER, MISSING, BUILD, REFRESH = "always", "never", "missing", "build", "refresh"
PULL, USE, FAIL, BUILD_IT = "pull", "use", "fail", "build"  # what `up` does with an image
AUTO, FORCE, NO_BUILD = "auto", "force", "never"  # build modes: as policy says, `--build`, `--no-build`
_PERIODS = {"daily": 86400.0, "weekly": 7 * 86400.0}
_UNIT = {"w": 7 * 86400, "d": 86400, "h": 3600, "m": 60, "s": 1}
_DURATION = re.compile(r"([0-9]+)([wdhms])")


@dataclass(frozen=True)
class PullPolicy:
    name: str  # always, never, missing, build, refresh
    every: float = 0.0  # seconds, for refresh


@dataclass(frozen=True)
class LocalImage:
    id: str
    last_tag_time: float | None  # epoch seconds; None when the engine never tagged it


@dataclass(frozen=True)
class ImageStep:
    """What to do about one image that services run."""

    image: str
    services: tuple[str, ...]
    action: str  # pull, use, fail (up); pull or use (pull command: use = skipped)
    reason: str = ""  # why it fails, or why the pull command skips it


def parse_duration(text: str) -> float:
    """compose-go's every_ durations: `1w2d`, `12h30m`, `90s`."""
    if not text or _DURATION.sub("", text):
        raise ComposeError(f"invalid pull policy duration {text!r}")
    return float(sum(int(n) * _UNIT[u] for n, u in _DURATION.findall(text)))


def parse_policy(value: str | None, default: str = MISSING) -> PullPolicy:
    value = value or default
    if value in (ALWAYS, NEVER, MISSING, BUILD):
        return PullPolicy(value)
    if value == "if_not_present":
        return PullPolicy(MISSING)
    if value in _PERIODS:
        return PullPolicy(REFRESH, _PERIODS[value])
    if value.startswith("every_"):
        return PullPolicy(REFRESH, parse_duration(value[len("every_"):]))
    return PullPolicy(MISSING)


def service_policy(project: Project, service: str, override: str | None = None) -> PullPolicy:
    return parse_policy(override or project.services[service].config.get("pull_policy"))


def must_pull(policy: PullPolicy, local: LocalImage | None, now: float) -> bool:
    """Docker Compose's mustPull for a service that names an image."""
    if policy.name == ALWAYS:
        return True
    if policy.name in (NEVER, BUILD):
        return False
    if policy.name == REFRESH:
        return local is None or not local.last_tag_time or now >= local.last_tag_time + policy.every
    return local is None


def image_of(project: Project, service: str) -> str:
    svc = project.services[service]
    return svc.image or f"{project.name}-{service}"


def _by_image(project: Project, services: Iterable[str]) -> dict[str, list[str]]:
    refs: dict[str, list[str]] = {}
    for name in sorted(services):
        refs.setdefault(image_of(project, name), []).append(name)
    return refs


def up_steps(project: Project, services: Iterable[str], local: Mapping[str, LocalImage | None], now: float,
             override: str | None = None, build: str = AUTO) -> tuple[ImageStep, ...]:
    """For `up`, `create` and `run`: pull, build, use what is there, or fail saying why (one step per image)."""
    steps = []
    for ref, names in _by_image(project, services).items():
        steps.append(_up_step(project, ref, tuple(names), local.get(ref), now, override, build))
    return tuple(steps)


def _up_step(project: Project, ref: str, names: tuple[str, ...], have: LocalImage | None, now: float,
             override: str | None, build: str) -> ImageStep:
    policies = {name: service_policy(project, name, override) for name in names}
    builders = [name for name in names if project.services[name].build is not None]
    for name in names:
        if policies[name].name == BUILD and name not in builders:
            return ImageStep(ref, names, FAIL, f'service "{name}": pull policy "build" needs a build section')
    first = names[0]
    svc = project.services[first]
    if builders and build != NO_BUILD:
        if build == FORCE or any(policies[n].name == BUILD for n in names):
            return ImageStep(ref, names, BUILD_IT)
        if svc.image is not None and any(policies[n].name in (ALWAYS, REFRESH) for n in names) \
                and any(must_pull(policies[n], have, now) for n in names):
            return ImageStep(ref, names, PULL)
        return ImageStep(ref, names, USE if have is not None else BUILD_IT)
    if svc.image is None or builders:  # built from its build section, never pulled (Docker Compose's rule)
        if have is not None:
            return ImageStep(ref, names, USE)
        return ImageStep(ref, names, FAIL, f'service "{first}": no such image: {ref} (it is built from its build '
                         "section, and --no-build forbids building it)")
    if any(must_pull(policies[name], have, now) for name in names):
        return ImageStep(ref, names, PULL)
    if have is None:
        return ImageStep(ref, names, FAIL, f'service "{first}": no such image: {ref} (pull policy "never")')
    return ImageStep(ref, names, USE)


def pull_steps(project: Project, services: Iterable[str], local: Mapping[str, LocalImage | None],
               policy: str | None = None) -> tuple[ImageStep, ...]:
    """For `pycompose pull`: what Docker Compose pulls and what it skips (and the words it says)."""
    steps = []
    for ref, names in _by_image(project, services).items():
        first = project.services[names[0]]
        if first.image is None:
            steps.append(ImageStep(ref, tuple(names), USE, "No image to be pulled"))
            continue
        wanted = [parse_policy(policy or project.services[n].config.get("pull_policy"), ALWAYS) for n in names]
        if all(p.name in (NEVER, BUILD) for p in wanted):
            steps.append(ImageStep(ref, tuple(names), USE, ""))
        elif all(p.name == MISSING for p in wanted) and local.get(ref) is not None:
            steps.append(ImageStep(ref, tuple(names), USE, "Image is already present locally"))
        else:
            steps.append(ImageStep(ref, tuple(names), PULL))
    return tuple(steps)
