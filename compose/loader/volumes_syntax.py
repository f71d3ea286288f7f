"""Short volume syntax `[source:]target[:options]` to compose's long form.

Follows compose-go's `format.ParseVolume`: a source starting with `.`, `/`,
`~`, `\\\\` or a Windows drive is a bind mount (with `create_host_path`, as
docker-compose 1.x did); anything else is a named volume; no source is an
anonymous volume. Colons inside `${...}` and after a drive letter do not split.
Unknown options are ignored, as compose ignores them.
"""

from __future__ import annotations

import posixpath
from typing import Any

_PROPAGATIONS = frozenset({"rprivate", "private", "rshared", "shared", "rslave", "slave"})
_SELINUX = frozenset({"z", "Z"})


def _is_drive(buffer: str, char: str) -> bool:
    return char == ":" and len(buffer) == 1 and buffer.isalpha()


def is_file_path(source: str) -> bool:
    """Whether a short-syntax source names a host path (bind) rather than a volume."""
    if not source:
        return False
    if source[0] in "./~" or source.startswith("\\\\"):
        return True
    return len(source) > 1 and _is_drive(source[0], source[1])


def go_clean(path: str) -> str:
    """Go's `path.Clean` (unlike `normpath`, `//x` becomes `/x` and `""` becomes `.`)."""
    if not path:
        return "."
    cleaned = posixpath.normpath(path)
    if cleaned.startswith("//"):
        cleaned = "/" + cleaned.lstrip("/")
    return cleaned


def _sections(spec: str) -> list[str]:
    sections: list[str] = []
    buffer = ""
    depth = 0  # inside ${...}
    for i, char in enumerate(spec):
        if char == "$" and spec[i + 1: i + 2] == "{":
            depth += 1
        elif char == "}" and depth:
            depth -= 1
        elif char == ":" and depth == 0 and not _is_drive(buffer, char):
            sections.append(buffer)
            buffer = ""
            continue
        buffer += char
    sections.append(buffer)
    return sections


def parse_volume(spec: str) -> dict[str, Any]:
    """The long form of one short volume spec; ValueError with compose's wording if malformed."""
    if not spec:
        raise ValueError("invalid empty volume spec")
    if len(spec) <= 2:
        return {"type": "volume", "target": go_clean(spec)}
    sections = _sections(spec)
    for index, section in enumerate(sections):
        if not section:
            raise ValueError(f"invalid spec: {spec}: empty section between colons")
        if index == 2 and len(sections) > 3:
            raise ValueError(f"invalid spec: {spec}: too many colons")
    source = sections[0] if len(sections) > 1 else ""
    target = sections[1] if len(sections) > 1 else sections[0]
    volume: dict[str, Any] = {}
    bind: dict[str, Any] | None = None
    options: dict[str, Any] | None = None
    read_only = False
    for option in sections[2].split(",") if len(sections) == 3 else ():
        if option == "ro":
            read_only = True
        elif option == "rw":
            read_only = False
        elif option == "nocopy":
            options = {"nocopy": True}
        elif option in _PROPAGATIONS:
            bind = {**(bind or {}), "propagation": option}
        elif option in _SELINUX:
            bind = {**(bind or {}), "selinux": option}
    if is_file_path(source):
        volume["type"] = "bind"
        bind = {**(bind or {}), "create_host_path": True}
    else:
        volume["type"] = "volume"
        options = options if options is not None else {}
    if source:
        volume["source"] = source
    volume["target"] = go_clean(target)
    if read_only:
        volume["read_only"] = True
    if bind is not None:
        volume["bind"] = bind
    if options is not None:
        volume["volume"] = options
    return volume
