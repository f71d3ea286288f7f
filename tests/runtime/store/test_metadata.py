"""The sqlite metadata: images with layers and references, refcounts, atomic replace."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from runtime.store import ImageRecord, LayerBlob, Metadata
from runtime.store.metadata import SnapshotRow

A, B, C = ("sha256:" + c * 64 for c in "abc")


def image(image_id: str, chains: list[str]) -> ImageRecord:
    return ImageRecord(image_id, "2024-01-01T00:00:00Z", 10, None, 1.0, tuple((c, c) for c in chains))


def add(meta: Metadata, image_id: str, chains: list[str], refs: tuple[tuple[str, str], ...] = ()) -> list:
    blobs = [LayerBlob(c, c, "application/vnd.oci.image.layer.v1.tar", 1, 1) for c in chains]
    snaps = [SnapshotRow(c, c, "", 5) for c in chains]
    return meta.add_image(image(image_id, chains), blobs, snaps, refs, 2.0)


def test_add_query_and_refcounts(tmp_path: Path) -> None:
    meta = Metadata(tmp_path / "m.db")
    add(meta, A, [A, B], (("docker.io/library/x:1", "tag"),))
    add(meta, C, [A], (("docker.io/library/y:1", "tag"),))
    assert meta.image(A) == replace(image(A, [A, B]), last_tag=2.0)
    assert meta.snapshot_refcount(A) == 2 and meta.snapshot_refcount(B) == 1
    assert meta.ref("docker.io/library/x:1") == A
    assert [r.name for r in meta.refs_of(C)] == ["docker.io/library/y:1"]
    assert meta.ids_with_prefix("aaaa") == [A] and meta.ids_with_prefix("%") == []
    assert meta.referenced_blobs() == {A, B, C} and meta.referenced_chains() == {A, B}
    meta.close()


def test_moving_a_tag_reports_the_old_image(tmp_path: Path) -> None:
    meta = Metadata(tmp_path / "m.db")
    add(meta, A, [A], (("n:1", "tag"),))
    assert add(meta, B, [B], (("n:1", "tag"),)) == [("n:1", A)]
    assert meta.set_ref("n:1", A, "tag", 3.0) == B
    assert meta.set_ref("n:1", A, "tag", 3.0) is None


def test_delete_and_drop_unreferenced(tmp_path: Path) -> None:
    meta = Metadata(tmp_path / "m.db")
    add(meta, A, [A, B], (("n:1", "tag"),))
    add(meta, C, [A])
    meta.delete_image(A)
    assert meta.image(A) is None and meta.ref("n:1") is None
    gone = meta.drop_unreferenced(keep=())
    assert [r.chain_id for r in gone] == [B]
    assert meta.snapshot(A) is not None and meta.layer_blob(B) is None


def test_drop_keeps_leased(tmp_path: Path) -> None:
    meta = Metadata(tmp_path / "m.db")
    add(meta, A, [B])
    meta.delete_image(A)
    assert meta.drop_unreferenced(keep={B}) == [] and meta.snapshot(B) is not None


def test_survives_reopen_in_wal_mode(tmp_path: Path) -> None:
    meta = Metadata(tmp_path / "m.db")
    add(meta, A, [A], (("n:1", "tag"),))
    meta.close()
    again = Metadata(tmp_path / "m.db")
    assert again.ref("n:1") == A
    assert again._rows("PRAGMA journal_mode")[0][0] == "wal"
