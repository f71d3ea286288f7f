"""COPY/ADD sources and RUN mounts end to end: the real docker CLI (and docker-py for `remote=`)
building on our engine, then the built image's files looked at from a container."""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.compose.cli.engines import docker_py_client
from tests.engine_fixture import EngineHandle
from tests.runtime.build.clients import docker, steps, write
from tests.runtime.build.http_files import Routes, serving

pytestmark = pytest.mark.root
CONF = b"listen 8080\n"


def tar_gz(files: dict[str, bytes], owner: tuple[int, int] = (0, 0)) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o640
            info.uid, info.gid = owner
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


@pytest.fixture
def server() -> Iterator[tuple[str, Routes]]:
    routes: Routes = {"/conf/app.conf": (200, {"Last-Modified": "Wed, 21 Oct 2015 07:28:00 GMT"}, CONF)}
    with serving(routes) as url:
        yield url, routes


def files_of(engine: EngineHandle, image: str, *paths: str) -> dict[str, str]:
    """`path -> "uid:gid mode"` (or "missing") for each path, from a container of `image`."""
    script = "; ".join(f"stat -c '%n %u:%g %a' {p} 2>/dev/null || echo '{p} missing'" for p in paths)
    out = docker(engine, "run", "--rm", image, "sh", "-c", script).stdout
    return {line.split(" ", 1)[0]: line.split(" ", 1)[1] for line in out.splitlines()}


def cat(engine: EngineHandle, image: str, path: str) -> str:
    return docker(engine, "run", "--rm", image, "cat", path).stdout


def test_copy_sources_owners_modes(engine: EngineHandle, busybox: str, tmp_path: Path) -> None:
    ctx = write(tmp_path / "ctx", {
        "Dockerfile": (
            f"FROM {busybox} AS owned\n"
            "RUN mkdir -p /d/sub && echo x > /d/sub/f && chown -R 1234:5678 /d && echo y > /g && chown 42:43 /g\n"
            f"FROM {busybox}\n"
            "COPY --from=owned /d /fromstage\n"  # dockerd: a stage's (an image's) files keep their owners
            "COPY --from=owned /g /fromstage-g\n"
            "COPY --from=owned --chown=7:8 /g /fromstage-chowned\n"
            "RUN echo 'app:x:1000:1500::/home/app:/bin/sh' >> /etc/passwd && echo 'app:x:1500:' >> /etc/group"
            " && echo 'staff:x:50:' >> /etc/group && mkdir /exists\n"
            "COPY hom* /globbed/\n"
            "COPY src /code\n"
            "COPY src/a.txt /renamed.txt\n"
            "COPY --chown=app src/a.txt /owned/\n"
            "COPY --chown=app:staff src/a.txt /owned2/\n"
            "COPY --chown=1234:5678 src/ /numeric/\n"
            "COPY --chmod=0751 run.sh /usr/local/bin/run.sh\n"
            "COPY --chmod=u+x,go-r src/a.txt /sym.txt\n"
            "COPY --exclude=sub/*.md src /noexcl/\n"
            "COPY --parents src/sub/b.md /parents/\n"
            "COPY link /linked\n"
            "COPY ../../home.txt /exists\n"
            "WORKDIR /work\n"
            "COPY home.txt rel/\n"
        ),
        "home.txt": "home\n", "homer.py": "print(1)\n", "run.sh": "#!/bin/sh\necho run\n",
        "src/a.txt": "a\n", "src/sub/b.md": "b\n",
    })
    os.chmod(ctx / "src" / "a.txt", 0o644)
    os.symlink("src/a.txt", ctx / "link")
    docker(engine, "build", "-t", "sources:1", str(ctx))
    got = files_of(engine, "sources:1", "/globbed/home.txt", "/globbed/homer.py", "/code/a.txt", "/code/sub/b.md",
                   "/code/src", "/owned", "/owned/a.txt", "/owned2/a.txt", "/numeric/a.txt", "/numeric/sub/b.md",
                   "/usr/local/bin/run.sh", "/sym.txt", "/noexcl/a.txt", "/noexcl/sub/b.md",
                   "/parents/src/sub/b.md", "/linked", "/exists/home.txt", "/work/rel/home.txt", "/usr",
                   "/fromstage", "/fromstage/sub", "/fromstage/sub/f", "/fromstage-g", "/fromstage-chowned")
    assert got == {
        "/globbed/home.txt": "0:0 644", "/globbed/homer.py": "0:0 644", "/code/a.txt": "0:0 644",
        "/code/sub/b.md": "0:0 644", "/code/src": "missing",  # a directory gives its contents
        "/owned": "1000:1500 755", "/owned/a.txt": "1000:1500 644",  # a user alone: its primary group
        "/owned2/a.txt": "1000:50 644", "/numeric/a.txt": "1234:5678 644", "/numeric/sub/b.md": "1234:5678 644",
        "/usr/local/bin/run.sh": "0:0 751", "/sym.txt": "0:0 700", "/noexcl/a.txt": "0:0 644",
        "/noexcl/sub/b.md": "missing", "/parents/src/sub/b.md": "0:0 644", "/linked": "0:0 644",
        "/exists/home.txt": "0:0 644", "/work/rel/home.txt": "0:0 644", "/usr": "0:0 755",
        "/fromstage": "0:0 755", "/fromstage/sub": "1234:5678 755", "/fromstage/sub/f": "1234:5678 644",
        "/fromstage-g": "42:43 644", "/fromstage-chowned": "7:8 644",
    }
    assert cat(engine, "sources:1", "/renamed.txt") == "a\n"
    assert cat(engine, "sources:1", "/linked") == "a\n"  # a named symlink is followed
    docker(engine, "rmi", "sources:1")


def test_copy_through_destination_symlinks(engine: EngineHandle, busybox: str, tmp_path: Path) -> None:
    """A destination under a symlinked directory (/bin -> usr/bin in merged-/usr images) lands where
    the link points, and the link stays a link."""
    ctx = write(tmp_path / "ctx", {
        "Dockerfile": (f"FROM {busybox}\nRUN mkdir -p /usr/tools && echo old > /usr/tools/kept && "
                       "ln -s usr/tools /tools && ln -s /usr/tools/kept /kept-link\n"
                       "COPY a.txt /tools/\nCOPY b.txt /tools/sub/b.txt\nCOPY a.txt /kept-link\n"),
        "a.txt": "a\n", "b.txt": "b\n",
    })
    docker(engine, "build", "-t", "linked-dest", str(ctx))
    out = docker(engine, "run", "--rm", "linked-dest", "sh", "-c",
                 "readlink /tools; ls /usr/tools; cat /usr/tools/sub/b.txt /usr/tools/kept; readlink /kept-link").stdout
    assert out.split() == ["usr/tools", "a.txt", "kept", "sub", "b", "a", "/usr/tools/kept"], out
    docker(engine, "rmi", "linked-dest")


def test_copy_heredocs(engine: EngineHandle, busybox: str, tmp_path: Path) -> None:
    ctx = write(tmp_path / "ctx", {"Dockerfile": (
        f"FROM {busybox}\nARG WHO=world\n"
        "COPY <<EOF /etc/heredoc.txt\nhello $WHO\nEOF\n"
        "COPY <<'EOF' <<END /docs/\nliteral $WHO\nEOF\nsecond\nEND\n"
    )})
    docker(engine, "build", "-t", "heredocs", str(ctx))
    assert cat(engine, "heredocs", "/etc/heredoc.txt") == "hello world\n"
    assert cat(engine, "heredocs", "/docs/EOF") == "literal $WHO\n"  # a quoted delimiter: no expansion
    assert cat(engine, "heredocs", "/docs/END") == "second\n"
    assert files_of(engine, "heredocs", "/etc/heredoc.txt") == {"/etc/heredoc.txt": "0:0 644"}
    docker(engine, "rmi", "heredocs")


def test_copy_errors(engine: EngineHandle, busybox: str, tmp_path: Path) -> None:
    cases = {
        "COPY nothere /x": "COPY failed: file not found in build context or excluded by .dockerignore: "
                           "stat nothere: file does not exist",
        "COPY hom* /dir": "When using COPY with more than one source file, the destination must be a directory "
                          "and end with a /",
        "COPY nomatch* /dir/": "COPY failed: no source files were specified",
        "COPY --chown=nosuchuser home.txt /x": "unable to find user nosuchuser: no matching entries in passwd file",
    }
    for line, message in cases.items():
        ctx = write(tmp_path / f"ctx{len(line)}", {"Dockerfile": f"FROM {busybox}\n{line}\n",
                                                   "home.txt": "h\n", "homer.py": "p\n"})
        built = docker(engine, "build", str(ctx), check=False)
        assert built.returncode == 1, built.stdout + built.stderr
        assert message in built.stderr, built.stdout + built.stderr


def test_copy_cache_keys_content_and_metadata_not_mtime(engine: EngineHandle, busybox: str, tmp_path: Path) -> None:
    ctx = write(tmp_path / "ctx", {
        "Dockerfile": f"FROM {busybox}\nCOPY a.txt /a\nCOPY b /b/\nRUN cat /a /b/b.txt\n",
        "a.txt": "a\n", "b/b.txt": "b\n",
    })

    def build() -> list[bool]:
        return [cached for _, cached in steps(docker(engine, "build", "-t", "keyed", str(ctx)).stdout)]

    assert build() == [False, False, False, False]
    os.utime(ctx / "a.txt", (1, 1))
    os.utime(ctx / "b" / "b.txt", (2, 2))
    assert build() == [False, True, True, True]  # mtimes are not in the key
    (ctx / "b" / "b.txt").write_text("B\n")
    assert build() == [False, True, False, False]  # from the COPY of the changed file on
    os.chmod(ctx / "a.txt", 0o600)
    assert build() == [False, False, False, False]  # a mode is in the key
    assert build() == [False, True, True, True]
    (ctx / "Dockerfile").write_text(f"FROM {busybox}\nCOPY --chown=1:1 a.txt /a\nCOPY b /b/\nRUN cat /a /b/b.txt\n")
    assert build() == [False, False, False, False]
    (ctx / "Dockerfile").write_text(f"FROM {busybox}\nCOPY --chown=2:2 a.txt /a\nCOPY b /b/\nRUN cat /a /b/b.txt\n")
    assert build() == [False, False, False, False]  # so are --chown (and --chmod)
    (ctx / "Dockerfile").write_text(f"FROM {busybox}\nCOPY --chmod=600 a.txt /a\nCOPY b /b/\nRUN cat /a /b/b.txt\n")
    assert build() == [False, False, False, False]
    docker(engine, "rmi", "keyed")


def test_add_archives_and_urls(engine: EngineHandle, busybox: str, tmp_path: Path,
                               server: tuple[str, Routes]) -> None:
    url, routes = server
    routes["/pkg.tar.gz"] = (200, {}, tar_gz({"inside": b"i\n"}))
    ctx = write(tmp_path / "ctx", {
        "Dockerfile": (f"FROM {busybox}\nADD pkg.tar.gz /opt/pkg/\nADD plain.txt /opt/\n"
                       f"ADD {url}/conf/app.conf /etc/app/\n"
                       f"ADD --checksum=sha256:{hashlib.sha256(CONF).hexdigest()} {url}/conf/app.conf /checked\n"
                       f"ADD {url}/pkg.tar.gz /downloaded/\n"
                       "COPY pkg.tar.gz /copied/\n"),
        "plain.txt": "p\n",
    })
    (ctx / "pkg.tar.gz").write_bytes(tar_gz({"bin/tool": b"tool\n", "README": b"readme\n"}, owner=(7, 8)))
    docker(engine, "build", "-t", "added", str(ctx))
    got = files_of(engine, "added", "/opt/pkg/bin/tool", "/opt/pkg/README", "/opt/pkg/pkg.tar.gz", "/opt/plain.txt",
                   "/etc/app/app.conf", "/checked", "/copied/pkg.tar.gz", "/downloaded/pkg.tar.gz",
                   "/downloaded/inside")
    assert got == {"/opt/pkg/bin/tool": "7:8 640", "/opt/pkg/README": "7:8 640", "/opt/pkg/pkg.tar.gz": "missing",
                   "/opt/plain.txt": "0:0 644", "/etc/app/app.conf": "0:0 600", "/checked": "0:0 600",
                   "/copied/pkg.tar.gz": "0:0 644", "/downloaded/pkg.tar.gz": "0:0 600",
                   "/downloaded/inside": "missing"}  # ADD unpacks a local tar (owners kept), not a URL's
    assert cat(engine, "added", "/etc/app/app.conf") == CONF.decode()
    mtime = docker(engine, "run", "--rm", "added", "stat", "-c", "%Y", "/etc/app/app.conf").stdout.strip()
    assert mtime == "1445412480"  # Last-Modified
    bad = write(tmp_path / "bad", {"Dockerfile": f"FROM {busybox}\nADD --checksum=sha256:{'0' * 64} "
                                                 f"{url}/conf/app.conf /x\n"})
    failed = docker(engine, "build", str(bad), check=False)
    assert failed.returncode == 1 and "digest mismatch" in failed.stderr, failed.stdout + failed.stderr
    missing = write(tmp_path / "missing", {"Dockerfile": f"FROM {busybox}\nADD {url}/nothere /x\n"})
    failed = docker(engine, "build", str(missing), check=False)
    assert f"failed to GET {url}/nothere with status 404 Not Found" in failed.stderr, failed.stderr
    routes["/ctx.tar.gz"] = (200, {"Content-Type": "application/x-gzip"}, tar_gz({
        "Dockerfile": f"FROM {busybox}\nCOPY hello.txt /\n".encode(), "hello.txt": b"remote\n"}))
    with docker_py_client(engine) as client:
        client.images.build(path=f"{url}/ctx.tar.gz", tag="remote-ctx")
    assert cat(engine, "remote-ctx", "/hello.txt") == "remote\n"
    docker(engine, "rmi", "added", "remote-ctx")


def test_run_mounts(engine: EngineHandle, busybox: str, tmp_path: Path) -> None:
    ctx = write(tmp_path / "ctx", {
        "Dockerfile": (
            f"FROM {busybox} AS tools\nRUN mkdir /tools && echo tool > /tools/t\n"
            f"FROM {busybox}\n"
            "RUN --mount=type=cache,target=/cache echo x >> /cache/log && echo runs=$(wc -l < /cache/log)\n"
            "RUN --mount=type=bind,source=src,target=/mnt cp /mnt/a.txt /from-bind\n"
            "RUN --mount=type=bind,target=/ctx,rw rm /ctx/src/a.txt && touch /ctx/new\n"
            "RUN --mount=type=bind,from=tools,source=/tools,target=/t cp /t/t /from-stage\n"
            "RUN --mount=type=tmpfs,target=/scratch,size=8388608 grep ' /scratch ' /proc/mounts > /tmpfs-line"
            " && cp /bin/busybox /scratch/ && /scratch/busybox true\n"
            "RUN --mount=type=cache,target=/owned,id=owned,uid=1000,gid=1001,mode=0700 stat -c '%u:%g %a' /owned"
            " > /cache-owner\n"
            "RUN --mount=type=bind,source=src/a.txt,target=/one.txt cat /one.txt > /from-file-bind\n"
        ),
        "src/a.txt": "a\n",
    })
    first = docker(engine, "build", "-t", "mounted", str(ctx)).stdout
    assert "runs=1" in first, first
    again = docker(engine, "build", "--no-cache", "-t", "mounted", str(ctx)).stdout
    assert "runs=2" in again, again  # the cache directory outlives the build
    docker(engine, "builder", "prune", "-af")
    pruned = docker(engine, "build", "--no-cache", "-t", "mounted", str(ctx)).stdout
    assert "runs=1" in pruned, pruned  # a prune empties the cache mounts too
    assert (ctx / "src" / "a.txt").exists() and not (ctx / "new").exists()  # rw binds write to a copy
    assert cat(engine, "mounted", "/from-bind") == "a\n"
    assert cat(engine, "mounted", "/from-stage") == "tool\n"
    line = cat(engine, "mounted", "/tmpfs-line").split()
    assert line[2] == "tmpfs" and "nosuid" in line[3] and "noexec" not in line[3], line  # as BuildKit's
    assert cat(engine, "mounted", "/cache-owner") == "1000:1001 700\n"
    assert cat(engine, "mounted", "/from-file-bind") == "a\n"
    got = files_of(engine, "mounted", "/cache", "/mnt", "/ctx", "/t", "/scratch", "/owned", "/one.txt")
    assert got == {"/cache": "missing", "/mnt": "missing", "/ctx": "missing", "/t": "missing", "/scratch": "missing",
                   "/owned": "missing", "/one.txt": "missing"}  # mount points made for a step leave with it
    docker(engine, "rmi", "mounted")
