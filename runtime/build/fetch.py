"""What the builder fetches over HTTP, and local archives for ADD.

- `fetch_url`: ADD of an http(s) URL, as dockerd: the file is named after the URL's
  path (else Content-Disposition), mode 0600, its mtime from Last-Modified, a
  `--checksum=sha256:` verified; never unpacked.
- `fetch_remote_context`: `POST /build?remote=` of an http(s) URL: a tar (maybe
  compressed) is the context; a plain text answer is the Dockerfile alone.
- `is_archive` / `unpack`: ADD of a local tar (plain, gzip, bzip2, xz, zstd).
"""

from __future__ import annotations

import email.utils
import hashlib
import io
import os
import posixpath
import tarfile
import time
import urllib.parse
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from email.message import Message
from pathlib import Path
from typing import BinaryIO

import httpx

from runtime.build.archives import add_members, is_archive
from runtime.build.selection import CopyError
from runtime.images.compression import sniff

__all__ = ["FetchError", "Fetched", "fetch_remote_context", "fetch_url", "is_archive", "is_url", "unpack"]
CHUNK = 1 << 20
TIMEOUT = httpx.Timeout(60.0, connect=15.0)
_PREAMBLE = 512


class FetchError(CopyError):
    pass


@dataclass(frozen=True)
class Fetched:
    path: Path  # the downloaded file, inside dest_dir
    name: str  # its name: the base name of the URL's path, or Content-Disposition's filename
    mtime: float | None  # from Last-Modified, when the server sent one


def is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


def is_git(source: str) -> bool:
    return (source.startswith(("git://", "git@", "github.com/"))
            or (is_url(source) and urllib.parse.urlsplit(source).path.endswith(".git")))


@asynccontextmanager
async def _get(url: str, client: httpx.AsyncClient | None) -> AsyncIterator[httpx.Response]:
    """A streamed GET, redirects followed; dockerd's message for a failure or an error status."""
    own = client is None
    http = client or httpx.AsyncClient(timeout=TIMEOUT, follow_redirects=True)
    try:
        async with http.stream("GET", url, follow_redirects=True) as resp:
            if resp.status_code >= 400:
                body = (await resp.aread())[:4096].decode("utf-8", "replace").strip()
                raise FetchError(f"failed to GET {url} with status {resp.status_code} {resp.reason_phrase}: {body}")
            yield resp
    except httpx.HTTPError as exc:
        raise FetchError(f'Get "{url}": {exc or type(exc).__name__}') from None
    finally:
        if own:
            await http.aclose()


async def fetch_url(url: str, dest_dir: Path, *, checksum: str = "",
                    client: httpx.AsyncClient | None = None) -> Fetched:
    """Download `url` into `dest_dir` (which the caller owns and removes)."""
    algorithm, _, expected = checksum.partition(":")
    if checksum and (algorithm != "sha256" or len(expected) != 64):
        raise FetchError(f"unsupported checksum {checksum!r}: expected sha256:<64 hex digits>")
    async with _get(url, client) as resp:
        name = _filename(urllib.parse.urlsplit(url).path, resp.headers.get("content-disposition", ""))
        if not name:
            raise FetchError(f"cannot determine filename for source {url}")
        path = dest_dir / name
        hasher = hashlib.sha256()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        with os.fdopen(fd, "wb") as f:
            async for chunk in resp.aiter_bytes(CHUNK):
                hasher.update(chunk)
                f.write(chunk)
        modified = _last_modified(resp.headers.get("last-modified", ""))
    os.chmod(path, 0o600)
    if checksum and hasher.hexdigest() != expected.lower():
        path.unlink()
        raise FetchError(f"digest mismatch sha256:{hasher.hexdigest()}: {checksum}")
    if modified is not None:
        os.utime(path, (modified, modified))
    return Fetched(path, name, modified)


def _filename(url_path: str, disposition: str) -> str:
    """dockerd's guess: the URL path's base name, else Content-Disposition's filename."""
    path = urllib.parse.unquote(url_path)
    if path and not path.endswith("/"):
        name = posixpath.basename(path)
        if name not in ("", ".", ".."):
            return name
    if disposition:
        message = Message()
        message["content-disposition"] = disposition
        given = message.get_param("filename", header="content-disposition")
        if isinstance(given, str) and given and not given.endswith("/"):
            name = posixpath.basename(given)
            if name not in ("", ".", ".."):
                return name
    return ""


def _last_modified(value: str) -> float | None:
    if not value:
        return None
    try:
        return email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return None


async def fetch_remote_context(url: str, dest_dir: Path, *, dockerfile: str = "Dockerfile",
                               client: httpx.AsyncClient | None = None) -> Path:
    """`remote=`: the context tar (maybe compressed) downloaded into `dest_dir`, its path returned.

    A text answer (text/plain, or untyped text) is a Dockerfile: it is put alone in a tar,
    named `dockerfile`, as dockerd does."""
    if is_git(url):
        raise FetchError(f"unable to prepare context: git contexts are not supported: {url}")
    if not is_url(url):
        raise FetchError(f"unable to prepare context: unsupported remote context {url!r}: "
                         "expected an http(s) URL")
    path = dest_dir / "context.download"
    async with _get(url, client) as resp:
        content_type = resp.headers.get("content-type", "").split(";")[0].strip().lower()
        with open(path, "wb") as f:
            async for chunk in resp.aiter_bytes(CHUNK):
                f.write(chunk)
    with open(path, "rb") as f:
        head = f.read(_PREAMBLE)
    if not head:
        raise FetchError("unable to prepare context: empty response")
    if content_type in ("", "application/octet-stream"):
        content_type = _sniff_type(head)
    if content_type != "text/plain":
        return path
    tar_path = dest_dir / "context.tar"
    data = path.read_bytes()
    with tarfile.open(tar_path, "w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo(dockerfile.lstrip("/") or "Dockerfile")
        info.size, info.mode, info.mtime = len(data), 0o644, int(time.time())
        tar.addfile(info, io.BytesIO(data))
    path.unlink()
    return tar_path


def _sniff_type(head: bytes) -> str:
    """Go's http.DetectContentType, only as far as the builder asks: archive or text."""
    if sniff(head) != "none" or head[257:262] == b"ustar":
        return "application/x-tar"
    if any(b < 0x09 or (0x0D < b < 0x20 and b != 0x1B) for b in head):
        return "application/octet-stream"
    return "text/plain"


def unpack(path: Path, out: BinaryIO, dest: str = "/", *, uid: int | None = None, gid: int | None = None) -> None:
    """A tar, to extract at `/`, holding the archive at `path`'s members under the directory `dest`."""
    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        add_members(tar, path, posixpath.normpath("/" + dest.lstrip("/")), uid=uid, gid=gid)
