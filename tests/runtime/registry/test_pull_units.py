"""Pure pieces of pull and login: fromImage + tag as dockerd combines them, login server names."""

from __future__ import annotations

import pytest

from runtime.images import ImageInvalid
from runtime.registry.login import login_domain
from runtime.registry.pull import target

DIGEST = "sha256:" + "d" * 64


@pytest.mark.parametrize(("image", "tag", "want"), [
    ("busybox", "", "docker.io/library/busybox:latest"),
    ("busybox", "1.36", "docker.io/library/busybox:1.36"),
    ("busybox:1.36", "", "docker.io/library/busybox:1.36"),
    ("127.0.0.1:5000/a/b", "v1", "127.0.0.1:5000/a/b:v1"),
    ("127.0.0.1:5000/a/b", DIGEST, f"127.0.0.1:5000/a/b@{DIGEST}"),
    (f"localhost/a@{DIGEST}", "", f"localhost/a@{DIGEST}"),
    ("busybox:1.36", "1.37", "docker.io/library/busybox:1.37"),
    (f"localhost/a@{DIGEST}", "v2", "localhost/a:v2"),
])
def test_target(image: str, tag: str, want: str) -> None:
    assert str(target(image, tag)) == want


def test_target_refuses() -> None:
    with pytest.raises(ImageInvalid, match=r"^invalid tag format"):
        target("busybox", "bad tag")
    with pytest.raises(ImageInvalid, match=r"^invalid checksum digest length$"):
        target("busybox", "sha256:abc")


@pytest.mark.parametrize(("server", "domain"), [
    ("", "docker.io"), ("https://index.docker.io/v1/", "docker.io"), ("docker.io", "docker.io"),
    ("127.0.0.1:5000", "127.0.0.1:5000"), ("http://127.0.0.1:5000/v2/", "127.0.0.1:5000"),
    ("registry.example.com", "registry.example.com"),
])
def test_login_domain(server: str, domain: str) -> None:
    assert login_domain(server) == domain
