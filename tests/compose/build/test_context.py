"""The context tar the client sends: .dockerignore applied, the Dockerfile always sent, one from outside or
inline under a random name the tar's .dockerignore then drops; real files, read back with tarfile."""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

from compose.build.context import write_context
from compose.build.spec import build_spec
from tests.compose.build.helpers import project
from tests.runtime.build.clients import write


def tar_of(folder: Path, build: str) -> tuple[str, dict[str, tarfile.TarInfo], dict[str, bytes]]:
    loaded = project(folder, f"services:\n  web:\n    build: {build}\n")
    out = io.BytesIO()
    context = write_context(build_spec(loaded, "web"), out)
    out.seek(0)
    with tarfile.open(fileobj=out) as tar:
        members = {m.name.rstrip("/"): m for m in tar.getmembers()}
        data = {name: tar.extractfile(m).read() for name, m in members.items() if m.isreg()}  # type: ignore[union-attr]
    return context.dockerfile, members, data


def test_ignore_rules_exceptions_and_the_files_always_sent(tmp_path: Path) -> None:
    ctx = tmp_path / "ctx"
    write(ctx, {"Dockerfile": "FROM busybox\n", ".dockerignore": "*.log\n!keep.log\ndocs\n!docs/README\nDockerfile\n"
                ".dockerignore\nnode_modules\n", "a.log": "", "keep.log": "k", "docs/README": "r", "docs/x": "",
                "node_modules/m/i.js": "", "src/main.c": "int main;"})
    os.symlink("/etc/passwd", ctx / "src" / "link")
    (ctx / "src" / "main.c").chmod(0o751)
    name, members, data = tar_of(tmp_path, "./ctx")
    assert name == "Dockerfile"
    assert set(members) == {"Dockerfile", ".dockerignore", "keep.log", "docs/README", "src", "src/main.c",
                            "src/link"}
    assert members["src/link"].issym() and members["src/link"].linkname == "/etc/passwd"  # never followed
    assert members["src/main.c"].mode == 0o751 and members["src/main.c"].uid == 0 and members["src"].isdir()
    assert data["keep.log"] == b"k" and data[".dockerignore"].startswith(b"*.log\n")  # sent as it is


def test_a_dockerfile_outside_the_context_goes_in_under_a_random_name(tmp_path: Path) -> None:
    write(tmp_path, {"Dockerfile.web": "FROM busybox\n", "ctx/a": "a", "ctx/.dockerignore": "b\n", "ctx/b": ""})
    name, members, data = tar_of(tmp_path, "{context: ./ctx, dockerfile: ../Dockerfile.web}")
    assert name.startswith(".dockerfile.") and len(name) == len(".dockerfile.") + 20
    assert data[name] == b"FROM busybox\n" and set(members) == {"a", ".dockerignore", name}
    assert data[".dockerignore"] == f"b\n{name}\n".encode()  # so the engine drops it from the context


def test_dockerfile_inline(tmp_path: Path) -> None:
    name, members, data = tar_of(tmp_path, "\n      dockerfile_inline: |\n        FROM busybox\n        RUN true\n")
    assert data[name] == b"FROM busybox\nRUN true\n" and data[".dockerignore"] == f"{name}\n".encode()
    assert "compose.yaml" in members


def test_the_dockerfile_own_ignore_file_is_the_one_sent(tmp_path: Path) -> None:
    write(tmp_path, {"docker/app.Dockerfile": "FROM busybox\n", "docker/app.Dockerfile.dockerignore": "secret\n",
                     ".dockerignore": "public\n", "secret": "", "public": "p"})
    name, members, data = tar_of(tmp_path, "{context: ., dockerfile: docker/app.Dockerfile}")
    assert name == "docker/app.Dockerfile"
    assert "secret" not in members and data["public"] == b"p" and data[".dockerignore"] == b"secret\n"


def test_an_excluded_folder_holding_the_dockerfile_is_entered(tmp_path: Path) -> None:
    write(tmp_path, {"build/Dockerfile": "FROM busybox\n", "build/other": "", ".dockerignore": "build\n"})
    name, members, _ = tar_of(tmp_path, "{context: ., dockerfile: build/Dockerfile}")
    assert name == "build/Dockerfile" and "build/Dockerfile" in members and "build/other" not in members
