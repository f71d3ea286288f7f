"""`pycompose image …` against a private engine, checked against what docker prints."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from compose.cli.image_rows import history_rows, image_rows, message_text, prune_report, split_reference
from tests.compose.cli.engines import (
    PYCOMPOSE,
    busybox_engine,
    environ,
    import_busybox,
    ok,
    pycompose,
    pycompose_bytes,
)
from tests.compose.cli.engines import docker_out as docker
from tests.engine_fixture import EngineHandle


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[EngineHandle, Path]]:
    with busybox_engine(tmp_path_factory.mktemp("image-cli")) as made:
        yield made


@pytest.fixture
def engine(setup: tuple[EngineHandle, Path]) -> EngineHandle:
    return setup[0]


@pytest.fixture
def rootfs(setup: tuple[EngineHandle, Path]) -> Path:
    return setup[1]


def image_id(handle: EngineHandle, ref: str) -> str:
    return ok(handle, "image", "inspect", "-f", "{{.Id}}", ref).strip()


# pure rows


def test_rows_for_tags_digests_and_dangling() -> None:
    summary = {"Id": "sha256:" + "ab" * 32, "Created": 100, "Size": 1982372, "SharedSize": -1, "Containers": -1,
               "RepoTags": ["x:1", "localhost:5000/a/b:c"], "RepoDigests": ["x@sha256:" + "cd" * 32, "y@sha256:ef"]}
    rows = image_rows([summary], now=160)
    assert [(r["Repository"], r["Tag"], r["Digest"]) for r in rows] == [
        ("localhost:5000/a/b", "c", "<none>"), ("x", "1", "<none>"), ("y", "<none>", "<none>")]
    assert rows[0]["ID"] == "abababababab" and rows[0]["CreatedSince"] == "About a minute ago"
    assert rows[0]["Size"] == "1.98MB" and rows[0]["VirtualSize"] == "1.982MB" and rows[0]["SharedSize"] == "N/A"
    with_digests = image_rows([summary], digests=True, now=160)
    assert ("x", "1", "sha256:" + "cd" * 32) in [(r["Repository"], r["Tag"], r["Digest"]) for r in with_digests]
    (dangling,) = image_rows([{**summary, "RepoTags": [], "RepoDigests": []}], no_trunc=True)
    assert (dangling["Repository"], dangling["Tag"], dangling["ID"]) == ("<none>", "<none>", summary["Id"])


def test_history_rows_and_reports() -> None:
    entries = [{"Id": "sha256:" + "ab" * 32, "Created": 100, "CreatedBy": "/bin/sh -c\t" + "x" * 60, "Size": 10,
                "Comment": "c"}, {"Id": "<missing>", "Created": 50, "CreatedBy": "", "Size": 0}]
    first, second = history_rows(entries, now=100)
    assert first["ID"] == "abababababab" and len(first["CreatedBy"]) == 45 and "\t" not in first["CreatedBy"]
    assert second["ID"] == "<missing>" and second["Size"] == "0B"
    raw = history_rows(entries, human=False)[0]
    assert raw["Size"] == "10" and raw["CreatedSince"] == raw["CreatedAt"]
    assert split_reference("localhost:5000/a:1@sha256:x") == ("localhost:5000/a", "1", "sha256:x")
    assert split_reference("localhost:5000/a") == ("localhost:5000/a", None, None)
    assert prune_report({"ImagesDeleted": [{"Untagged": "a:1"}, {"Deleted": "sha256:x"}], "SpaceReclaimed": 2000}) \
        == "Deleted Images:\nuntagged: a:1\ndeleted: sha256:x\n\nTotal reclaimed space: 2kB\n"
    assert message_text({"status": "Loading", "id": "abc", "progress": "[==>]"}) == "abc: Loading [==>]\n"


# against the engine


@pytest.mark.root
def test_ls_matches_docker(engine: EngineHandle) -> None:
    table = ok(engine, "image", "ls").splitlines()
    assert table[0].split() == ["REPOSITORY", "TAG", "IMAGE", "ID", "CREATED", "SIZE"]
    assert table[1].split()[:3] == ["busybox", "latest", image_id(engine, "busybox")[7:19]]
    fixed = "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.Size}}\t{{.CreatedAt}}"
    assert ok(engine, "image", "ls", "--format", fixed) == docker(engine, "images", "--format", fixed)
    ours = [json.loads(line) for line in ok(engine, "image", "ls", "--format", "json").splitlines()]
    theirs = [json.loads(line) for line in docker(engine, "images", "--format", "json").splitlines()]
    for row in ours + theirs:
        row.pop("CreatedSince")
    assert ours == theirs
    assert ok(engine, "image", "ls", "-q") == docker(engine, "images", "-q")
    assert ok(engine, "image", "ls", "--no-trunc", "-q").strip() == image_id(engine, "busybox")


@pytest.mark.root
def test_ls_filters(engine: EngineHandle, rootfs: Path) -> None:
    ok(engine, "image", "import", "-c", "LABEL team=blue", str(rootfs), "labelled:1")
    try:
        assert ok(engine, "image", "ls", "--format", "{{.Repository}}", "--filter", "label=team=blue") == "labelled\n"
        assert ok(engine, "image", "ls", "--format", "{{.Repository}}", "-f", "reference=bus*") == "busybox\n"
        assert ok(engine, "image", "ls", "--format", "{{.Repository}}", "labelled") == "labelled\n"
        assert ok(engine, "image", "ls", "-q", "--filter", "dangling=true") == ""
        bad = pycompose(engine, "image", "ls", "--filter", "nonsense")
        assert bad.returncode == 2 and "name=value" in bad.stderr
    finally:
        ok(engine, "image", "rm", "labelled:1")


@pytest.mark.root
def test_inspect(engine: EngineHandle) -> None:
    (data,) = json.loads(ok(engine, "image", "inspect", "busybox"))
    assert data["Config"]["Cmd"] == ["sh"] and data["RepoTags"] == ["busybox:latest"]
    assert ok(engine, "image", "inspect", "busybox") == docker(engine, "image", "inspect", "busybox")
    assert ok(engine, "image", "inspect", "-f", "{{.Config.Cmd}} {{json .RepoTags}}", "busybox") == \
        '[sh] ["busybox:latest"]\n'
    missing = pycompose(engine, "image", "inspect", "busybox", "no/such:image")
    assert missing.returncode == 1 and missing.stderr == "No such image: no/such:image\n"
    assert len(json.loads(missing.stdout)) == 1


@pytest.mark.root
def test_history(engine: EngineHandle) -> None:
    lines = ok(engine, "image", "history", "busybox").splitlines()
    assert lines[0].split() == ["IMAGE", "CREATED", "CREATED", "BY", "SIZE", "COMMENT"]
    assert lines[1].startswith(image_id(engine, "busybox")[7:19])
    assert ok(engine, "image", "history", "-q", "busybox") == docker(engine, "history", "-q", "busybox")
    assert ok(engine, "image", "history", "-q", "--no-trunc", "busybox").strip() == image_id(engine, "busybox")
    raw = "{{.ID}} {{.CreatedAt}} {{.Size}} {{.Comment}}"
    assert ok(engine, "image", "history", "-H=false", "--format", raw, "busybox") == \
        docker(engine, "history", "-H=false", "--format", raw, "busybox")


@pytest.mark.root
def test_tag_and_rm(engine: EngineHandle) -> None:
    ok(engine, "image", "tag", "busybox", "x:1")
    ok(engine, "image", "tag", "busybox", "localhost:5000/x")
    assert "x:1" in json.loads(ok(engine, "image", "inspect", "-f", "{{json .RepoTags}}", "busybox"))
    assert ok(engine, "image", "rm", "x:1", "localhost:5000/x") == "Untagged: x:1\nUntagged: localhost:5000/x:latest\n"
    missing = pycompose(engine, "image", "rm", "no-such:1")
    assert missing.returncode == 1 and missing.stderr == "No such image: no-such:1\n"


@pytest.mark.root
def test_import_with_changes_and_rm_deletes(engine: EngineHandle, rootfs: Path) -> None:
    new_id = ok(engine, "image", "import", "-c", 'CMD ["/bin/echo", "hi"]', "--change", "ENV A=b",
                "-c", "WORKDIR /tmp", "-m", "by pycompose", str(rootfs), "imported:2").strip()
    assert new_id.startswith("sha256:")
    (data,) = json.loads(ok(engine, "image", "inspect", "imported:2"))
    assert data["Id"] == new_id and data["Config"]["Cmd"] == ["/bin/echo", "hi"]
    assert "A=b" in data["Config"]["Env"] and data["Config"]["WorkingDir"] == "/tmp"
    assert "by pycompose" in ok(engine, "image", "history", "imported:2")
    from_stdin = ok(engine, "image", "import", "-", "stdin:1", stdin=rootfs.read_bytes()).strip()
    assert from_stdin.startswith("sha256:")
    removed = ok(engine, "image", "rm", "imported:2").splitlines()
    assert removed[0] == "Untagged: imported:2" and f"Deleted: {new_id}" in removed
    ok(engine, "image", "rm", "stdin:1")
    bad = pycompose(engine, "image", "import", "-c", "BOGUS x", str(rootfs))
    assert bad.returncode == 1 and len(bad.stderr.splitlines()) == 1


@pytest.mark.root
def test_save_and_load(engine: EngineHandle, tmp_path: Path) -> None:
    archive = tmp_path / "busybox.tar"
    assert ok(engine, "image", "save", "-o", str(archive), "busybox") == ""
    with tarfile.open(archive) as tar:
        names = tar.getnames()
    assert "manifest.json" in names and not list(tmp_path.glob(".busybox.tar.*"))
    streamed = pycompose_bytes(engine, "image", "save", "busybox")
    assert streamed.returncode == 0 and streamed.stdout[:512] == archive.read_bytes()[:512]
    ok(engine, "image", "tag", "busybox", "saved:1")
    ok(engine, "image", "save", "-o", str(archive), "saved:1")
    ok(engine, "image", "rm", "saved:1")
    assert ok(engine, "image", "load", "-i", str(archive)) == "Loaded image: saved:1\n"
    ok(engine, "image", "rm", "saved:1")
    assert ok(engine, "image", "load", stdin=archive.read_bytes()) == "Loaded image: saved:1\n"
    assert ok(engine, "image", "load", "-q", "-i", str(archive)) == "Loaded image: saved:1\n"
    ok(engine, "image", "rm", "saved:1")
    broken = pycompose(engine, "image", "load", stdin=b"not a tar")
    assert broken.returncode == 1 and len(broken.stderr.splitlines()) == 1
    missing = pycompose(engine, "image", "load", "-i", str(tmp_path / "nope.tar"))
    assert missing.returncode == 1 and "nope.tar" in missing.stderr


@pytest.mark.root
def test_save_refuses_a_terminal(engine: EngineHandle) -> None:
    leader, follower = pty.openpty()
    try:
        result = subprocess.run([PYCOMPOSE, "image", "save", "busybox"], env=environ(engine), stdout=follower,
                                stderr=subprocess.PIPE, timeout=60, check=False)
    finally:
        os.close(follower)
        os.close(leader)
    assert result.returncode == 1
    assert result.stderr == b"Error: cowardly refusing to save to a terminal. Use the -o flag or redirect\n"


@pytest.mark.root
def test_prune(engine: EngineHandle, rootfs: Path) -> None:
    dangling = ok(engine, "image", "import", str(rootfs)).strip()
    declined = ok(engine, "image", "prune", stdin="n\n")
    assert declined == "WARNING! This will remove all dangling images.\nAre you sure you want to continue? [y/N] "
    assert dangling in ok(engine, "image", "ls", "-q", "--no-trunc")
    pruned = ok(engine, "image", "prune", "-f")
    assert pruned.startswith(f"Deleted Images:\ndeleted: {dangling}\n")
    assert pruned.splitlines()[-1].startswith("Total reclaimed space: ")
    assert ok(engine, "image", "prune", "-f") == "Total reclaimed space: 0B\n"
    assert "busybox" in ok(engine, "image", "ls")
    ok(engine, "image", "tag", "busybox", "keep:1")
    kept = ok(engine, "image", "prune", "-a", "-f", "--filter", "label=nothing=here")
    assert kept == "Total reclaimed space: 0B\n"
    everything = ok(engine, "image", "prune", "-a", stdin="y\n")
    assert "untagged: busybox:latest" in everything and "untagged: keep:1" in everything
    assert ok(engine, "image", "ls", "-q") == ""
    import_busybox(engine, rootfs)  # for the tests after this one
