"""A service's final environment and labels: bare keys resolved, env/label files read in.

As compose-go does it: a bare `KEY` in `environment` takes the project
environment's value (or stays null); `build.args` drop a bare key nobody sets;
each `env_file` is read in order (a missing optional one is skipped), looking
names up in the project environment first, then in the service's own
`environment`; `environment` then wins over the files, and `env_file` is
dropped. `label_file` works the same way for labels (files must exist).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from compose.errors import ComposeFileError, Mark, format_path
from compose.loader.dotenv import read_env_file
from compose.loader.marks import MDict, MList
from compose.loader.walk import mdict, place


def _read(path: str, lookup: Callable[[str], str | None], where: Mark | None = None,
          key: str | None = None) -> dict[str, str]:
    try:
        return read_env_file(Path(path), lookup)
    except ComposeFileError as exc:
        if exc.mark is not None:  # a problem inside the file, placed there
            raise
        raise ComposeFileError(exc.message, where, key) from None  # placed where the compose file names it


def _resolved(env: Any, project_env: Mapping[str, str], keep_missing: bool) -> Any:
    if not isinstance(env, MDict):
        return env
    out = env.derive({})
    for key, value in env.items():
        if value is None and key in project_env:
            value = project_env[key]
        elif value is None and not keep_missing:
            continue
        out[key] = value
    return out


def _entry_mark(files: Any, index: int, fallback: Mark | None) -> Mark | None:
    return files.mark_of(index) if isinstance(files, MList) else fallback


def _own_over_files(from_files: dict[str, str], files_mark: Mark | None, own: MDict) -> MDict:
    """What the files say, then the service's own values on top, each keeping its position."""
    merged = mdict(from_files, files_mark)
    for key, value in own.items():
        merged[key] = value
        key_mark = own.mark_of(key)
        if key_mark is not None:
            merged.key_marks[key] = key_mark
    return merged


def _env_files(name: str, service: MDict, project_env: Mapping[str, str]) -> MDict:
    environment = service.get("environment")
    own = environment if isinstance(environment, MDict) else mdict({}, service.mark_of("environment"))
    files = service.get("env_file") or []
    from_files: dict[str, str] = {}

    def lookup(key: str) -> str | None:
        if key in project_env:
            return project_env[key]
        value = own.get(key)
        return value if isinstance(value, str) else from_files.get(key)

    for index, entry in enumerate(files):
        where = _entry_mark(files, index, service.mark_of("env_file"))
        path = entry.get("path") if isinstance(entry, Mapping) else entry
        required = entry.get("required", True) if isinstance(entry, Mapping) else True
        if not isinstance(path, str):
            continue
        if not Path(path).exists():
            if required:
                raise ComposeFileError(f"env file {path} not found", where,
                                       format_path(("services", name, "env_file", index)))
            continue
        from_files.update(_read(path, lookup, where, format_path(("services", name, "env_file", index))))
    return _own_over_files(from_files, service.mark_of("env_file"), own)


def _label_files(name: str, service: MDict) -> MDict:
    labels = service.get("labels")
    own = labels if isinstance(labels, MDict) else mdict({}, service.mark_of("labels"))
    files = service.get("label_file") or []
    from_files: dict[str, str] = {}
    for index, path in enumerate(files):
        where = _entry_mark(files, index, service.mark_of("label_file"))
        if not isinstance(path, str):
            continue
        if not Path(path).exists():
            raise ComposeFileError(f"label file {path} not found", where,
                                   format_path(("services", name, "label_file", index)))
        from_files.update(_read(path, from_files.get, where, format_path(("services", name, "label_file", index))))
    return _own_over_files(from_files, service.mark_of("label_file"), own)


def resolve_service_env(name: str, service: MDict, project_env: Mapping[str, str]) -> MDict:
    """`service` with its environment, build args and labels final; env_file/label_file gone."""
    out = service.derive(service)
    build = out.get("build")
    if isinstance(build, MDict) and "args" in build:
        out["build"] = build.derive(build)
        out["build"]["args"] = _resolved(build["args"], project_env, keep_missing=False)
    if "environment" in out:
        out["environment"] = _resolved(out["environment"], project_env, keep_missing=True)
    if out.get("env_file"):
        out["environment"] = _env_files(name, out, project_env)
        place(out, "environment", out.mark_of("env_file"))
    out.pop("env_file", None)
    if out.get("label_file"):
        out["labels"] = _label_files(name, out)
        place(out, "labels", out.mark_of("label_file"))
    out.pop("label_file", None)
    return out
