"""What to build for a service: its `build:` section and the command's flags as one typed `BuildSpec`.

Pure. The image is `<project>-<service>` unless `image:` names it; `tags`
are more names for the same build. A git URL context is kept as `remote`
(remote.py clones it when the build runs); another URL is refused, as are
`ssh`, the other BuildKit-only keys when set (`entitlements`, `privileged`,
`cache_to`, `no_cache_filter`, `provenance`, `sbom`) and more than one
platform are refused in one line: the classic builder protocol (`POST
/build`) has no way to carry them. `secrets` and `additional_contexts` go
through our engine's extension of it (extension.py), refused on any other.
The image is labelled with the compose version, project and service, as
Docker Compose labels what it builds. `query()` gives the request's query parameters as the docker CLI sends them.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from compose import labels as L
from compose.build.extension import CONTEXTS_PARAM, BuildSecret, contexts_param, parse_secrets, parse_sources
from compose.build.remote import is_git_url
from compose.errors import ComposeError
from compose.model import Project

_REMOTE = re.compile(r"^(git@|git://|github\.com/|[a-z][a-z0-9+.-]*://)", re.IGNORECASE)


@dataclass(frozen=True)
class BuildFlags:
    """The flags of `build`, `up --build`, `run --build`… that change a build."""

    no_cache: bool = False
    pull: bool = False
    quiet: bool = False
    build_args: Mapping[str, str | None] = field(default_factory=dict)  # --build-arg K=V (K alone: from env)
    memory: int = 0  # -m/--memory: bytes a RUN step may use


@dataclass(frozen=True)
class BuildSpec:
    service: str
    image: str  # the name the service runs
    context: Path
    dockerfile: Path | None  # None when inline
    inline: str | None = None
    tags: tuple[str, ...] = ()
    args: Mapping[str, str] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)
    target: str = ""
    network: str = ""
    extra_hosts: tuple[str, ...] = ()
    shm_size: int = 0
    cache_from: tuple[str, ...] = ()
    no_cache: bool = False
    pull: bool = False
    platform: str = ""
    quiet: bool = False
    ulimits: tuple[Mapping[str, Any], ...] = ()  # the API's [{Name, Soft, Hard}]
    remote: str = ""  # a git URL context, cloned when the build runs (context and dockerfile are then set)
    dockerfile_name: str = "Dockerfile"  # as the build section says it, relative to the context
    isolation: str = ""
    memory: int = 0
    secrets: tuple[BuildSecret, ...] = field(default=(), repr=False)  # through our engine's extension only
    named_contexts: Mapping[str, str] = field(default_factory=dict)  # name -> folder | docker-image://ref

    @property
    def extension(self) -> str:
        """What of this build only our engine's extension carries ("" for nothing), for a refusal."""
        return ", ".join(k for k, v in (("secrets", self.secrets), ("additional_contexts", self.named_contexts)) if v)

    @property
    def names(self) -> tuple[str, ...]:
        return (self.image, *[t for t in self.tags if t != self.image])

    def query(self, dockerfile_name: str) -> dict[str, Any]:
        """`POST /build`'s query, as the docker CLI's classic build sends it."""
        params: dict[str, Any] = {"t": list(self.names), "dockerfile": dockerfile_name, "rm": True}
        if self.args:
            params["buildargs"] = json.dumps(dict(self.args), separators=(",", ":"))
        if self.labels:
            params["labels"] = json.dumps(dict(self.labels), separators=(",", ":"))
        if self.target:
            params["target"] = self.target
        if self.network:
            params["networkmode"] = self.network
        if self.extra_hosts:
            params["extrahosts"] = list(self.extra_hosts)
        if self.shm_size:
            params["shmsize"] = self.shm_size
        if self.cache_from:
            params["cachefrom"] = json.dumps(list(self.cache_from), separators=(",", ":"))
        if self.no_cache:
            params["nocache"] = True
        if self.pull:
            params["pull"] = True
        if self.platform:
            params["platform"] = self.platform
        if self.quiet:
            params["q"] = True
        if self.ulimits:
            params["ulimits"] = json.dumps(list(self.ulimits), separators=(",", ":"))
        if self.isolation:
            params["isolation"] = self.isolation
        if self.memory:
            params["memory"] = self.memory
        if self.named_contexts:
            params[CONTEXTS_PARAM] = contexts_param(self.named_contexts)
        return params


def _refuse(service: str, message: str) -> ComposeError:
    return ComposeError(f'service "{service}": build: {message}')


def _strings(mapping: Any) -> dict[str, str]:
    return {str(k): "" if v is None else str(v) for k, v in (mapping or {}).items()}


_PROXIES = (("httpProxy", "HTTP_PROXY"), ("httpsProxy", "HTTPS_PROXY"), ("noProxy", "NO_PROXY"),
            ("ftpProxy", "FTP_PROXY"), ("allProxy", "ALL_PROXY"))


def proxy_args(docker_config: Mapping[str, Any], host: str = "default") -> dict[str, str]:
    """The docker CLI's `proxies` of config.json as build args (both cases), for `host` else `default`."""
    proxies = docker_config.get("proxies") or {}
    chosen = proxies.get(host) or proxies.get("default") or {}
    out: dict[str, str] = {}
    for key, name in _PROXIES:
        if chosen.get(key):
            out[name] = out[name.lower()] = str(chosen[key])
    return out


def _args(service: str, raw: Mapping[str, Any], flags: BuildFlags, environ: Mapping[str, str],
          proxies: Mapping[str, str]) -> dict[str, str]:
    out = dict(proxies)  # the docker CLI's proxy settings never override an argument given
    out.update(_strings(raw.get("args")))
    for key, value in flags.build_args.items():
        if value is None:  # `--build-arg K`: the value from the environment, left out when unset
            if key in environ:
                out[key] = environ[key]
        else:
            out[key] = value
    return out


def _host(entry: str) -> str:
    """`host=ip` (the normalized form) as the API's `host:ip`."""
    name, sep, address = entry.partition("=")
    return f"{name}:{address}" if sep else entry


def _hosts(value: Any) -> tuple[str, ...]:
    if isinstance(value, Mapping):
        return tuple(f"{name}:{address}" for name, addresses in value.items()
                     for address in (addresses if isinstance(addresses, list | tuple) else [addresses]))
    return tuple(_host(str(h)) for h in value or ())


def _ulimits(value: Any) -> tuple[Mapping[str, Any], ...]:
    out = []
    for name, limit in sorted((value or {}).items()):
        soft, hard = (limit.get("soft", 0), limit.get("hard", 0)) if isinstance(limit, Mapping) else (limit, limit)
        out.append({"Name": str(name), "Soft": int(soft), "Hard": int(hard)})
    return tuple(out)


def _size(service: str, value: Any) -> int:
    if value in (None, ""):
        return 0
    try:
        return int(value)
    except (TypeError, ValueError):
        raise _refuse(service, f"invalid shm_size {value!r}") from None


def build_spec(project: Project, service: str, flags: BuildFlags = BuildFlags(),
               environ: Mapping[str, str] | None = None, proxies: Mapping[str, str] | None = None) -> BuildSpec:
    """The build of `service` (which has a build section), or the one-line error why it cannot be built."""
    svc = project.services[service]
    raw = svc.build or {}
    environ = os.environ if environ is None else environ
    context_text = str(raw.get("context") or ".")
    remote = ""
    if _REMOTE.match(context_text):
        if not is_git_url(context_text):
            raise _refuse(service, f"context {context_text!r}: only git URLs and local folders are supported "
                          "(not tarball or Dockerfile URLs)")
        remote = context_text
    for key, why in (("ssh", "ssh forwarding needs BuildKit"), ("entitlements", "entitlements need BuildKit"),
                     ("privileged", "privileged builds need BuildKit"),
                     ("cache_to", "cache export needs BuildKit"), ("no_cache_filter", "no_cache_filter needs BuildKit"),
                     ("provenance", "provenance attestations need BuildKit"),
                     ("sbom", "SBOM attestations need BuildKit")):
        if raw.get(key) not in (None, False, "", "false", [], {}):
            raise _refuse(service, f"{key}: {why}, and the engine speaks the classic builder protocol")
    platforms: Sequence[str] = raw.get("platforms") or ()
    platform = str(svc.config.get("platform") or "")
    if len(platforms) > 1:
        raise _refuse(service, f"platforms: one platform at a time (got {', '.join(platforms)})")
    if platforms and platform and platforms[0] != platform:
        raise _refuse(service, f'platforms: {platforms[0]} does not hold the service\'s platform "{platform}"')
    context = project.working_dir / context_text if not remote else Path()
    if not remote and not context.is_dir():
        raise _refuse(service, f"context {context} is not a folder" if context.exists()
                      else f"context {context}: no such file or directory")
    inline = raw.get("dockerfile_inline")
    name = str(raw.get("dockerfile") or "Dockerfile")
    dockerfile = None if inline is not None or remote else context / name
    if dockerfile is not None and not dockerfile.is_file():
        raise _refuse(service, f"Dockerfile {dockerfile}: no such file or directory")
    image = svc.image or f"{project.name}-{service}"
    return BuildSpec(
        service=service, image=image, context=context, dockerfile=dockerfile, remote=remote, dockerfile_name=name,
        inline=None if inline is None else str(inline),
        tags=tuple(str(t) for t in raw.get("tags") or ()), args=_args(service, raw, flags, environ, proxies or {}),
        labels={**_strings(raw.get("labels")), L.VERSION: L.COMPOSE_VERSION, L.PROJECT: project.name,
                L.SERVICE: service}, target=str(raw.get("target") or ""),
        network=str(raw.get("network") or ""), extra_hosts=_hosts(raw.get("extra_hosts")),
        shm_size=_size(service, raw.get("shm_size")), cache_from=tuple(str(c) for c in raw.get("cache_from") or ()),
        no_cache=flags.no_cache or bool(raw.get("no_cache")), pull=flags.pull or bool(raw.get("pull")),
        platform=str(platforms[0]) if platforms else platform, quiet=flags.quiet,
        ulimits=_ulimits(raw.get("ulimits")), isolation=str(raw.get("isolation") or ""),
        memory=flags.memory,
        secrets=parse_secrets(service, raw.get("secrets"), project.secrets, project.environment),
        named_contexts=parse_sources(service, raw.get("additional_contexts"),
                                     {n: s.image or f"{project.name}-{n}" for n, s in project.services.items()},
                                     project.working_dir),
    )
