"""Extends stage: a service built on another service, in this file or another.

As in compose-go v2 (`loader/extends.go`): `extends: name` or
`extends: {service, file}` takes the base service (itself resolved first, so
chains work across files), lays the local service over it with the same
rules as merging files (`merge.merge_service`), and drops the `extends` key.
Everything is inherited, `depends_on`, `links` and `volumes_from` included;
whether those names exist is checked later, on the whole project.

A base from another file has its relative paths made absolute against that
file's folder, so they keep pointing where its author meant. `!reset` and
`!override` of the local service apply to the base and stay on the result,
so they also apply when this file is later merged over the previous ones.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from compose.errors import ComposeFileError, Mark, format_path
from compose.loader.marks import MDict, MList, mark_of
from compose.loader.merge import merge_service
from compose.loader.project_paths import resolve_paths
from compose.loader.walk import positioned

LoadFile = Callable[[Path], Mapping[str, Any]]

# A build context with one of these prefixes is not a local folder (as buildkit decides).


def apply_extends(doc: Mapping[str, Any], file: Path | str, load_file: LoadFile) -> MDict:
    """`doc` (read from `file`) with every `extends` resolved; `doc` is not changed.

    `load_file(path)` returns another compose file's document, interpolated,
    validated and canonical, with paths still relative to its own folder.
    """
    out = doc.derive(doc.items()) if isinstance(doc, MDict) else MDict(doc)
    services = doc.get("services")
    if not isinstance(services, Mapping):
        return out
    origin = _absolute(str(file))
    resolver = _Resolver(load_file, {origin: doc})
    resolved = _shallow(services)
    for name in services:
        resolved[name] = resolver.resolve(origin, name)
    out["services"] = resolved
    return out


def rebase_service_paths(service: Mapping[str, Any], folder: str) -> MDict:
    """One (canonical) service with its relative paths made absolute against `folder`.

    The same rules as the project's own paths (`project_paths`), applied to a
    service that came from another file's folder.
    """
    wrapper = MDict(services=MDict(service=positioned(service)))
    rebased: MDict = resolve_paths(wrapper, Path(folder))["services"]["service"]
    return rebased


@dataclass(frozen=True)
class _Link:
    """One step of an extends chain: service `name` of `file`, whose `extends` is at `mark`."""

    file: str
    name: str
    mark: Mark | None


class _Resolver:
    """Resolves services one by one, remembering files read and services done."""

    def __init__(self, load_file: LoadFile, docs: dict[str, Mapping[str, Any]]) -> None:
        self.load_file = load_file
        self.docs = docs
        self.done: dict[tuple[str, str], Any] = {}

    def resolve(self, file: str, name: str) -> Any:
        """Service `name` of `file` with its `extends` chain merged in.

        A loop, not recursion: follow the chain down to a service done already or without `extends`,
        then merge back up, so a chain of thousands of services costs no Python stack."""
        pending: list[tuple[_Link, Mapping[str, Any], str]] = []  # (link, service, file of its base)
        seen: dict[tuple[str, str], int] = {}
        while True:
            if (file, name) in self.done:
                base = self.done[(file, name)]
                break
            service = _services(self.docs[file], file)[name]
            if not isinstance(service, Mapping) or "extends" not in service:
                base = service
                break
            here = _Link(file, name, mark_of(service, "extends"))
            if (file, name) in seen:
                links = [link for link, _, _ in pending]
                raise _cycle_error([*links[seen[(file, name)]:], here], links[-1].mark)
            seen[(file, name)] = len(pending)
            ref, ref_file, ref_mark = _target(service["extends"], file, name, here.mark)
            base_file = file
            if ref_file is not None:
                base_file = _absolute(os.path.join(os.path.dirname(file), ref_file))
                self._load(base_file, ref_mark)
            if ref not in _services(self.docs[base_file], base_file):
                where = "" if base_file == file else f" in {ref_file}"
                raise ComposeFileError(f'cannot extend service "{name}": service "{ref}" not found{where}',
                                       ref_mark, format_path(("services", name, "extends")))
            pending.append((here, service, base_file))
            file, name = base_file, ref
        for here, service, base_file in reversed(pending):
            if not isinstance(base, Mapping):
                base = MDict()
            if base_file != here.file:
                base = rebase_service_paths(base, os.path.dirname(base_file))
            own = _shallow(service)
            del own["extends"]
            base = merge_service(base, own, here.name, keep_directives=True)
            self.done[(here.file, here.name)] = base
        return base

    def _load(self, file: str, mark: Mark | None) -> None:
        if file in self.docs:
            return
        try:
            doc = self.load_file(Path(file))
        except OSError as exc:
            raise ComposeFileError(f"cannot read extends file {file}: {exc.strerror or exc}", mark) from None
        except ComposeFileError as exc:
            if exc.mark is not None:
                raise
            raise ComposeFileError(f"cannot extend from {file}: {exc.message}", mark) from None
        if not isinstance(doc, Mapping):
            raise ComposeFileError(f"extends file {file} is not a mapping", mark)
        self.docs[file] = doc


def _services(doc: Mapping[str, Any], file: str) -> Mapping[str, Any]:
    services = doc.get("services")
    if not isinstance(services, Mapping):
        raise ComposeFileError(f"{file} has no services section to extend", mark_of(doc))
    return services


def _target(extends: Any, file: str, name: str, mark: Mark | None) -> tuple[str, str | None, Mark | None]:
    """(service, file or None, position to blame) from an `extends` value."""
    path = format_path(("services", name, "extends"))
    if isinstance(extends, str):
        return extends, None, mark
    if isinstance(extends, Mapping) and isinstance(extends.get("service"), str):
        ref_file = extends.get("file")
        if ref_file is not None and not isinstance(ref_file, str):
            raise ComposeFileError("extends.file must be a string", mark_of(extends, "file"), path)
        return extends["service"], ref_file, mark_of(extends, "service") or mark
    raise ComposeFileError("extends must be a service name or a mapping with a service", mark, path)


def _cycle_error(links: list[_Link], mark: Mark | None) -> ComposeFileError:
    one_file = all(link.file == links[0].file for link in links)
    names = [link.name if one_file else f"{link.name} ({os.path.basename(link.file)})" for link in links]
    if len(names) > 12:  # a generated file's cycle can be thousands long: the line stays a line
        names = [*names[:6], f"... ({len(names) - 9} more)", *names[-3:]]
    first = links[0]
    return ComposeFileError(f"extends cycle: {' -> '.join(names)}", mark,
                            format_path(("services", first.name, "extends")))


# --- copying along a path ----------------------------------------------------

def _absolute(path: str) -> str:
    return os.path.normpath(os.path.abspath(path))




def _shallow(mapping: Mapping[str, Any]) -> MDict:
    return mapping.derive(mapping.items()) if isinstance(mapping, MDict) else MDict(mapping)


def _update(value: Any, key: str, change: Callable[[Any], Any]) -> Any:
    """`value` with `value[key]` changed, copied only if it is a mapping holding `key`."""
    if not isinstance(value, Mapping) or key not in value:
        return value
    out = _shallow(value)
    out[key] = change(value[key])
    return out


def _each(change: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """Apply `change` to each item of a sequence (or to a lone item)."""

    def apply(value: Any) -> Any:
        if isinstance(value, list):
            items = [change(item) for item in value]
            return value.derive(items) if isinstance(value, MList) else MList(items)
        return change(value)

    return apply

