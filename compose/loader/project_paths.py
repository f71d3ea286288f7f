"""Relative paths of a merged project made absolute, by compose-go's `paths` rules.

Which attributes are paths, and how each is resolved: build contexts that are
URLs (`https://`, `git@`, `github.com/`, `docker-image://`...) or `service:`
references stay as written; `~` means $HOME; relative paths join the project
directory and are cleaned; absolute ones are kept as written.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from compose.errors import Mark
from compose.loader.marks import MDict
from compose.loader.volumes_syntax import go_clean
from compose.loader.walk import DocPath, Pattern, Rule, Rules, fail, walk

_REMOTE_CONTEXT = ("https://", "http://", "git://", "ssh://", "github.com/", "git@")
_WINDOWS_ABS = re.compile(r"^(?:[a-zA-Z]:[\\/]|\\\\)")


def expand_user(path: str) -> str:
    """compose's ExpandUser: a leading `~` is $HOME, whatever follows (`~x` is `$HOME/x`)."""
    if not path.startswith("~"):
        return path
    return go_clean(os.path.expanduser("~") + "/" + path[1:])


def abs_path(base: Path, value: str) -> str:
    value = expand_user(value)
    if not value or value.startswith("/"):
        return value
    return go_clean(f"{base}/{value}")


def _maybe_unix(base: Path, value: str) -> str:
    value = expand_user(value)
    if value.startswith("/") or _WINDOWS_ABS.match(value):
        return value
    return go_clean(f"{base}/{value}")


def is_remote_context(value: str) -> bool:
    return "://" in value or value.startswith("service:") or value.startswith(_REMOTE_CONTEXT)


def resolve_paths(doc: MDict, project_dir: Path) -> MDict:
    """`doc` with every file path attribute absolute against `project_dir`."""
    result = walk(doc, _rules(project_dir))
    assert isinstance(result, MDict)
    return result


def _rules(base: Path) -> Rules:
    def context(value: Any, path: DocPath, mark: Mark | None) -> Any:
        if not isinstance(value, str) or is_remote_context(value):
            return value
        return abs_path(base, value)

    def plain(value: Any, path: DocPath, mark: Mark | None) -> Any:
        return abs_path(base, value) if isinstance(value, str) else value

    def unix(value: Any, path: DocPath, mark: Mark | None) -> Any:
        return _maybe_unix(base, value) if isinstance(value, str) else value

    def symlink(value: Any, path: DocPath, mark: Mark | None) -> Any:
        if not isinstance(value, str):
            return value
        resolved = abs_path(base, value)
        return os.path.realpath(resolved) if os.path.islink(resolved) else resolved

    def mount(value: Any, path: DocPath, mark: Mark | None) -> Any:
        if not isinstance(value, MDict) or value.get("type") != "bind":
            return value
        if not isinstance(value.get("source"), str):
            raise fail('invalid mount config for type "bind": field Source must not be empty', path, mark)
        out = value.derive(value)
        out["source"] = _maybe_unix(base, value["source"])
        return out

    def local_volume(value: Any, path: DocPath, mark: Mark | None) -> Any:
        if not isinstance(value, MDict) or value.get("driver") != "local":
            return value
        opts = value.get("driver_opts")
        if not isinstance(opts, MDict) or opts.get("o") != "bind" or not isinstance(opts.get("device"), str):
            return value
        out = value.derive(value)
        out["driver_opts"] = opts.derive(opts)
        out["driver_opts"]["device"] = _maybe_unix(base, opts["device"])
        return out

    svc: Pattern = ("services", "*")
    table: dict[Pattern, Rule] = {
        (*svc, "build", "context"): context,
        (*svc, "build", "additional_contexts", "*"): context,
        (*svc, "build", "ssh", "*"): unix,
        (*svc, "env_file", "*", "path"): plain,
        (*svc, "label_file", "*"): plain,
        (*svc, "develop", "watch", "*", "path"): symlink,
        (*svc, "volumes", "*"): mount,
        ("configs", "*", "file"): unix,
        ("secrets", "*", "file"): unix,
        ("volumes", "*"): local_volume,
    }
    return Rules(table)
