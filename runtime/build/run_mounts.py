"""RUN --mount (BuildKit's types) as the mounts of the step's container.

- `bind` (default type): a path of the context, or of a stage/image root (`from=`),
  read-only; `rw` gets a throwaway copy, since BuildKit discards what the step writes.
- `cache`: a directory under `cache_root` kept across builds, named by `id` (default:
  the target), made with `mode`/`uid`/`gid` (0755, 0:0) or seeded from `from`/`source`.
  `sharing=shared` lets steps use it at once, `locked` waits for the holder, `private`
  takes a directory of its own while another step holds it. Its content is in no cache key.
- `tmpfs`: a tmpfs with `size`, as BuildKit's (nosuid, but exec and dev: a HostConfig.Tmpfs entry).
- `secret`: the build's secret `id` as a file (mode 0400, `/run/secrets/<id>` unless
  `target`) and/or an environment variable (`env=`); missing: skipped, or an error when
  `required`. `ssh` is refused with a clear message.

`host_mounts` returns HostConfig.Mounts entries, HostConfig.Tmpfs entries, the environment to add to the step (never
to the image's config) and `plan.close()` to call after the step: it drops locks and
removes throwaway copies and secret files. It may block (a `locked` cache): run it in a
worker thread. `prune_caches` empties
the cache directories no step holds (for `POST /build/prune`).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import os
import posixpath
import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runtime.build.selection import resolve_in
from runtime.dockerfile.instructions import RunMount

PRIVATE_COPIES = 64


class MountError(ValueError):
    """A RUN --mount that cannot be made; the builder reports it as the step's error."""


@dataclass
class RunMountPlan:
    mounts: list[dict[str, Any]] = field(default_factory=list)  # HostConfig.Mounts entries
    tmpfs: dict[str, str] = field(default_factory=dict)  # HostConfig.Tmpfs: target -> options
    env: list[str] = field(default_factory=list)  # `NAME=value` for secret env= mounts
    cleanup: list[Path] = field(default_factory=list)  # removed by close()
    locks: list[int] = field(default_factory=list)  # fds holding cache locks

    def close(self) -> None:
        for fd in self.locks:
            with contextlib.suppress(OSError):
                os.close(fd)
        self.locks.clear()
        for path in self.cleanup:
            shutil.rmtree(path, ignore_errors=True)
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        self.cleanup.clear()


def host_mounts(mounts: Sequence[RunMount], *, context_dir: Path, stage_rootfs: Callable[[str], Path],
                cache_root: Path, secrets: Mapping[str, bytes], work_dir: Path, workdir: str = "/") -> RunMountPlan:
    """The container mounts for a RUN step's `--mount`s; `stage_rootfs(name)` gives a stage's or
    an image's root directory; `work_dir` is the step's own scratch directory."""
    plan = RunMountPlan()
    try:
        for index, mount in enumerate(mounts):
            _one(plan, index, mount, context_dir, stage_rootfs, cache_root, secrets, work_dir, workdir)
    except BaseException:
        plan.close()
        raise
    return plan


def _target(mount: RunMount, workdir: str, default: str = "") -> str:
    target = mount.target or default
    if not target:
        raise MountError(f"RUN --mount=type={mount.type}: target is required")
    return posixpath.normpath(posixpath.join("/", workdir or "/", target))


def _one(plan: RunMountPlan, index: int, mount: RunMount, context_dir: Path, stage_rootfs: Callable[[str], Path],
         cache_root: Path, secrets: Mapping[str, bytes], work_dir: Path, workdir: str) -> None:
    kind = mount.type or "bind"
    if kind == "bind":
        _bind(plan, index, mount, context_dir, stage_rootfs, work_dir, workdir)
    elif kind == "cache":
        _cache(plan, mount, stage_rootfs, cache_root, workdir)
    elif kind == "tmpfs":  # BuildKit mounts it nosuid only: programs run from it (HostConfig.Tmpfs can say so)
        plan.tmpfs[_target(mount, workdir)] = "exec,dev" + (f",size={mount.size}" if mount.size else "")
    elif kind == "secret":
        _secret(plan, index, mount, secrets, work_dir, workdir)
    elif kind == "ssh":
        raise MountError("RUN --mount=type=ssh is not supported by this builder (no SSH agent forwarding)")
    else:
        raise MountError(f"unsupported mount type {kind!r}")


def _inside(root: Path, source: str, what: str) -> Path:
    found = resolve_in(root, posixpath.normpath("/" + source).lstrip("/"))
    if found is None:
        raise MountError(f'RUN --mount={what}: source "/{source.lstrip("/")}" not found')
    return root / found if found else root


def _bind(plan: RunMountPlan, index: int, mount: RunMount, context_dir: Path, stage_rootfs: Callable[[str], Path],
          work_dir: Path, workdir: str) -> None:
    root = stage_rootfs(mount.from_) if mount.from_ else context_dir
    source = _inside(root, mount.source, "bind")
    target = _target(mount, workdir)
    if mount.rw:  # writes land in a copy the step throws away
        copy = work_dir / f"bind-{index}"
        if source.is_dir():
            shutil.copytree(source, copy, symlinks=True)
        else:
            shutil.copy2(source, copy)
        plan.cleanup.append(copy)
        source = copy
    plan.mounts.append({"Type": "bind", "Source": str(source), "Target": target, "ReadOnly": not mount.rw})


def _cache(plan: RunMountPlan, mount: RunMount, stage_rootfs: Callable[[str], Path], cache_root: Path,
           workdir: str) -> None:
    target = _target(mount, workdir)
    ident = mount.id or target
    sharing = mount.sharing or "shared"
    if sharing not in ("shared", "private", "locked"):
        raise MountError(f"invalid cache sharing mode {sharing!r}: expected shared, private or locked")
    cache_root.mkdir(parents=True, exist_ok=True)
    base = cache_root / hashlib.sha256(ident.encode()).hexdigest()[:32]
    path = base
    if sharing == "shared":  # held shared, so that a prune passes it by; never waits
        with contextlib.suppress(BlockingIOError):
            plan.locks.append(_lock(base, blocking=False, shared=True))
    elif sharing == "locked":
        plan.locks.append(_lock(base, blocking=True))
    elif sharing == "private":
        for n in range(PRIVATE_COPIES):
            candidate = base if n == 0 else base.with_name(f"{base.name}-{n}")
            try:
                plan.locks.append(_lock(candidate, blocking=False))
            except BlockingIOError:
                continue
            path = candidate
            break
        else:
            raise MountError(f"cache {ident!r}: every private copy is in use")
    if not path.exists():
        _make_cache(path, mount, stage_rootfs)
    plan.mounts.append({"Type": "bind", "Source": str(path), "Target": target, "ReadOnly": False})


def _lock(path: Path, *, blocking: bool, shared: bool = False) -> int:
    fd = os.open(f"{path}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | (0 if blocking else fcntl.LOCK_NB))
    except OSError as exc:
        os.close(fd)
        if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
            raise BlockingIOError(exc.errno, "locked") from None
        raise
    return fd


def _make_cache(path: Path, mount: RunMount, stage_rootfs: Callable[[str], Path]) -> None:
    """A new cache directory, made aside then renamed, so a half-made one is never used."""
    partial = path.with_name(path.name + ".new")
    shutil.rmtree(partial, ignore_errors=True)
    if mount.from_:
        seed = _inside(stage_rootfs(mount.from_), mount.source, "cache")
        if not seed.is_dir():
            raise MountError(f'RUN --mount=type=cache: source "/{mount.source.lstrip("/")}" is not a directory')
        shutil.copytree(seed, partial, symlinks=True)
    else:
        partial.mkdir()
        os.chown(partial, mount.uid or 0, mount.gid or 0)
        os.chmod(partial, 0o755 if mount.mode is None else mount.mode)
    try:
        os.rename(partial, path)
    except OSError as exc:
        shutil.rmtree(partial, ignore_errors=True)
        if exc.errno not in (errno.EEXIST, errno.ENOTEMPTY):  # another step made it first
            raise


def _secret(plan: RunMountPlan, index: int, mount: RunMount, secrets: Mapping[str, bytes], work_dir: Path,
            workdir: str) -> None:
    ident = mount.id or (posixpath.basename(mount.target) if mount.target else "")
    if not ident:
        raise MountError("RUN --mount=type=secret: id or target is required")
    value = secrets.get(ident)
    if value is None:
        if mount.required:
            raise MountError(f"secret {ident}: not found")
        return
    if mount.env:
        plan.env.append(f"{mount.env}={value.decode('utf-8', 'surrogateescape')}")
        if not mount.target:
            return
    folder = work_dir / f"secret-{index}"
    folder.mkdir(mode=0o700)
    plan.cleanup.append(folder)
    path = folder / "value"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o400)
    with os.fdopen(fd, "wb") as f:
        f.write(value)
    os.chown(path, mount.uid or 0, mount.gid or 0)
    os.chmod(path, 0o400 if mount.mode is None else mount.mode)
    os.chmod(folder, 0o755)
    target = _target(mount, workdir, default=f"/run/secrets/{ident}")
    plan.mounts.append({"Type": "bind", "Source": str(path), "Target": target, "ReadOnly": True})


def prune_caches(cache_root: Path) -> tuple[list[str], int]:
    """`POST /build/prune`'s share: every cache mount directory no step holds, removed.

    Returns (the removed directories' names, the bytes they held)."""
    removed: list[str] = []
    reclaimed = 0
    if not cache_root.is_dir():
        return removed, reclaimed
    for entry in sorted(cache_root.iterdir()):
        if entry.suffix in (".lock", ".new") or not entry.is_dir():
            continue
        try:
            fd = _lock(entry, blocking=False)
        except BlockingIOError:
            continue  # a step uses it
        try:
            reclaimed += _size(entry)
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry.name)
        finally:
            os.close(fd)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(f"{entry}.lock")
    return removed, reclaimed


def _size(path: Path) -> int:
    total = 0
    for folder, _dirs, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(folder, name)).st_blocks * 512
    return total
