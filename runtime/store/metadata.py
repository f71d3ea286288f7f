"""Image metadata in sqlite3 (WAL): images, their layers, snapshots, layer blobs and references.

Every change is one transaction, so a kill at any moment leaves either the old or the new
state. Snapshot and blob reference counts are not stored but counted from `image_layers`,
so they cannot drift from the images that hold them.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Collection, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS images(
    id TEXT PRIMARY KEY,
    created TEXT NOT NULL,
    size INTEGER NOT NULL,
    manifest TEXT,
    parent TEXT NOT NULL DEFAULT '',
    added REAL NOT NULL,
    last_tag REAL
);
CREATE TABLE IF NOT EXISTS image_layers(
    image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
    idx INTEGER NOT NULL,
    chain_id TEXT NOT NULL,
    blob TEXT NOT NULL,
    PRIMARY KEY(image_id, idx)
);
CREATE INDEX IF NOT EXISTS image_layers_chain ON image_layers(chain_id);
CREATE INDEX IF NOT EXISTS image_layers_blob ON image_layers(blob);
CREATE TABLE IF NOT EXISTS layer_blobs(
    digest TEXT PRIMARY KEY,
    diff_id TEXT NOT NULL,
    media_type TEXT NOT NULL,
    size INTEGER NOT NULL,
    tar_size INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS snapshots(
    chain_id TEXT PRIMARY KEY,
    diff_id TEXT NOT NULL,
    parent TEXT NOT NULL,
    size INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS refs(
    name TEXT PRIMARY KEY,
    image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    added REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS refs_image ON refs(image_id);
"""


@dataclass(frozen=True)
class LayerBlob:
    """A layer as stored: the blob (maybe compressed) and the uncompressed tar it holds."""

    digest: str
    diff_id: str
    media_type: str
    size: int
    tar_size: int


@dataclass(frozen=True)
class SnapshotRow:
    chain_id: str
    diff_id: str
    parent: str
    size: int


@dataclass(frozen=True)
class ImageRecord:
    id: str
    created: str
    size: int
    manifest: str | None
    added: float
    layers: tuple[tuple[str, str], ...]  # (chain_id, layer blob digest), lowest first
    parent: str = ""
    last_tag: float | None = None


@dataclass(frozen=True)
class RefRow:
    name: str  # normalized: docker.io/library/busybox:latest or ...@sha256:...
    image_id: str
    kind: str  # "tag" | "digest"
    added: float


class Metadata:
    """The metadata database; every method is safe to call from any thread."""

    def __init__(self, path: Path) -> None:
        self._lock = threading.RLock()
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA foreign_keys=ON")
        with self._write() as db:
            for statement in filter(str.strip, _SCHEMA.split(";")):
                db.execute(statement)
            db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _rows(self, sql: str, args: Iterable[object] = ()) -> list[tuple]:
        with self._lock:
            return self._db.execute(sql, tuple(args)).fetchall()

    # images

    def add_image(
        self,
        image: ImageRecord,
        blobs: Iterable[LayerBlob],
        snapshots: Iterable[SnapshotRow],
        refs: Iterable[tuple[str, str]],
        now: float,
    ) -> list[tuple[str, str]]:
        """Insert an image (kept if present) and point `refs` (name, kind) at it, in one transaction.

        Returns the (name, previous image id) of references that moved from another image.
        """
        moved: list[tuple[str, str]] = []
        with self._write() as db:
            db.executemany(
                "INSERT OR IGNORE INTO layer_blobs VALUES (?,?,?,?,?)",
                [(b.digest, b.diff_id, b.media_type, b.size, b.tar_size) for b in blobs],
            )
            db.executemany(
                "INSERT OR IGNORE INTO snapshots VALUES (?,?,?,?)",
                [(s.chain_id, s.diff_id, s.parent, s.size) for s in snapshots],
            )
            if db.execute("SELECT 1 FROM images WHERE id=?", (image.id,)).fetchone() is None:
                db.execute(
                    "INSERT INTO images VALUES (?,?,?,?,?,?,?)",
                    (image.id, image.created, image.size, image.manifest, image.parent, image.added, None),
                )
                db.executemany(
                    "INSERT INTO image_layers VALUES (?,?,?,?)",
                    [(image.id, i, chain, blob) for i, (chain, blob) in enumerate(image.layers)],
                )
            for name, kind in refs:
                old = db.execute("SELECT image_id FROM refs WHERE name=?", (name,)).fetchone()
                if old is not None and old[0] != image.id:
                    moved.append((name, old[0]))
                db.execute("INSERT OR REPLACE INTO refs VALUES (?,?,?,?)", (name, image.id, kind, now))
                if kind == "tag":
                    db.execute("UPDATE images SET last_tag=? WHERE id=?", (now, image.id))
        return moved

    def image(self, image_id: str) -> ImageRecord | None:
        rows = self._rows("SELECT * FROM images WHERE id=?", (image_id,))
        return self._image(rows[0]) if rows else None

    def images(self) -> list[ImageRecord]:
        return [self._image(row) for row in self._rows("SELECT * FROM images ORDER BY added")]

    def _image(self, row: tuple) -> ImageRecord:
        layers = self._rows("SELECT chain_id, blob FROM image_layers WHERE image_id=? ORDER BY idx", (row[0],))
        return ImageRecord(
            id=row[0], created=row[1], size=row[2], manifest=row[3], parent=row[4], added=row[5],
            last_tag=row[6], layers=tuple((c, b) for c, b in layers),
        )

    def ids_with_prefix(self, hex_prefix: str) -> list[str]:
        if not hex_prefix or any(c not in "0123456789abcdef" for c in hex_prefix):
            return []
        return [r[0] for r in self._rows("SELECT id FROM images WHERE id LIKE ?", (f"sha256:{hex_prefix}%",))]

    def delete_image(self, image_id: str) -> None:
        with self._write() as db:
            db.execute("DELETE FROM refs WHERE image_id=?", (image_id,))
            db.execute("DELETE FROM image_layers WHERE image_id=?", (image_id,))
            db.execute("DELETE FROM images WHERE id=?", (image_id,))

    # references

    def ref(self, name: str) -> str | None:
        rows = self._rows("SELECT image_id FROM refs WHERE name=?", (name,))
        return rows[0][0] if rows else None

    def refs_of(self, image_id: str) -> list[RefRow]:
        return [RefRow(*r) for r in self._rows("SELECT * FROM refs WHERE image_id=? ORDER BY name", (image_id,))]

    def all_refs(self) -> list[RefRow]:
        return [RefRow(*r) for r in self._rows("SELECT * FROM refs ORDER BY name")]

    def set_ref(self, name: str, image_id: str, kind: str, now: float) -> str | None:
        """Point `name` at `image_id`; returns the image it pointed at before, if another."""
        with self._write() as db:
            old = db.execute("SELECT image_id FROM refs WHERE name=?", (name,)).fetchone()
            db.execute("INSERT OR REPLACE INTO refs VALUES (?,?,?,?)", (name, image_id, kind, now))
            if kind == "tag":
                db.execute("UPDATE images SET last_tag=? WHERE id=?", (now, image_id))
        return old[0] if old is not None and old[0] != image_id else None

    def delete_ref(self, name: str) -> None:
        with self._write() as db:
            db.execute("DELETE FROM refs WHERE name=?", (name,))

    # layers and snapshots

    def layer_blob(self, digest: str) -> LayerBlob | None:
        rows = self._rows("SELECT * FROM layer_blobs WHERE digest=?", (digest,))
        return LayerBlob(*rows[0]) if rows else None

    def snapshot(self, chain_id: str) -> SnapshotRow | None:
        rows = self._rows("SELECT * FROM snapshots WHERE chain_id=?", (chain_id,))
        return SnapshotRow(*rows[0]) if rows else None

    def snapshot_refcount(self, chain_id: str) -> int:
        return int(self._rows("SELECT COUNT(*) FROM image_layers WHERE chain_id=?", (chain_id,))[0][0])

    def referenced_blobs(self) -> set[str]:
        rows = self._rows(
            "SELECT id FROM images UNION SELECT manifest FROM images WHERE manifest IS NOT NULL "
            "UNION SELECT blob FROM image_layers"
        )
        return {r[0] for r in rows}

    def referenced_chains(self) -> set[str]:
        return {r[0] for r in self._rows("SELECT DISTINCT chain_id FROM image_layers")}

    def drop_unreferenced(self, keep: Collection[str] = ()) -> list[SnapshotRow]:
        """Forget snapshots and layer blobs no image uses (but those in `keep`); returns the
        snapshots forgotten."""
        with self._write() as db:
            gone = [
                SnapshotRow(*r)
                for r in db.execute(
                    "SELECT * FROM snapshots WHERE chain_id NOT IN (SELECT chain_id FROM image_layers)"
                ).fetchall()
                if r[0] not in keep
            ]
            db.executemany("DELETE FROM snapshots WHERE chain_id=?", [(r.chain_id,) for r in gone])
            blobs = db.execute(
                "SELECT digest FROM layer_blobs WHERE digest NOT IN (SELECT blob FROM image_layers)"
            ).fetchall()
            db.executemany("DELETE FROM layer_blobs WHERE digest=?", [b for b in blobs if b[0] not in keep])
        return gone
