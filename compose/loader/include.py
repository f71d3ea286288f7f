"""`include:`: other compose applications loaded on their own and merged in.

Each included application has its own project folder and .env; its relative
paths resolve against that folder. A resource it brings may not clash with
one the including file defines differently.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from compose.errors import ComposeFileError, format_path
from compose.loader.marks import MDict, MList, plain

SECTIONS = ("services", "networks", "volumes", "secrets", "configs")

# (paths, project_dir, env_files) -> the included application's merged document, paths absolute.
LoadIncluded = Callable[[list[Path], Path, list[Path]], MDict]


def apply_include(doc: MDict, base: Path, load: LoadIncluded) -> MDict:
    """`doc` with the resources of every `include` entry merged in, `include` removed."""
    entries = doc.get("include")
    if not entries:
        return _without(doc, "include")
    out = _without(doc, "include")
    for index, entry in enumerate(entries):
        mark = entries.mark_of(index) if isinstance(entries, MList) else doc.mark_of("include")
        if not isinstance(entry, str) and not entry.get("path"):
            raise ComposeFileError("an include entry needs a path", mark, format_path(("include", index)))
        paths, project_dir, env_files = _entry(entry, base)
        for path in paths:
            if not path.is_file():
                raise ComposeFileError(f"included file not found: {path}", mark, format_path(("include", index)))
        included = load(paths, project_dir, env_files)
        for section in SECTIONS:
            theirs = included.get(section)
            if not isinstance(theirs, Mapping) or not theirs:
                continue
            ours = out.get(section)
            merged = ours.derive(ours) if isinstance(ours, MDict) else MDict(mark=mark)
            for key, value in theirs.items():
                if key in merged and plain(merged[key]) != plain(value):
                    raise ComposeFileError(
                        f"{section[:-1]} {key!r} from included {paths[0]} conflicts with a definition "
                        "of the same name",
                        mark,
                        format_path(("include", index)),
                    )
                merged[key] = value
                if mark:
                    merged.key_marks.setdefault(key, mark)
            out[section] = merged
            if mark:
                out.key_marks.setdefault(section, mark)
    return out


def _entry(entry: Any, base: Path) -> tuple[list[Path], Path, list[Path]]:
    if isinstance(entry, str):
        path = _under(base, entry)
        return [path], path.parent, []
    raw_paths = entry["path"]
    paths = [_under(base, p) for p in ([raw_paths] if isinstance(raw_paths, str) else raw_paths)]
    project_dir = _under(base, entry["project_directory"]) if entry.get("project_directory") else paths[0].parent
    env = entry.get("env_file") or []
    env_files = [_under(base, e) for e in ([env] if isinstance(env, str) else env)]
    return paths, project_dir, env_files


def _under(base: Path, name: str) -> Path:
    path = Path(name).expanduser()
    return path if path.is_absolute() else (base / path).resolve()


def _without(doc: MDict, key: str) -> MDict:
    return doc.derive((k, v) for k, v in doc.items() if k != key)
