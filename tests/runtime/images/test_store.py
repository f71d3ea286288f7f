"""The ImageStore facade: import, names, inspect/history shapes, ls filters, rm, prune, sharing."""

from __future__ import annotations

import io
import os
import subprocess
from pathlib import Path

import pytest

from runtime.images import ImageConflict, ImageInvalid, ImageNotFound, ImageStore
from tests.runtime.images.archives import Img, config_for, docker_archive, layer_tar, sha256

BASE = layer_tar([("bin", "dir"), ("bin/tool", "file", b"base" * 1000)])


def load(store: ImageStore, *images: Img) -> list[str]:
    return store.load(io.BytesIO(docker_archive(list(images))))


def test_busybox_import_with_changes(store: ImageStore, busybox_tar: Path) -> None:
    changes = ['CMD ["sh", "-c", "echo hi"]', "ENV PATH=/bin:/usr/bin GREETING='hello world'",
               "EXPOSE 8080 53/udp", "LABEL org.example=yes", "WORKDIR /srv", "USER nobody",
               "VOLUME /data", "STOPSIGNAL SIGINT", "ENTRYPOINT /bin/busybox"]
    with open(busybox_tar, "rb") as f:
        image_id = store.import_rootfs(f, "busybox", "test", changes, message="made in a test")
    info = store.inspect("busybox:test")
    assert info["Id"] == image_id and info["RepoTags"] == ["busybox:test"]
    cfg = info["Config"]
    assert cfg["Cmd"] == ["sh", "-c", "echo hi"]
    assert cfg["Entrypoint"] == ["/bin/sh", "-c", "/bin/busybox"]
    assert cfg["Env"] == ["PATH=/bin:/usr/bin", "GREETING=hello world"]
    assert cfg["ExposedPorts"] == {"8080/tcp": {}, "53/udp": {}}
    assert cfg["Labels"] == {"org.example": "yes"} and cfg["WorkingDir"] == "/srv" and cfg["User"] == "nobody"
    assert cfg["Volumes"] == {"/data": {}} and cfg["StopSignal"] == "SIGINT"
    assert info["Comment"] == "made in a test" and info["Os"] == "linux"
    assert info["RootFS"]["Type"] == "layers" and len(info["RootFS"]["Layers"]) == 1
    (fs,) = store.rootfs_layers("busybox:test")
    assert (fs / "bin/busybox").stat().st_size == Path("/bin/busybox").stat().st_size
    assert os.readlink(fs / "bin/sh") == "/bin/busybox"
    assert "nobody:x:65534" in (fs / "etc/passwd").read_text()
    assert oct((fs / "tmp").stat().st_mode & 0o7777) == "0o1777"
    history = store.history(image_id)
    assert history[0]["Id"] == image_id and history[0]["Comment"] == "made in a test"
    assert history[0]["Size"] == info["Size"] > 1_000_000


def test_busybox_runs_in_its_rootfs(store: ImageStore, busybox: str) -> None:
    (fs,) = store.rootfs_layers("busybox")
    out = subprocess.run(["chroot", str(fs), "/bin/sh", "-c", "echo $((6*7)); id -un"],
                         capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["42", "root"]


def test_bad_change_is_refused_before_reading(store: ImageStore) -> None:
    with pytest.raises(ImageInvalid, match="RUN is not a valid change command"):
        store.import_rootfs(io.BytesIO(b""), None, None, ["RUN rm -rf /"])


def test_resolve_forms(store: ImageStore, busybox: str) -> None:
    for ref in ("busybox", "busybox:latest", "docker.io/library/busybox", "docker.io/library/busybox:latest",
                busybox, busybox[7:], busybox[7:19], busybox[:19]):
        assert store.resolve(ref) == busybox
    for ref in ("busybox:nope", "other", "sha256:" + "0" * 64, "ffffffffffff"):
        with pytest.raises(ImageNotFound, match=f"No such image: {ref}"):
            store.resolve(ref)


def test_tag_and_untag_vs_delete(store: ImageStore, busybox: str) -> None:
    store.tag("busybox", "example.com:5000/team/bb", "v1")
    store.tag(busybox, "bb")
    assert store.inspect("bb")["RepoTags"] == ["bb:latest", "busybox:latest", "example.com:5000/team/bb:v1"]
    assert store.remove("bb") == [{"Untagged": "bb:latest"}]
    assert store.remove("busybox:latest") == [{"Untagged": "busybox:latest"}]
    with pytest.raises(ImageNotFound):
        store.resolve("busybox")
    (fs,) = store.rootfs_layers(busybox)
    out = store.remove("example.com:5000/team/bb:v1")
    assert out[0] == {"Untagged": "example.com:5000/team/bb:v1"}
    assert out[1] == {"Deleted": busybox}
    assert out[2] == {"Deleted": "sha256:" + fs.parent.name} and len(out) == 3
    assert not fs.exists()
    assert store.list_summaries() == []


def test_remove_by_id_with_many_repositories_needs_force(store: ImageStore, busybox: str) -> None:
    store.tag(busybox, "another")
    with pytest.raises(ImageConflict, match="referenced in multiple repositories"):
        store.remove(busybox[7:19])
    out = store.remove(busybox[7:19], force=True)
    assert {"Untagged": "another:latest"} in out and {"Deleted": busybox} in out


def test_remove_in_use(store: ImageStore, busybox: str) -> None:
    used = {busybox}

    def in_use(image_id: str) -> bool:
        return image_id in used

    with pytest.raises(ImageConflict, match='unable to remove repository reference "busybox"'):
        store.remove("busybox", in_use=in_use)
    with pytest.raises(ImageConflict, match="image is being used"):
        store.remove(busybox, in_use=in_use)
    assert store.remove(busybox, force=True, in_use=in_use) == [{"Untagged": "busybox:latest"}]
    assert store.rootfs_layers(busybox)[0].is_dir()  # kept for the container
    assert store.prune(in_use=in_use)["ImagesDeleted"] == []
    used.clear()
    pruned = store.prune()
    assert {"Deleted": busybox} in pruned["ImagesDeleted"] and pruned["SpaceReclaimed"] > 1_000_000


def test_shared_base_snapshot(store: ImageStore) -> None:
    top_a = layer_tar([("a", "file", b"a")])
    top_b = layer_tar([("b", "file", b"b")])
    load(store, Img([BASE, top_a], ["app-a:1"]), Img([BASE, top_b], ["app-b:1"]))
    a, b = store.rootfs_layers("app-a:1"), store.rootfs_layers("app-b:1")
    assert a[0] == b[0] and a[1] != b[1]
    assert len(os.listdir(a[0].parent.parent)) == 3
    store.remove("app-a:1")
    assert a[0].is_dir() and not a[1].exists()
    assert (b[0] / "bin/tool").read_bytes() == b"base" * 1000
    store.remove("app-b:1")
    assert not b[0].exists()


def test_list_filters(store: ImageStore) -> None:
    one = layer_tar([("x", "file", b"1")])
    two = layer_tar([("x", "file", b"2")])
    three = layer_tar([("x", "file", b"3")])
    load(store,
         Img([one], ["web:1", "web:2"], config=config_for([one], "2024-01-01T00:00:00Z", Labels={"tier": "front"})),
         Img([two], ["db:1"], config=config_for([two], "2024-02-01T00:00:00Z", Labels={"tier": "back", "x": "y"})),
         Img([three], [], config=config_for([three], "2024-03-01T00:00:00Z")))

    def tags(**flt: list[str]) -> list[list[str]]:
        return [s["RepoTags"] for s in store.list_summaries(filters=flt)]

    assert tags() == [[], ["db:1"], ["web:1", "web:2"]]
    assert tags(reference=["web"]) == [["web:1", "web:2"]]
    assert tags(reference=["web:2"]) == [["web:2"]]
    assert tags(reference=["w*:1", "d?"]) == [["db:1"], ["web:1"]]
    assert tags(dangling=["true"]) == [[]]
    assert tags(dangling=["false"]) == [["db:1"], ["web:1", "web:2"]]
    assert tags(label=["tier"]) == [["db:1"], ["web:1", "web:2"]]
    assert tags(label=["tier=back", "x"]) == [["db:1"]]
    assert tags(before=["db:1"]) == [["web:1", "web:2"]]
    assert tags(since=["db:1"]) == [[]]
    assert tags(until=["2024-01-15"]) == [["web:1", "web:2"]]
    with pytest.raises(ImageInvalid, match="invalid filter 'nope'"):
        store.list_summaries(filters={"nope": ["x"]})
    summary = store.list_summaries(filters={"reference": ["db"]})[0]
    assert set(summary) == {"Id", "ParentId", "RepoTags", "RepoDigests", "Created", "Size", "SharedSize",
                            "Labels", "Containers"}
    assert summary["Labels"] == {"tier": "back", "x": "y"} and summary["Created"] == 1706745600


def test_prune_dangling_and_all(store: ImageStore) -> None:
    one = layer_tar([("x", "file", b"1")])
    two = layer_tar([("x", "file", b"2" * 5000)])
    load(store, Img([one], ["kept:1"]), Img([two], []))
    result = store.prune()
    assert next(e for e in result["ImagesDeleted"] if "Deleted" in e)["Deleted"].startswith("sha256:")
    assert result["SpaceReclaimed"] == 5000
    assert [s["RepoTags"] for s in store.list_summaries()] == [["kept:1"]]
    result = store.prune(dangling_only=False)
    assert {"Untagged": "kept:1"} in result["ImagesDeleted"]
    assert store.list_summaries() == []
    assert list((store.root / "blobs" / "sha256").iterdir()) == []
    assert list((store.root / "snapshots").iterdir()) == []


def test_prune_label_filters(store: ImageStore) -> None:
    one = layer_tar([("x", "file", b"1")])
    two = layer_tar([("x", "file", b"2")])
    load(store, Img([one], ["a:1"], config=config_for([one], Labels={"keep": "1"})), Img([two], ["b:1"]))
    deleted = store.prune(dangling_only=False, filters={"label!": ["keep"]})["ImagesDeleted"]
    assert {"Untagged": "b:1"} in deleted
    assert [s["RepoTags"] for s in store.list_summaries()] == [["a:1"]]
    with pytest.raises(ImageInvalid):
        store.prune(filters={"reference": ["a"]})


def test_history_shape(store: ImageStore) -> None:
    top = layer_tar([("t", "file", b"t" * 10)])
    load(store, Img([BASE, top], ["h:1"]))
    history = store.history("h:1")
    assert [h["CreatedBy"] for h in history] == ["layer 1", "layer 0"]
    assert history[0]["Tags"] == ["h:1"] and history[1]["Id"] == "<missing>" and history[1]["Tags"] is None
    assert [h["Size"] for h in history] == [10, 4000]


def test_inspect_shape(store: ImageStore, busybox: str) -> None:
    info = store.inspect("busybox")
    for key in ("Id", "RepoTags", "RepoDigests", "Parent", "Comment", "Created", "DockerVersion", "Author",
                "Config", "Architecture", "Os", "Size", "GraphDriver", "RootFS", "Metadata"):
        assert key in info
    assert info["GraphDriver"]["Name"] == "overlay2"
    assert info["GraphDriver"]["Data"]["UpperDir"] == str(store.rootfs_layers("busybox")[0])
    assert info["Metadata"]["LastTagTime"].endswith("Z")


def test_tag_errors(store: ImageStore, busybox: str) -> None:
    with pytest.raises(ImageInvalid, match="lowercase"):
        store.tag("busybox", "BusyBox")
    with pytest.raises(ImageInvalid, match="digest"):
        store.tag("busybox", "bb@sha256:" + "a" * 64)
    with pytest.raises(ImageNotFound):
        store.tag("nothing", "bb")


def test_retag_moves_name_and_reload_reports(store: ImageStore) -> None:
    one = layer_tar([("x", "file", b"1")])
    two = layer_tar([("x", "file", b"2")])
    load(store, Img([one], ["app:1"]))
    old = store.resolve("app:1")
    messages = load(store, Img([two], ["app:1"]))
    assert messages[0] == f"The image app:1 already exists, renaming the old one with ID {old} to empty string"
    assert messages[-1] == "Loaded image: app:1"
    assert store.inspect(old)["RepoTags"] == []


def test_reopen_serves_the_same(tmp_path: Path, busybox_tar: Path) -> None:
    store = ImageStore(tmp_path / "r")
    with open(busybox_tar, "rb") as f:
        image_id = store.import_rootfs(f, "busybox", None, [])
    store.close()
    again = ImageStore(tmp_path / "r")
    try:
        assert again.resolve("busybox") == image_id
        assert again.rootfs_layers("busybox")[0].joinpath("bin/busybox").is_file()
    finally:
        again.close()


def test_import_compressed_rootfs(store: ImageStore) -> None:
    import gzip

    layer = layer_tar([("hello", "file", b"world")])
    image_id = store.import_rootfs(io.BytesIO(gzip.compress(layer)), "gz/rootfs", "v1", [])
    info = store.inspect("gz/rootfs:v1")
    assert info["Id"] == image_id and info["RootFS"]["Layers"] == [sha256(layer)]
    assert (store.rootfs_layers(image_id)[0] / "hello").read_bytes() == b"world"


def test_save_several_images_dedupes_shared_layers(store: ImageStore) -> None:
    top_a = layer_tar([("a", "file", b"a")])
    top_b = layer_tar([("b", "file", b"b")])
    load(store, Img([BASE, top_a], ["app-a:1"]), Img([BASE, top_b], ["app-b:1"]))
    buf = io.BytesIO()
    store.save(["app-a:1", "app-b:1"], buf)
    import tarfile

    with tarfile.open(fileobj=io.BytesIO(buf.getvalue())) as tar:
        names = tar.getnames()
    assert names.count(f"blobs/sha256/{sha256(BASE)[7:]}") == 1
    other_root = store.root.parent / "other"
    other = ImageStore(other_root)
    try:
        assert sorted(other.load(io.BytesIO(buf.getvalue()))) == ["Loaded image: app-a:1", "Loaded image: app-b:1"]
    finally:
        other.close()


def test_concurrent_loads_and_removes(store: ImageStore) -> None:
    import threading

    tops = [layer_tar([(f"t{i}", "file", str(i).encode() * 1000)]) for i in range(8)]
    archives = [docker_archive([Img([BASE, top], [f"c{i}:1"])]) for i, top in enumerate(tops)]
    errors: list[BaseException] = []

    def worker(i: int) -> None:
        try:
            for _ in range(3):
                store.load(io.BytesIO(archives[i]))
                if i % 2:
                    store.remove(f"c{i}:1")
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert sorted(t for s in store.list_summaries() for t in s["RepoTags"]) == ["c0:1", "c2:1", "c4:1", "c6:1"]
    for i in (0, 2, 4, 6):
        base, top = store.rootfs_layers(f"c{i}:1")
        assert (base / "bin/tool").is_file() and (top / f"t{i}").is_file()
    assert len(os.listdir(store.root / "snapshots")) == 5
    store.prune(dangling_only=False)
    assert os.listdir(store.root / "blobs" / "sha256") == [] and os.listdir(store.root / "snapshots") == []
