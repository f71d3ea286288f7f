"""RUN --mount types as container mounts, on real directories and files."""

from __future__ import annotations

import os
import stat
import threading
import time
from pathlib import Path

import pytest

from runtime.build.run_mounts import MountError, host_mounts, prune_caches
from runtime.dockerfile.instructions import RunMount


@pytest.fixture
def dirs(tmp_path: Path) -> dict[str, Path]:
    made = {name: tmp_path / name for name in ("ctx", "stage", "cache", "work")}
    for path in made.values():
        path.mkdir()
    (made["ctx"] / "src").mkdir()
    (made["ctx"] / "src" / "main.c").write_text("int main;\n")
    (made["stage"] / "deps").mkdir()
    (made["stage"] / "deps" / "lib.a").write_text("lib\n")
    return made


def plan_for(dirs: dict[str, Path], *mounts: RunMount, secrets: dict[str, bytes] | None = None):
    return host_mounts(mounts, context_dir=dirs["ctx"], stage_rootfs=lambda name: dirs[name],
                       cache_root=dirs["cache"], secrets=secrets or {}, work_dir=dirs["work"], workdir="/app")


def test_bind_read_only_and_rw_copy(dirs: dict[str, Path]) -> None:
    plan = plan_for(dirs, RunMount("bind", target="/src", source="src"),
                    RunMount("bind", target="deps", from_="stage", source="/deps", rw=True))
    ro, rw = plan.mounts
    assert ro == {"Type": "bind", "Source": str(dirs["ctx"] / "src"), "Target": "/src", "ReadOnly": True}
    assert rw["Target"] == "/app/deps" and rw["ReadOnly"] is False  # relative to the WORKDIR
    copy = Path(rw["Source"])
    assert copy != dirs["stage"] / "deps" and (copy / "lib.a").read_text() == "lib\n"
    plan.close()
    assert not copy.exists() and (dirs["stage"] / "deps" / "lib.a").exists()
    with pytest.raises(MountError, match='source "/nothere" not found'):
        plan_for(dirs, RunMount("bind", target="/x", source="nothere"))
    with pytest.raises(MountError, match="target is required"):
        plan_for(dirs, RunMount("bind", source="src"))


def test_cache_made_once_with_mode_and_owner(dirs: dict[str, Path]) -> None:
    plan = plan_for(dirs, RunMount("cache", target="/root/.cache", mode=0o700, uid=1000, gid=1001))
    (cache,) = plan.mounts
    path = Path(cache["Source"])
    st = path.stat()
    assert (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid) == (0o700, 1000, 1001)
    (path / "kept").write_text("1")
    plan.close()
    again = plan_for(dirs, RunMount("cache", target="/root/.cache"))  # same id (the target): same dir
    assert again.mounts[0]["Source"] == str(path) and (path / "kept").exists()
    again.close()
    other = plan_for(dirs, RunMount("cache", target="/root/.cache", id="other"))
    assert other.mounts[0]["Source"] != str(path)
    other.close()
    seeded = plan_for(dirs, RunMount("cache", target="/d", id="seed", from_="stage", source="deps"))
    assert (Path(seeded.mounts[0]["Source"]) / "lib.a").read_text() == "lib\n"
    seeded.close()


def test_cache_sharing(dirs: dict[str, Path]) -> None:
    first = plan_for(dirs, RunMount("cache", target="/c", sharing="private"))
    second = plan_for(dirs, RunMount("cache", target="/c", sharing="private"))
    assert first.mounts[0]["Source"] != second.mounts[0]["Source"]  # held: a directory of its own
    shared = plan_for(dirs, RunMount("cache", target="/c"))
    assert shared.mounts[0]["Source"] == first.mounts[0]["Source"]
    for plan in (first, second, shared):
        plan.close()
    holder = plan_for(dirs, RunMount("cache", target="/l", sharing="locked"))
    got: list[float] = []

    def wait() -> None:
        plan = plan_for(dirs, RunMount("cache", target="/l", sharing="locked"))
        got.append(time.monotonic())
        plan.close()

    thread = threading.Thread(target=wait)
    thread.start()
    time.sleep(0.3)
    assert not got  # waits for the holder
    released = time.monotonic()
    holder.close()
    thread.join(10)
    assert got and got[0] >= released
    with pytest.raises(MountError, match="invalid cache sharing mode"):
        plan_for(dirs, RunMount("cache", target="/c", sharing="bogus"))


def test_tmpfs_and_secrets(dirs: dict[str, Path]) -> None:
    plan = plan_for(dirs, RunMount("tmpfs", target="/scratch", size=1 << 20),
                    RunMount("secret", id="token"), RunMount("secret", id="api", env="API_KEY"),
                    RunMount("secret", id="absent"), secrets={"token": b"s3cret", "api": b"k3y"})
    (secret,) = plan.mounts
    assert plan.tmpfs == {"/scratch": f"exec,dev,size={1 << 20}"}
    assert secret["Target"] == "/run/secrets/token" and secret["ReadOnly"] is True
    path = Path(secret["Source"])
    assert path.read_bytes() == b"s3cret" and stat.S_IMODE(path.stat().st_mode) == 0o400
    assert plan.env == ["API_KEY=k3y"]  # env= alone: no file
    plan.close()
    assert not path.exists() and os.listdir(dirs["work"]) == []
    with pytest.raises(MountError, match="secret absent: not found"):
        plan_for(dirs, RunMount("secret", id="absent", required=True))
    with pytest.raises(MountError, match="ssh is not supported"):
        plan_for(dirs, RunMount("ssh"))


def test_failure_cleans_what_was_made(dirs: dict[str, Path]) -> None:
    with pytest.raises(MountError):
        plan_for(dirs, RunMount("secret", id="token"), RunMount("bind", target="/x", source="missing"),
                 secrets={"token": b"x"})
    assert os.listdir(dirs["work"]) == []


def test_prune_caches_spares_held_ones(dirs: dict[str, Path]) -> None:
    held = plan_for(dirs, RunMount("cache", target="/held", sharing="locked"))
    free = plan_for(dirs, RunMount("cache", target="/free"))
    (Path(free.mounts[0]["Source"]) / "blob").write_bytes(b"x" * 10000)
    assert prune_caches(dirs["cache"]) == ([], 0)  # both in use
    free.close()
    removed, reclaimed = prune_caches(dirs["cache"])
    assert removed == [Path(free.mounts[0]["Source"]).name] and reclaimed >= 10000
    assert Path(held.mounts[0]["Source"]).is_dir()
    held.close()
    assert prune_caches(dirs["cache"])[0] == [Path(held.mounts[0]["Source"]).name]
    assert prune_caches(dirs["cache"] / "none") == ([], 0)
