"""Build arguments: what an ARG brings into scope, what the user's `--build-arg`s override, and
which of them the build never consumed (pure).

Global ARGs (before the first FROM) serve FROM lines; inside a stage they need a bare `ARG X`.
The predefined proxy args (HTTP_PROXY & co., both cases) are in scope without an ARG, reach RUN
steps' environment, and stay out of the history and the cache key unless declared. The
platform args (TARGETPLATFORM, BUILDPLATFORM and friends) are automatic global ARGs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from runtime.images import oci

PROXY_ARGS = frozenset(n for name in ("HTTP_PROXY", "HTTPS_PROXY", "FTP_PROXY", "NO_PROXY", "ALL_PROXY")
                       for n in (name, name.lower()))

Expand = Callable[[str, Mapping[str, str]], str]


def platform_args(target: str = "") -> dict[str, str]:
    """TARGETPLATFORM/OS/ARCH/VARIANT and BUILDPLATFORM/… for `--platform` (default: the host)."""
    host = oci.host_platform()
    build = {"OS": host.os, "ARCH": host.architecture, "VARIANT": host.variant or ""}
    want = dict(build)
    if target:
        parts = target.split("/")
        want = {"OS": parts[0], "ARCH": parts[1] if len(parts) > 1 else host.architecture,
                "VARIANT": parts[2] if len(parts) > 2 else ""}
    out: dict[str, str] = {}
    for prefix, values in (("BUILD", build), ("TARGET", want)):
        platform = f"{values['OS']}/{values['ARCH']}" + (f"/{values['VARIANT']}" if values["VARIANT"] else "")
        out[prefix + "PLATFORM"] = platform
        for key, value in values.items():
            out[prefix + key] = value
    return out


@dataclass
class BuildArgs:
    """The user's build args and what the build declared of them (one per build)."""

    given: Mapping[str, str | None]
    automatic: Mapping[str, str] = field(default_factory=dict)
    declared: set[str] = field(default_factory=set)
    globals: dict[str, str] = field(default_factory=dict)

    def declare_globals(self, pairs: Iterable[tuple[str, str | None]], expand: Expand) -> None:
        env = dict(self.automatic)
        for name, default in pairs:
            self.declared.add(name)
            value = self.given.get(name)
            if value is None:
                value = expand(default, env) if default is not None else env.get(name)
            if value is not None:
                env[name] = value
                self.globals[name] = value
            elif name in self.globals:
                del self.globals[name]

    def for_from(self) -> dict[str, str]:
        """What a FROM line's words expand with."""
        return {**self.automatic, **self.globals}

    def unused(self) -> list[str]:
        return sorted(n for n in self.given if n not in self.declared and n not in PROXY_ARGS)


@dataclass
class StageArgs:
    """The ARGs in scope in one stage, in declaration order."""

    build: BuildArgs
    values: dict[str, str] = field(default_factory=dict)
    names: list[str] = field(default_factory=list)  # declared in the stage, in order

    def declare(self, name: str, default: str | None, env: Mapping[str, str], expand: Expand) -> None:
        self.build.declared.add(name)
        if name not in self.names:
            self.names.append(name)
        value = self.build.given.get(name)
        if value is None:
            if default is not None:
                value = expand(default, env)
            elif name in self.build.globals:
                value = self.build.globals[name]
            elif name in self.build.automatic:
                value = self.build.automatic[name]
        if value is None:
            self.values.pop(name, None)
        else:
            self.values[name] = value

    def expansion_env(self, config_env: Iterable[str]) -> dict[str, str]:
        """The variables a builder-expanded word sees: ARGs, then ENV over them."""
        env = dict(self.values)
        for item in config_env:
            key, _, value = item.partition("=")
            env[key] = value
        return env

    def for_run(self, config_env: Iterable[str]) -> tuple[dict[str, str], dict[str, str]]:
        """(args for a RUN's environment, args for its history and cache key): the declared ARGs
        not overridden by an ENV, plus given proxy args (environment only unless declared)."""
        overridden = {item.partition("=")[0] for item in config_env}
        keyed = {k: v for k, v in self.values.items() if k not in overridden}
        env = dict(keyed)
        for name in PROXY_ARGS:
            value = self.build.given.get(name)
            if value is not None and name not in overridden and name not in env:
                env[name] = value
        return env, keyed
