"""The loader pipeline: options and files in, a normalized project out.

per file:  read -> parse -> interpolate -> validate -> canonical -> extends -> include
then:      merge (in file order) -> !reset/!override -> name -> profiles -> normalize -> cycles
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from compose.errors import ComposeFileError
from compose.graph import check_acyclic
from compose.loader.discovery import find_config_files, project_name
from compose.loader.dotenv import project_environment
from compose.loader.files import STDIN, FileReader
from compose.loader.include import apply_include
from compose.loader.marks import MDict
from compose.loader.merge import merge, strip_tags
from compose.loader.normalize import NormalizeContext, normalize
from compose.loader.profiles import all_profiles, apply_profiles
from compose.loader.project_paths import resolve_paths
from compose.loader.textfile import COMPOSE_FILE_LIMIT, read_stream
from compose.model import Project, project_from_doc

# Each nested `include` costs Python stack (a file's load runs inside its includer's): well before the
# recursion limit, a chain this long is an error.
MAX_INCLUDE_DEPTH = 32


@dataclass(frozen=True)
class LoadOptions:
    """What the user said: global CLI flags and the environment."""

    working_dir: Path = field(default_factory=Path.cwd)
    files: tuple[str, ...] = ()
    project_name: str | None = None
    project_directory: str | None = None
    env_files: tuple[str, ...] = ()
    profiles: tuple[str, ...] = ()
    services: tuple[str, ...] = ()
    interpolate: bool = True
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    # `config`'s --no-consistency, --no-normalize, --no-path-resolution, --no-env-resolution turn these off.
    consistency: bool = True
    normalize: bool = True
    resolve_paths: bool = True
    resolve_env: bool = True


@dataclass(frozen=True)
class Loaded:
    """The normalized document (for `config`) and the model built from it."""

    doc: MDict
    project: Project
    environment: Mapping[str, str]
    profiles: tuple[str, ...] = ()  # every profile a service names, active or not (`config --profiles`)


def load_project(opts: LoadOptions) -> Loaded:
    env_files = _env_files(opts)
    disabled = _truthy(opts.environ.get("COMPOSE_DISABLE_ENV_FILE", ""))
    first_dir = _absolute(opts.working_dir, opts.project_directory) if opts.project_directory else opts.working_dir
    # .env may itself set COMPOSE_FILE, COMPOSE_PROFILES or COMPOSE_PROJECT_NAME.
    early_env = project_environment(first_dir, env_files, opts.environ, disabled)
    found = find_config_files(opts.working_dir, opts.files, opts.project_directory, early_env)
    env = early_env if found.project_dir == first_dir else project_environment(
        found.project_dir, env_files, opts.environ, disabled
    )
    doc = _load_merged(list(found.files), found.project_dir, env, opts, include_stack=())
    name = project_name(opts.project_name, env, _str_or_none(doc.get("name")), found.project_dir, doc.mark_of("name"))
    profiles = opts.profiles or tuple(p for p in env.get("COMPOSE_PROFILES", "").split(",") if p)
    named_profiles = tuple(all_profiles(doc))
    doc = apply_profiles(doc, set(profiles), list(opts.services), check=opts.consistency)
    raw = doc
    doc = normalize(doc, NormalizeContext(name, found.project_dir, env, consistency=opts.consistency,
                                          resolve_paths=opts.resolve_paths, resolve_env=opts.resolve_env))
    if opts.consistency:
        check_acyclic(doc)
    files = tuple(f for f in found.files)
    project = project_from_doc(doc, found.project_dir, files, tuple(profiles), env)
    if not opts.normalize:  # shown as merged, before compose's defaults, names and implicit dependencies
        doc = resolve_paths(raw, found.project_dir) if opts.resolve_paths else raw
    return Loaded(doc, project, env, named_profiles)


def _load_merged(
    files: Sequence[str],
    project_dir: Path,
    env: Mapping[str, str],
    opts: LoadOptions,
    include_stack: tuple[str, ...],
) -> MDict:
    reader = FileReader(env, opts.working_dir, opts.interpolate, _stdin_reader)
    merged: MDict | None = None
    for path in files:
        doc = reader.read(path)
        base = project_dir if path == STDIN else Path(path).parent
        key = path if path == STDIN else os.path.realpath(path)
        if key in include_stack:
            cycle = " -> ".join([*include_stack, key])
            raise ComposeFileError(f"include cycle: {cycle}", doc.mark_of("include"))
        if doc.get("include") and len(include_stack) >= MAX_INCLUDE_DEPTH:
            raise ComposeFileError(f"includes nested more than {MAX_INCLUDE_DEPTH} files deep", doc.mark_of("include"),
                                   "include")

        def load_included(paths: list[Path], sub_dir: Path, sub_env_files: list[Path],
                          stack: tuple[str, ...] = (*include_stack, key)) -> MDict:
            sub_env = project_environment(sub_dir, sub_env_files or None, opts.environ, False)
            sub = _load_merged([str(p) for p in paths], sub_dir, sub_env, opts, stack)
            return resolve_paths(sub, sub_dir)

        doc = apply_include(doc, base, load_included)
        merged = doc if merged is None else merge(merged, doc)
    assert merged is not None  # discovery never yields an empty list
    return strip_tags(merged)


def _stdin_reader() -> str:
    stream = getattr(sys.stdin, "buffer", None)
    if stream is None:  # a text stream put in place of stdin (tests)
        return sys.stdin.read(COMPOSE_FILE_LIMIT + 1)
    return read_stream(stream, "<stdin>", "compose file", COMPOSE_FILE_LIMIT)


def _env_files(opts: LoadOptions) -> list[Path] | None:
    names = list(opts.env_files)
    if not names and opts.environ.get("COMPOSE_ENV_FILES"):
        names = [n for n in opts.environ["COMPOSE_ENV_FILES"].split(",") if n]
    return [_absolute(opts.working_dir, n) for n in names] or None


def _absolute(base: Path, name: str) -> Path:
    path = Path(name).expanduser()
    return path if path.is_absolute() else (base / path).resolve()


def _truthy(value: str) -> bool:
    return value.lower() in ("1", "true", "yes", "on")


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
