"""A path's symlinks followed inside a root, as the kernel walks a path but never leaving the root:
`..` stops at it, an absolute link target starts again from it.

The root is whatever can say what stands at a path (a host directory, an image's layers, a
container's tree): `link_at(components, more)` gives the target of the symlink at those
components, or None where there is no symlink (`more`: components follow it). A caller that
wants the kernel's strictness raises from `link_at` (FileNotFoundError, NotADirectoryError) and
catches it around `follow`.
"""

from __future__ import annotations

import errno
from collections.abc import Callable, Iterable

MAX_LINKS = 40  # the kernel's limit: ELOOP past it

LinkAt = Callable[[list[str], bool], str | None]


class TooManyLinks(OSError):
    """More than `limit` symlinks on the way; `at` is the path of the one that was too many."""

    def __init__(self, at: str) -> None:
        super().__init__(errno.ELOOP, "too many levels of symbolic links", at)
        self.at = at


def components(path: str) -> list[str]:
    return [p for p in path.split("/") if p not in ("", ".")]


def follow(parts: Iterable[str], link_at: LinkAt, limit: int = MAX_LINKS, *, strict: bool = True) -> list[str]:
    """The components of `parts` (a path's, "" and "." ignored) with every symlink replaced by its
    target. Past `limit` links: TooManyLinks, or, not `strict`, the link is kept as it is."""
    todo = [p for p in parts if p not in ("", ".")]
    done: list[str] = []
    links = 0
    while todo:
        part = todo.pop(0)
        if part == "..":
            if done:
                done.pop()
            continue
        target = link_at([*done, part], bool(todo))
        if target is not None:
            if links < limit:
                links += 1
                if target.startswith("/"):
                    done = []
                todo[:0] = components(target)
                continue
            if strict:
                raise TooManyLinks("/" + "/".join([*done, part]))
        done.append(part)
    return done
