"""`cp` both ways, `export`, `commit`, `attach` and `stats` end to end against real containers."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import tarfile
import time

import pytest

from tests.compose.cli import compose_e2e
from tests.compose.cli.compose_e2e import Stack, wait_for
from tests.compose.cli.engines import PYCOMPOSE, environ

pytestmark = pytest.mark.root
compose_engine = compose_e2e.compose_engine  # a fixture: the module's engine
stack = compose_e2e.stack  # a fixture: a project folder and name, taken down after the test

LOOP = '["sh", "-c", "trap \'exit 0\' TERM; while true; do sleep 0.1; done"]'
TWO = f"""
services:
  web:
    image: busybox
    network_mode: none
    scale: 2
    command: {LOOP}
"""


def cat(stack: Stack, index: int, path: str) -> str:
    return stack.ok("exec", "--index", str(index), "-T", "web", "cat", path).stdout


def test_cp_into_every_replica_or_one(stack: Stack) -> None:
    stack.write(TWO)
    stack.ok("up", "-d")
    (stack.dir / "note.txt").write_text("hello\n")
    stack.ok("cp", "note.txt", "web:/tmp/")
    assert cat(stack, 1, "/tmp/note.txt") == "hello\n" and cat(stack, 2, "/tmp/note.txt") == "hello\n"
    stack.ok("cp", "--index", "2", "note.txt", "web:/tmp/renamed.txt")
    assert cat(stack, 2, "/tmp/renamed.txt") == "hello\n"
    assert stack.run("exec", "-T", "web", "cat", "/tmp/renamed.txt").returncode != 0
    tree = stack.dir / "tree"
    (tree / "sub").mkdir(parents=True)
    (tree / "sub" / "a").write_text("A")
    os.chown(tree / "sub" / "a", 1234, 1234)
    stack.ok("cp", "-a", "tree", "web:/srv")  # /srv does not exist: it becomes the copy
    assert cat(stack, 1, "/srv/sub/a") == "A"
    owner = stack.ok("exec", "-T", "web", "stat", "-c", "%u:%g", "/srv/sub/a").stdout.strip()
    assert owner == "1234:1234"
    stack.ok("cp", "tree/.", "web:/tmp")  # the contents only
    assert cat(stack, 1, "/tmp/sub/a") == "A"
    (stack.dir / "link").symlink_to("note.txt")
    stack.ok("cp", "-L", "link", "web:/tmp/followed")
    assert cat(stack, 1, "/tmp/followed") == "hello\n"
    missing = stack.run("cp", "nothing-here", "web:/tmp/")
    assert missing.returncode == 1 and "no such file" in missing.stderr and "Traceback" not in missing.stderr
    assert stack.run("cp", "note.txt", "nope:/tmp/").returncode == 1
    assert stack.run("cp", "a", "b").returncode == 1


def test_cp_out_of_a_container(stack: Stack) -> None:
    stack.write(TWO)
    stack.ok("up", "-d")
    stack.ok("exec", "-T", "web", "sh", "-c", "mkdir -p /data/d && echo one > /data/d/f && ln -s /data/d/f /data/l")
    stack.ok("cp", "web:/data/d/f", "out.txt")
    assert (stack.dir / "out.txt").read_text() == "one\n"
    (stack.dir / "into").mkdir()
    stack.ok("cp", "web:/data/d", "into")
    assert (stack.dir / "into" / "d" / "f").read_text() == "one\n"
    assert (stack.dir / "into" / "d" / "f").stat().st_uid == os.getuid()
    stack.ok("cp", "-L", "web:/data/l", "followed")
    assert (stack.dir / "followed").read_text() == "one\n" and not (stack.dir / "followed").is_symlink()
    streamed = subprocess.run(stack.argv(("cp", "web:/data/d", "-")), cwd=stack.dir, env=environ(stack.handle),
                              capture_output=True, timeout=60, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(streamed)) as tar:
        assert sorted(tar.getnames()) == ["d", "d/f"]
    assert stack.run("cp", "--index", "3", "web:/data/d/f", "x").returncode == 1
    missing = stack.run("cp", "web:/no/such/file", "x")
    assert missing.returncode == 1 and "Could not find the file /no/such/file" in missing.stderr


def test_export_and_commit(stack: Stack) -> None:
    stack.write(TWO)
    stack.ok("up", "-d")
    stack.ok("exec", "-T", "web", "sh", "-c", "echo made > /made.txt")
    stack.ok("export", "-o", "fs.tar", "web")
    with tarfile.open(stack.dir / "fs.tar") as tar:
        names = set(tar.getnames())
        assert "made.txt" in names and "bin/busybox" in names
    piped = subprocess.run([PYCOMPOSE, "-p", stack.name, "export", "--index", "2", "web"], cwd=stack.dir,
                           env=environ(stack.handle), capture_output=True, timeout=60, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(piped)) as tar:
        assert "made.txt" not in tar.getnames()
    assert stack.ok("--dry-run", "commit", "web", f"{stack.name}-dry:v1").stdout == ""
    image = stack.ok("commit", "-m", "snapshot", "-c", "ENV MADE=1", "web", f"{stack.name}-snap:v1").stdout.strip()
    assert image.startswith("sha256:")
    import docker

    client = docker.APIClient(base_url=stack.handle.host)
    try:
        found = client.inspect_image(f"{stack.name}-snap:v1")
        assert found["Id"] == image and found["Comment"] == "snapshot" and "MADE=1" in found["Config"]["Env"]
        client.remove_image(image)
        assert not client.images(name=f"{stack.name}-dry")  # the dry run made none
    finally:
        client.close()
    assert stack.run("commit", "nope").returncode == 1


def test_stats_no_stream_table_and_json(stack: Stack) -> None:
    stack.write(TWO)
    stack.ok("up", "-d")
    rows = [json.loads(line) for line in stack.ok("stats", "--no-stream", "--format", "json").stdout.splitlines()]
    assert sorted(r["Name"] for r in rows) == [f"{stack.name}-web-1", f"{stack.name}-web-2"]
    for row in rows:
        assert set(row) == {"BlockIO", "CPUPerc", "Container", "ID", "MemPerc", "MemUsage", "Name", "NetIO", "PIDs"}
        assert re.fullmatch(r"\d+\.\d\d%", row["CPUPerc"]) and re.fullmatch(r"\d+\.\d\d%", row["MemPerc"])
        assert " / " in row["MemUsage"] and int(row["PIDs"]) >= 1 and len(row["ID"]) == 12
    header, *lines = stack.ok("stats", "--no-stream", "web").stdout.splitlines()
    assert header.split()[:3] == ["CONTAINER", "ID", "NAME"] and "MEM USAGE / LIMIT" in header
    assert len(lines) == 2
    assert stack.ok("stats", "--no-stream", "--format", "{{.Name}}").stdout.split() == [
        f"{stack.name}-web-1", f"{stack.name}-web-2"]


def test_attach_reads_the_output_and_feeds_stdin(stack: Stack) -> None:
    stack.write("""
services:
  echo:
    image: busybox
    network_mode: none
    stdin_open: true
    command: ["sh", "-c", "while read line; do echo got:$$line; done"]
""")
    stack.ok("up", "-d")
    attached = subprocess.Popen(stack.argv(("attach", "echo")), cwd=stack.dir, env=environ(stack.handle),
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert attached.stdin is not None and attached.stdout is not None
        time.sleep(0.5)
        attached.stdin.write("ping\n")
        attached.stdin.flush()
        line = attached.stdout.readline()
        assert line == "got:ping\n", (line, stack.run("logs").stdout)
    finally:
        attached.kill()
        attached.communicate(timeout=10)
    assert wait_for(lambda: stack.states().get(f"{stack.name}-echo-1") == "running")
    assert stack.run("attach", "nope").returncode == 1
