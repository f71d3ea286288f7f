"""The builder's pure parts: options, history words, ARG scoping, stage plans, stream order, cache."""

from __future__ import annotations

import json
from pathlib import Path

import anyio
import pytest

from runtime.build import history, options, stages
from runtime.build.args import BuildArgs, StageArgs, platform_args
from runtime.build.builder import Ordered, label_instruction
from runtime.build.cache import BuildCache, step_key
from runtime.build.context import find_dockerfile
from runtime.build.prune import chosen
from runtime.dockerfile.parser import parse
from runtime.dockerfile.words import expand
from runtime.errors import EngineError


def _expand(word: str, env: object) -> str:
    return expand(word, env)  # type: ignore[arg-type]


def test_options_as_dockerd_reads_them() -> None:
    got = options.parse({"t": ["a:1", "b"], "buildargs": ['{"X":"1","Y":null}'], "labels": ['{"l":"v"}'],
                         "cachefrom": ['["c"]'], "nocache": ["1"], "rm": ["0"], "memory": ["1024"],
                         "extrahosts": ["h:1.2.3.4,i:5.6.7.8"], "networkmode": ["none"], "shmsize": ["65536"]})
    assert got.tags == ("a:1", "b") and dict(got.build_args) == {"X": "1", "Y": None}
    assert got.no_cache and not got.rm and got.cache_from == ("c",) and got.extra_hosts == ("h:1.2.3.4", "i:5.6.7.8")
    host = got.host_config()
    assert host["NetworkMode"] == "none" and host["Memory"] == 1024 and host["ShmSize"] == 65536
    assert options.parse({}).host_config()["NetworkMode"] == "bridge"
    with pytest.raises(EngineError, match="error reading build args"):
        options.parse({"buildargs": ["{bad"]})
    with pytest.raises(EngineError, match="invalid syntax"):
        options.parse({"memory": ["lots"]})
    with pytest.raises(EngineError, match="BuildKit"):
        options.parse({"version": ["2"]})


def test_history_words_are_gos() -> None:
    assert history.go_quote_list(["nginx", "-g", "daemon off;"]) == '["nginx" "-g" "daemon off;"]'
    assert history.go_list(["/a", "/b"]) == "[/a /b]"
    assert [history.go_duration(n) for n in (0, 5 * 10**9, 90 * 10**9, 1_500_000_000, 3_600 * 10**9, 250_000_000)] \
        == ["0s", "5s", "1m30s", "1.5s", "1h0m0s", "250ms"]
    assert history.go_quote_rune(3) == "'\\x03'" and history.go_quote_rune(65) == "'A'"
    health = {"Test": ["CMD-SHELL", "true"], "Interval": 5 * 10**9, "Timeout": 3 * 10**9, "Retries": 3}
    assert history.healthcheck_comment(health) == 'HEALTHCHECK &{["CMD-SHELL" "true"] "5s" "3s" "0s" "0s" \'\\x03\'}'
    assert history.created_by(history.nop(["/bin/sh", "-c"], 'CMD ["sh"]')) == '/bin/sh -c #(nop)  CMD ["sh"]'
    assert history.created_by(history.nop_string(["/bin/sh", "-c"], "WORKDIR /app")) == "/bin/sh -c #(nop) WORKDIR /app"
    assert history.run_command(["/bin/sh", "-c", "x"], {"B": "2", "A": "1"}) == \
        ["|2", "A=1", "B=2", "/bin/sh", "-c", "x"]


def test_arg_scoping() -> None:
    build = BuildArgs({"G": "given", "HTTP_PROXY": "http://p", "UNUSED": "u"}, platform_args())
    build.declare_globals([("G", "default"), ("H", "h-default")], _expand)
    assert build.for_from()["G"] == "given" and build.for_from()["H"] == "h-default"
    assert build.for_from()["TARGETPLATFORM"] == build.for_from()["BUILDPLATFORM"]
    stage = StageArgs(build)
    assert "H" not in stage.expansion_env([])  # a global needs a bare ARG in the stage
    stage.declare("H", None, {}, _expand)
    stage.declare("L", "${H}-local", stage.expansion_env([]), _expand)
    assert stage.values == {"H": "h-default", "L": "h-default-local"}
    env, keyed = stage.for_run(["L=from-env"])
    assert keyed == {"H": "h-default"} and env == {"H": "h-default", "HTTP_PROXY": "http://p"}
    assert build.unused() == ["UNUSED"]


def test_stage_plan_takes_what_the_target_needs() -> None:
    df = parse("FROM busybox AS a\nFROM busybox AS b\nCOPY --from=a /x /x\nFROM b AS c\nFROM busybox AS d\n")
    plan = stages.plan(df, "c", lambda w: w)
    assert plan.order == (0, 1, 2) and plan.needs[2] == frozenset({1}) and plan.needs[1] == frozenset({0})
    assert stages.plan(df, "", lambda w: w).order == (3,)
    with pytest.raises(EngineError, match="failed to reach build target zz"):
        stages.plan(df, "zz", lambda w: w)


def test_ordered_output_keeps_stage_order() -> None:
    seen: list[str] = []

    async def sink(message: dict[str, object]) -> None:
        seen.append(str(message["stream"]))

    async def main() -> None:
        ordered = Ordered(sink, [0, 1])
        await ordered.for_stage(1)({"stream": "b1"})
        await ordered.for_stage(0)({"stream": "a1"})
        await ordered.finished(1)
        await ordered.for_stage(0)({"stream": "a2"})
        await ordered.finished(0)

    anyio.run(main)
    assert seen == ["a1", "a2", "b1"]


def test_label_step_and_cache(tmp_path: Path) -> None:
    label = label_instruction([("b", "2"), ("a", "1")])
    assert label is not None and label.original == "LABEL \"a\"='1' \"b\"='2' "
    cache = BuildCache(tmp_path / "cache")
    key = step_key("sha256:p", {"Cmd": ["x"]}, "linux/amd64")
    assert key != step_key("sha256:p", {"Cmd": ["y"]}, "linux/amd64")
    cache.record(key, "sha256:img", "sha256:p")
    assert cache.lookup(key, lambda i: True) == "sha256:img"
    assert cache.lookup(key, lambda i: False) is None and cache.lookup(key, lambda i: True) is None
    cache.record(key, "sha256:img", "sha256:p")
    entries = list(cache.entries())
    assert chosen(entries, {}, 0, {}, 0.0) == entries
    assert chosen(entries, {"id": ["nomatch"]}, 0, {}, 0.0) == []
    assert chosen(entries, {}, 10**9, {"sha256:img": 10}, 0.0) == []
    with pytest.raises(EngineError, match="invalid filter"):
        chosen(entries, {"bogus": ["1"]}, 0, {}, 0.0)


def test_dockerfile_lookup(tmp_path: Path) -> None:
    (tmp_path / "dockerfile").write_text("FROM busybox\n")
    assert find_dockerfile(tmp_path, "Dockerfile", False).dockerfile == "dockerfile"
    with pytest.raises(EngineError, match="Cannot locate specified Dockerfile: other"):
        find_dockerfile(tmp_path, "other", True)
    (tmp_path / "empty").write_text("\n")
    with pytest.raises(EngineError, match="cannot be empty"):
        find_dockerfile(tmp_path, "empty", True)
    assert json.dumps(platform_args("linux/arm64/v8")["TARGETVARIANT"]) == '"v8"'


def _tar(files: dict[str, tuple[bytes, float]]) -> bytes:
    import io
    import tarfile

    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w") as tar:
        for name, (content, mtime) in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(content), mtime, 0o644
            tar.addfile(info, io.BytesIO(content))
    return data.getvalue()


def test_contexts_kept_by_content_and_old_files_linked(tmp_path: Path) -> None:
    import io
    import time

    from runtime.build.contexts import context_dir

    old, now = time.time() - 3600, time.time()
    first = _tar({"Dockerfile": (b"FROM busybox\n", old), "old.txt": (b"same\n", old), "new.txt": (b"abc\n", now)})
    work = tmp_path / "work"
    work.mkdir()
    with context_dir(tmp_path, io.BytesIO(first), work, "Dockerfile") as one:
        assert one.text == "FROM busybox\n"
        with context_dir(tmp_path, io.BytesIO(first), work, "Dockerfile") as again:
            assert again.root == one.root  # the same bytes: the same directory
        second = _tar({"Dockerfile": (b"FROM busybox\n", old), "old.txt": (b"same\n", old),
                       "new.txt": (b"xyz\n", now)})  # same size and mtime: a racy file, written again
        with context_dir(tmp_path, io.BytesIO(second), work, "Dockerfile") as two:
            assert two.root != one.root
            assert (two.root / "old.txt").stat().st_ino == (one.root / "old.txt").stat().st_ino
            assert (two.root / "new.txt").read_text() == "xyz\n"
            assert (one.root / "new.txt").read_text() == "abc\n"


def test_ordered_output_flush_and_new_lines_never_cross() -> None:
    seen: list[str] = []

    async def slow_sink(message: dict[str, object]) -> None:
        await anyio.sleep(0.001)
        seen.append(str(message["stream"]))

    async def main() -> None:
        ordered = Ordered(slow_sink, [0, 1])
        for n in range(5):
            await ordered.for_stage(1)({"stream": f"held{n}"})
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(ordered.finished, 0)
            await anyio.sleep(0)
            for n in range(5):
                tasks.start_soon(ordered.for_stage(1), {"stream": f"live{n}"})

    anyio.run(main)
    assert seen[:5] == [f"held{n}" for n in range(5)], seen


@pytest.mark.root
def test_many_layers_mount_through_short_links(tmp_path: Path) -> None:
    import os

    from runtime.build import rootfs

    layers = []
    for i in range(60):
        layer = tmp_path / ("snapshots-" + "x" * 60) / f"{i:064x}" / "fs"
        layer.mkdir(parents=True)
        (layer / f"f{i}").write_text(str(i))
        layers.append(layer)
    assert len(":".join(map(str, layers))) > rootfs.MAX_LOWER
    work = tmp_path / "work"
    work.mkdir()
    with rootfs.mounted(layers, work) as root:
        assert len(os.listdir(root)) == 60 and (root / "f59").read_text() == "59"
    assert not any(p.name.startswith("rootfs-") for p in work.iterdir())
