"""runtime.build.tar_records and context_patch: a context that differs from the last one in a few
records is made by patching the last tree, and ends exactly as a whole unpack would make it."""

from __future__ import annotations

import gzip
import io
import os
import stat
import tarfile
from pathlib import Path

import pytest

from runtime.build import contexts, sums
from runtime.build.tar_records import RecordCutter

Entry = tuple[str, bytes | None, str | None]  # name, file data (None: a directory), symlink target


def _tar(entries: list[Entry], mtime: int = 1_000_000, end: bool = True) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data, target in entries:
            info = tarfile.TarInfo(name)
            info.mtime = mtime
            if target is not None:
                info.type, info.linkname = tarfile.SYMTYPE, target
            elif data is None:
                info.type, info.mode = tarfile.DIRTYPE, 0o750
            else:
                info.size, info.mode = len(data), 0o640
            tar.addfile(info, io.BytesIO(data or b""))
    raw = out.getvalue()
    return raw if end else raw[:_last_end(raw)]  # as the docker CLI's `-f -` context: no end blocks


def _last_end(raw: bytes) -> int:
    with tarfile.open(fileobj=io.BytesIO(raw)) as tar:
        last = tar.getmembers()[-1]
    return last.offset_data + -(-last.size // 512) * 512


def _context(n: int, **changes: bytes | None) -> list[Entry]:
    entries: list[Entry] = [("Dockerfile", b"FROM scratch\nCOPY . /\n", None), ("src", None, None)]
    entries += [(f"src/f{i:03}.txt", f"file {i}\n".encode(), None) for i in range(n)]
    entries += [("src/link", None, "f000.txt"), ("src/" + "long-name-" * 12, b"pax path\n", None)]
    out: list[Entry] = []
    for name, data, target in entries:
        if name in changes:
            if changes[name] is not None:
                out.append((name, changes.pop(name), None))
            else:
                changes.pop(name)
            continue
        out.append((name, data, target))
    return out + [(name, data, None) for name, data in changes.items()]


def _snapshot(tree: Path) -> dict[str, tuple[object, ...]]:
    seen: dict[str, tuple[object, ...]] = {}
    for top, dirs, files in os.walk(tree):
        for name in dirs + files:
            path = Path(top) / name
            st = os.lstat(path)
            body: object = os.readlink(path) if stat.S_ISLNK(st.st_mode) else (
                path.read_bytes() if stat.S_ISREG(st.st_mode) else None)
            seen[str(path.relative_to(tree))] = (stat.S_IFMT(st.st_mode), stat.S_IMODE(st.st_mode), st.st_uid,
                                                 st.st_gid, st.st_mtime_ns, body)
    return seen


def _build(state: Path, raw: bytes) -> tuple[dict[str, tuple[object, ...]], dict[str, int], Path]:
    work = state / "work"
    work.mkdir(exist_ok=True)
    with contexts.context_dir(state, io.BufferedReader(io.BytesIO(raw)), work, "Dockerfile") as ctx:
        inodes = {str(p.relative_to(ctx.root)): p.lstat().st_ino for p in ctx.root.rglob("*")}
        return _snapshot(ctx.root), inodes, ctx.root


def _fresh(tmp_path: Path, raw: bytes) -> dict[str, tuple[object, ...]]:
    """What a whole unpack of `raw` makes (an engine root of its own, no earlier context)."""
    state = tmp_path / f"fresh-{len(list(tmp_path.glob('fresh-*')))}"
    state.mkdir()
    return _build(state, raw)[0]


@pytest.mark.parametrize("chunk", [1 << 20, 700, 512])
def test_records_are_tarfile_members(chunk: int) -> None:
    for raw in (_tar(_context(30)), _tar(_context(3), end=False)):
        cutter = RecordCutter()
        for start in range(0, len(raw), chunk):
            cutter.feed(raw[start:start + chunk])
        cutter.close()
        with tarfile.open(fileobj=io.BytesIO(raw + b"\0" * 1024)) as tar:
            members = tar.getmembers()
        assert cutter.usable
        assert [r.start for r in cutter.records] == [m.offset for m in members]
        assert cutter.records[-1].end == _last_end(raw)


def test_what_tarfile_could_read_otherwise_is_not_cut() -> None:
    raw = _tar(_context(3))
    big = bytearray(raw)
    big[124] |= 0x80  # a base-256 size on the first member
    info = tarfile.TarInfo("f")
    info.pax_headers = {"size": "3"}
    info.size = 3
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        tar.addfile(info, io.BytesIO(b"abc"))
    corrupt = bytearray(raw)
    corrupt[1030] ^= 1  # the second header's checksum no longer holds: tarfile stops there
    for bad in (bytes(big), raw[:700], out.getvalue(), gzip.compress(raw, 0), bytes(corrupt)):
        cutter = RecordCutter()
        cutter.feed(bad)
        cutter.close()
        assert not cutter.usable


def test_a_few_changed_records_patch_the_last_tree(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    first = _tar(_context(40))
    before, old_inodes, old_root = _build(state, first)
    sums.remember(old_root / "src/f001.txt", b"h1")
    sums.remember(old_root / "src/f002.txt", b"h2")
    changed = _tar(_context(40, **{"src/f002.txt": b"changed\n", "src/f003.txt": None, "new.txt": b"new\n"}))
    after, new_inodes, new_root = _build(state, changed)
    assert after == _fresh(tmp_path, changed)
    assert after != before
    # patched, not unpacked: the unchanged files are the last tree's, which is gone
    assert new_inodes["src/f010.txt"] == old_inodes["src/f010.txt"]
    assert new_inodes["src"] == old_inodes["src"]
    assert not old_root.exists()
    assert sums.lookup(new_root / "src/f001.txt") == b"h1"
    assert sums.lookup(new_root / "src/f002.txt") is None
    # and back: the first content again, patched from the second
    assert _build(state, first)[0] == before


def test_a_new_directory_and_a_changed_kind(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    _build(state, _tar(_context(40)))
    with_dir = _tar(_context(40, **{"added": None, "added/new.txt": b"new\n"}))
    assert _build(state, with_dir)[0] == _fresh(tmp_path, with_dir)
    kind = _tar([e if e[0] != "src/f005.txt" else ("src/f005.txt", None, None) for e in _context(40)])
    assert _build(state, kind)[0] == _fresh(tmp_path, kind)


def test_a_held_tree_is_not_patched(tmp_path: Path) -> None:
    state, work = tmp_path / "state", tmp_path / "work"
    state.mkdir()
    work.mkdir()
    first = _tar(_context(40))
    with contexts.context_dir(state, io.BufferedReader(io.BytesIO(first)), work, "Dockerfile") as held:
        before = _snapshot(held.root)
        changed = _tar(_context(40, **{"src/f002.txt": b"changed\n"}))
        assert _build(state, changed)[0] == _fresh(tmp_path, changed)
        assert _snapshot(held.root) == before


def test_duplicate_names_are_never_patched(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    twice = _tar([*_context(40), ("src/f001.txt", b"second\n", None)])
    assert _build(state, twice)[0]["src/f001.txt"][-1] == b"second\n"
    changed = _tar([*_context(40, **{"src/f002.txt": b"changed\n"}), ("src/f001.txt", b"second\n", None)])
    after = _build(state, changed)[0]
    assert after == _fresh(tmp_path, changed)
    assert after["src/f001.txt"][-1] == b"second\n"
