"""ADD of URLs and local archives, the remote= context: a real HTTP server on 127.0.0.1, real archives."""

from __future__ import annotations

import bz2
import gzip
import hashlib
import io
import lzma
import os
import shutil
import subprocess
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from runtime.build.copying import CopyError, select, write_tar
from runtime.build.fetch import FetchError, fetch_remote_context, fetch_url, is_archive, unpack
from runtime.images.layers import apply_layer
from tests.runtime.build.http_files import Routes, serving

pytestmark = pytest.mark.anyio
BODY = b"downloaded content\n"
DOCKERFILE = b"FROM busybox\nRUN echo hi\n"


def tar_bytes(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.uid, info.gid = len(data), 0o640, 7, 8
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


ROUTES: Routes = {
    "/files/app.conf": (200, {"Last-Modified": "Wed, 21 Oct 2015 07:28:00 GMT"}, BODY),
    "/download/": (200, {"Content-Disposition": 'attachment; filename="named.bin"'}, BODY),
    "/nameless/": (200, {}, BODY),
    "/missing": (404, {}, b"no such thing\n"),
    "/ctx.tar.gz": (200, {"Content-Type": "application/octet-stream"}, gzip.compress(tar_bytes(
        {"Dockerfile": DOCKERFILE}))),
    "/Dockerfile": (200, {"Content-Type": "text/plain"}, DOCKERFILE),
    "/untyped": (200, {}, DOCKERFILE),
}


@pytest.fixture
def server() -> Iterator[str]:
    with serving(ROUTES, blank_type=True) as url:
        yield url


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_fetch_names_mode_mtime(server: str, tmp_path: Path) -> None:
    got = await fetch_url(f"{server}/files/app.conf", tmp_path)
    assert (got.name, got.path.read_bytes()) == ("app.conf", BODY)
    st = got.path.stat()
    assert st.st_mode & 0o777 == 0o600
    assert st.st_mtime == got.mtime == 1445412480.0
    named = await fetch_url(f"{server}/download/", tmp_path)
    assert named.name == "named.bin" and named.mtime is None
    with pytest.raises(FetchError, match="cannot determine filename for source"):
        await fetch_url(f"{server}/nameless/", tmp_path)


async def test_fetch_checksum_and_errors(server: str, tmp_path: Path) -> None:
    good = "sha256:" + hashlib.sha256(BODY).hexdigest()
    assert (await fetch_url(f"{server}/files/app.conf", tmp_path, checksum=good)).name == "app.conf"
    with pytest.raises(FetchError, match="digest mismatch"):
        await fetch_url(f"{server}/files/app.conf", tmp_path, checksum="sha256:" + "0" * 64)
    assert not (tmp_path / "app.conf").exists()
    with pytest.raises(FetchError, match="unsupported checksum"):
        await fetch_url(f"{server}/files/app.conf", tmp_path, checksum="md5:abc")
    with pytest.raises(FetchError) as err:
        await fetch_url(f"{server}/missing", tmp_path)
    assert str(err.value) == f"failed to GET {server}/missing with status 404 Not Found: no such thing"
    with pytest.raises(FetchError, match=r'^Get "http://127\.0\.0\.1:1/x": '):
        await fetch_url("http://127.0.0.1:1/x", tmp_path)


async def test_remote_context(server: str, tmp_path: Path) -> None:
    archive = await fetch_remote_context(f"{server}/ctx.tar.gz", tmp_path)
    with tarfile.open(archive) as tar:
        assert tar.getnames() == ["Dockerfile"]
    for route in ("/Dockerfile", "/untyped"):
        out = tmp_path / route.strip("/")
        out.mkdir()
        made = await fetch_remote_context(f"{server}{route}", out, dockerfile="Dockerfile.remote")
        with tarfile.open(made) as tar:
            member = tar.extractfile("Dockerfile.remote")
            assert member is not None and member.read() == DOCKERFILE
    with pytest.raises(FetchError, match="git contexts are not supported"):
        await fetch_remote_context("https://github.com/x/y.git", tmp_path)


def archive_files(tmp_path: Path) -> dict[str, Path]:
    plain = tar_bytes({"pkg/a.txt": b"a\n", "/abs.txt": b"abs\n"})
    made = {"plain.tar": plain, "x.tar.gz": gzip.compress(plain), "x.tar.bz2": bz2.compress(plain),
            "x.tar.xz": lzma.compress(plain)}
    paths = {}
    for name, data in made.items():
        paths[name] = tmp_path / name
        paths[name].write_bytes(data)
    if shutil.which("zstd"):
        paths["x.tar.zst"] = tmp_path / "x.tar.zst"
        subprocess.run(["zstd", "-q", "-o", str(paths["x.tar.zst"]), str(paths["plain.tar"])], check=True)
    return paths


def test_is_archive_and_unpack(tmp_path: Path) -> None:
    paths = archive_files(tmp_path)
    (tmp_path / "text.gz").write_bytes(gzip.compress(b"not a tar at all" * 100))
    (tmp_path / "empty.tar").write_bytes(b"\0" * 1024)
    assert all(is_archive(p) for p in paths.values())
    assert not is_archive(tmp_path / "text.gz") and not is_archive(tmp_path / "empty.tar")
    for name, path in paths.items():
        buf = io.BytesIO()
        unpack(path, buf, "/opt/x", uid=0, gid=0)
        buf.seek(0)
        out = tmp_path / f"out-{name}"
        out.mkdir()
        apply_layer(buf, out)
        assert (out / "opt" / "x" / "pkg" / "a.txt").read_bytes() == b"a\n"
        assert (out / "opt" / "x" / "abs.txt").read_bytes() == b"abs\n"  # an absolute name lands inside
        st = (out / "opt" / "x" / "pkg" / "a.txt").stat()
        assert (st.st_uid, st.st_gid, st.st_mode & 0o777) == (0, 0, 0o640)


def test_hardlinks_and_symlinks_in_archives(tmp_path: Path) -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo("d/file")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"x\n"))
        link = tarfile.TarInfo("d/hard")
        link.type, link.linkname = tarfile.LNKTYPE, "d/file"
        tar.addfile(link)
        sym = tarfile.TarInfo("d/soft")
        sym.type, sym.linkname = tarfile.SYMTYPE, "file"
        tar.addfile(sym)
    (tmp_path / "links.tar").write_bytes(buf.getvalue())
    out_tar = io.BytesIO()
    unpack(tmp_path / "links.tar", out_tar, "/x/y")
    out_tar.seek(0)
    out = tmp_path / "out"
    out.mkdir()
    apply_layer(out_tar, out)
    base = out / "x" / "y" / "d"
    assert (base / "hard").read_bytes() == b"x\n" and os.stat(base / "hard").st_ino == os.stat(base / "file").st_ino
    assert os.readlink(base / "soft") == "file"


def test_breakout_refused(tmp_path: Path) -> None:
    bad = tmp_path / "bad.tar"
    bad.write_bytes(tar_bytes({"../../etc/evil": b"x"}))
    with pytest.raises(CopyError, match="is outside of"):
        unpack(bad, io.BytesIO(), "/dst")


def test_add_unpacks_local_archives_beside_files(tmp_path: Path) -> None:
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    shutil.copy(archive_files(tmp_path)["x.tar.gz"], ctx / "x.tar.gz")
    (ctx / "plain.txt").write_text("p\n")
    buf = io.BytesIO()
    write_tar(select(ctx, ["x.tar.gz", "plain.txt"], what="ADD"), "/srv/", buf, dest_is_dir=False, unpack=True,
              uid=0, gid=0, what="ADD")
    buf.seek(0)
    out = tmp_path / "out"
    out.mkdir()
    apply_layer(buf, out)
    assert sorted(os.listdir(out / "srv")) == ["abs.txt", "pkg", "plain.txt"]
    st = (out / "srv" / "pkg" / "a.txt").stat()
    assert (st.st_uid, st.st_gid) == (7, 8)  # members keep the archive's owners
    buf = io.BytesIO()  # COPY never unpacks
    write_tar(select(ctx, ["x.tar.gz"]), "/srv/", buf, dest_is_dir=False)
    buf.seek(0)
    with tarfile.open(fileobj=buf) as tar:
        assert tar.getnames() == ["srv/x.tar.gz"]
