"""`symlinks.follow`: a path's symlinks followed inside a root described by a mapping."""

from __future__ import annotations

import pytest

from runtime.linux import symlinks

TREE = {"bin": "usr/bin", "usr/lib64": "/usr/lib", "up": "../../..", "loop": "loop", "empty": ""}


def link_at(parts: list[str], more: bool) -> str | None:
    return TREE.get("/".join(parts))


@pytest.mark.parametrize(("path", "want"), [
    ("/bin/sh", "usr/bin/sh"),  # a relative target, from the link's directory
    ("/usr/lib64/x", "usr/lib/x"),  # an absolute one starts again from the root
    ("/up/etc", "etc"),  # `..` stops at the root
    ("/./a//b/../c/", "a/c"),
    ("/empty/x", "x"),  # an empty target drops the component
    ("", ""),
])
def test_follow(path: str, want: str) -> None:
    assert "/".join(symlinks.follow(path.split("/"), link_at)) == want


def test_too_many_links() -> None:
    with pytest.raises(symlinks.TooManyLinks) as raised:
        symlinks.follow(["loop", "y"], link_at)
    assert raised.value.at == "/loop"
    assert symlinks.follow(["loop", "y"], link_at, 3, strict=False) == ["loop", "y"]  # kept as it is


def test_strict_callers_raise_from_link_at() -> None:
    def strict(parts: list[str], more: bool) -> str | None:
        if parts[-1] == "absent":
            raise FileNotFoundError("/".join(parts))
        return None

    with pytest.raises(FileNotFoundError):
        symlinks.follow(["absent", "..", "etc"], strict)
