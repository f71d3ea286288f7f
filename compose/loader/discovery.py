"""Which compose files make the project, where its folder is, and its name."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from compose.errors import ComposeFileError, Mark, warn

STDIN = "-"
CANDIDATES = ("compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml")
OVERRIDES = (
    "compose.override.yml",
    "compose.override.yaml",
    "docker-compose.override.yml",
    "docker-compose.override.yaml",
)
_NAME_OK = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


@dataclass(frozen=True)
class ConfigFiles:
    """The files to load in order (`-` is stdin) and the project folder."""

    files: tuple[str, ...]
    project_dir: Path


def find_config_files(
    working_dir: Path,
    explicit: Sequence[str],
    project_directory: str | None,
    environ: Mapping[str, str],
) -> ConfigFiles:
    """Apply Docker Compose's rules: `-f`, else COMPOSE_FILE, else a search upwards."""
    names = list(explicit)
    if not names and environ.get("COMPOSE_FILE"):
        sep = environ.get("COMPOSE_PATH_SEPARATOR") or os.pathsep
        names = [n for n in environ["COMPOSE_FILE"].split(sep) if n]
    if names:
        files = tuple(n if n == STDIN else str(_absolute(working_dir, n)) for n in names)
        for f in files:
            if f != STDIN and not Path(f).is_file():
                what = ("is a directory" if Path(f).is_dir() else
                        "not a regular file" if Path(f).exists() else "no such file or directory")
                raise ComposeFileError(f"cannot read compose file {f}: {what}")
        first = next((f for f in files if f != STDIN), None)
        if project_directory:
            base = _absolute(working_dir, project_directory)
        elif first is not None and files[0] != STDIN:
            base = Path(first).parent
        else:
            base = working_dir
        return ConfigFiles(files, base)

    start = _absolute(working_dir, project_directory) if project_directory else working_dir
    found = _search_upwards(start)
    if found is None:
        raise ComposeFileError(
            f"no configuration file provided: none of {', '.join(CANDIDATES)} found in {start} or its parents"
        )
    override = next((found.parent / n for n in OVERRIDES if (found.parent / n).is_file()), None)
    found_files = (str(found),) if override is None else (str(found), str(override))
    base = _absolute(working_dir, project_directory) if project_directory else found.parent
    return ConfigFiles(found_files, base)


def _search_upwards(start: Path) -> Path | None:
    for folder in (start, *start.parents):
        present = [folder / n for n in CANDIDATES if (folder / n).is_file()]
        if present:
            if len(present) > 1:
                warn(
                    f"Found multiple config files with supported names: {', '.join(map(str, present))}; "
                    f"using {present[0]}"
                )
            return present[0]
    return None


def _absolute(base: Path, name: str) -> Path:
    path = Path(os.path.expanduser(name))
    return path if path.is_absolute() else (base / path).resolve()


def normalize_project_name(name: str) -> str:
    """Docker Compose's normalization of a folder name into a project name."""
    return re.sub(r"[^a-z0-9_-]", "", name.lower()).lstrip("_-")


def check_project_name(name: str, source: str, mark: Mark | None = None) -> str:
    """An explicit name must already be normalized."""
    if not _NAME_OK.match(name):
        raise ComposeFileError(
            f"invalid project name {name!r} (from {source}): it must contain only lowercase letters, "
            "digits, '-' and '_', and start with a letter or digit",
            mark,
        )
    return name


def project_name(
    cli_name: str | None,
    environ: Mapping[str, str],
    file_name: str | None,
    project_dir: Path,
    file_mark: Mark | None = None,
) -> str:
    """`-p` > COMPOSE_PROJECT_NAME > top-level `name:` > folder name."""
    if cli_name:
        return check_project_name(cli_name, "-p")
    if environ.get("COMPOSE_PROJECT_NAME"):
        return check_project_name(environ["COMPOSE_PROJECT_NAME"], "COMPOSE_PROJECT_NAME")
    if file_name:
        return check_project_name(file_name, "the top-level name", file_mark)
    derived = normalize_project_name(project_dir.name)
    if not derived:
        raise ComposeFileError(
            f"cannot derive a project name from the folder {project_dir}: set one with -p or `name:`"
        )
    return derived
