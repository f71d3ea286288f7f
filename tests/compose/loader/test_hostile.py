"""Hostile compose files end in one positioned line, quickly and in bounded memory (issue 9).

Each case runs `pycompose -f F config` as a user would (no CLI server) and
measures that very process (os.wait4): CPU time under 2 s and peak RSS under
200 MiB above what a tiny valid file costs. CPU time rather than wall time is
held to 2 s because the machines running the tests are shared; wall time gets
a looser bound.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.compose.cli.runner import PYCOMPOSE, clean_environ

MiB = 1 << 20
CPU_LIMIT_S = 2.0
WALL_LIMIT_S = 10.0
RSS_GROWTH_LIMIT = 200 * MiB
SVC = "services:\n  web:\n    image: busybox\n"


@dataclass(frozen=True)
class Run:
    returncode: int
    stdout: str
    stderr: str
    cpu_s: float
    wall_s: float
    max_rss: int  # bytes


def run_config(folder: Path, args: list[str], cache: Path, stdin: int | None = None) -> Run:
    env = clean_environ({"PYCOMPOSE_CLI_SERVER": "0", "XDG_CACHE_HOME": str(cache)})
    out, err = folder / ".stdout", folder / ".stderr"
    start = time.monotonic()
    with open(out, "wb") as o, open(err, "wb") as e:
        proc = subprocess.Popen([PYCOMPOSE, *args, "config"], cwd=folder, env=env, stdout=o, stderr=e,
                                stdin=stdin if stdin is not None else subprocess.DEVNULL)
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        except BaseException:
            proc.kill()
            raise
        proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.monotonic() - start
    return Run(proc.returncode, out.read_text(), err.read_text(), usage.ru_utime + usage.ru_stime, wall,
               usage.ru_maxrss * 1024)


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="module")
def baseline_rss(tmp_path_factory: pytest.TempPathFactory, cache: Path) -> int:
    folder = tmp_path_factory.mktemp("baseline")
    (folder / "compose.yaml").write_text(SVC)
    run = run_config(folder, ["-f", "compose.yaml"], cache)
    assert run.returncode == 0, run.stderr
    return run.max_rss


# --- the hostile files --------------------------------------------------------------------------------

def laughs(prefix: str, levels: int = 10) -> str:
    """The billion laughs: each level a list of nine aliases of the one before."""
    lines = [f'{prefix}0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, levels):
        lines.append(f"{prefix}{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def inline_laughs(levels: int = 10) -> str:
    items = ['&a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    items += [f"&a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, levels)]
    return ", ".join(items)


def merge_bomb() -> str:
    lines = ["x-a0: &a0 {" + ", ".join(f"k{j}: lol" for j in range(9)) + "}"]
    for i in range(1, 10):
        lines.append(f"x-a{i}: &a{i} {{" + ", ".join(f"k{j}: {{<<: *a{i - 1}}}" for j in range(9)) + "}")
    return SVC + "\n".join(lines) + "\n"


def alias_depth_chain() -> str:
    """Small, but each anchor nests the one before: 150 levels once aliases are followed."""
    lines = ["x-a0: &a0 [end]"] + [f"x-a{i}: &a{i} [*a{i - 1}]" for i in range(1, 150)]
    return SVC + "\n".join(lines) + "\n"


def deep_block(levels: int) -> str:
    body = "".join("  " * (i + 1) + f"k{i}:\n" for i in range(levels))
    return SVC + "x-deep:\n" + body + "  " * (levels + 1) + "leaf\n"


def extends_chain(length: int, cycle: bool) -> str:
    """Services listed from the top of a long `extends` chain down (optionally back up again)."""
    lines = ["services:"]
    lines += [f"  s{i}:\n    extends: s{i - 1}" for i in range(length - 1, 0, -1)]
    lines.append(f"  s0:\n    extends: s{length - 1}" if cycle else "  s0:\n    image: busybox")
    return "\n".join(lines) + "\n"


def include_chain(length: int) -> dict[str, str | bytes]:
    files: dict[str, str | bytes] = {}
    for i in range(length):
        include = f"include:\n  - f{i + 1}.yaml\n" if i < length - 1 else ""
        files["compose.yaml" if i == 0 else f"f{i}.yaml"] = include + f"services:\n  s{i}:\n    image: busybox\n"
    return files


@dataclass(frozen=True)
class Case:
    files: dict[str, str | bytes]
    says: str
    where: str = "compose.yaml"  # the file the error must point into
    args: tuple[str, ...] = ("-f", "compose.yaml")
    setup: Callable[[Path], None] | None = None
    secret: str | None = None  # must not appear in the output
    env: dict[str, str] = field(default_factory=dict)


def _fifo(folder: Path) -> None:
    os.mkfifo(folder / "fifo.env")


def _dotenv_dev_zero(folder: Path) -> None:
    (folder / ".env").symlink_to("/dev/zero")


def _huge_sparse(folder: Path) -> None:
    with open(folder / "huge.env", "wb") as f:
        f.truncate(6 << 30)  # 6 GiB, no disk used


SHADOW = "root:$6$Zx9$SECRETsecretSECRET:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n"
KEY = ("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktSECRETdjEAAAAABG5vbmUAAAAEbm9uZQAAA\n"
       "-----END OPENSSH PRIVATE KEY-----\n")

CASES: dict[str, Case] = {
    "billion_laughs": Case({"compose.yaml": laughs("x-l") + "services:\n  web:\n    image: busybox\n"
                            "    labels: *a9\n"}, "excessive aliasing"),
    "billion_laughs_in_service": Case({"compose.yaml": SVC + "    command: [" + inline_laughs() + "]\n"},
                                      "excessive aliasing"),
    "billion_laughs_under_x": Case({"compose.yaml": SVC + laughs("x-lol")}, "excessive aliasing"),
    "merge_key_bomb": Case({"compose.yaml": merge_bomb()}, "excessive aliasing"),
    "alias_depth_chain": Case({"compose.yaml": alias_depth_chain()}, "maximum nesting depth"),
    "recursive_alias": Case({"compose.yaml": SVC + "x-a: &a [1, *a]\n"}, "aliased inside itself"),
    "env_file_dev_zero": Case({"compose.yaml": SVC + "    env_file: /dev/zero\n"}, "not a regular file"),
    "env_file_fifo": Case({"compose.yaml": SVC + "    env_file: fifo.env\n"}, "not a regular file", setup=_fifo),
    "env_file_huge": Case({"compose.yaml": SVC + "    env_file: huge.env\n"}, "larger than 4 MiB",
                          setup=_huge_sparse),
    "env_file_huge_written": Case({"compose.yaml": SVC + "    env_file: big.env\n",
                                   "big.env": b"A=" + b"x" * (5 * MiB) + b"\n"}, "larger than 4 MiB"),
    "env_file_nul": Case({"compose.yaml": SVC + "    env_file: nul.env\n", "nul.env": b"A=1\nB=x\0y\n"},
                         "NUL byte", where="nul.env:2:4"),
    "env_file_not_utf8": Case({"compose.yaml": SVC + "    env_file: bad.env\n", "bad.env": b"A=1\nBB=\xff\n"},
                              "not valid UTF-8", where="bad.env:2:4"),
    "env_file_flag_dev_zero": Case({"compose.yaml": SVC}, "not a regular file",
                                    args=("--env-file", "/dev/zero", "-f", "compose.yaml"), where=""),
    "extends_cycle_1500": Case({"compose.yaml": extends_chain(1500, cycle=True)}, "extends cycle: s1499 -> s1498"),
    "include_chain_400": Case(include_chain(400), "includes nested more than 32 files deep", where="f32.yaml:1:1"),
    "dotenv_dev_zero": Case({"compose.yaml": SVC}, "env file .env is not a regular file", where="",
                            setup=_dotenv_dev_zero),
    "nested_flow_maps": Case({"compose.yaml": SVC + "x-deep: " + "{a: " * 200 + "1" + "}" * 200 + "\n"},
                             "maximum nesting depth"),
    "nested_flow_maps_in_service": Case({"compose.yaml": SVC + "    labels: " + "{a: " * 200 + "1" + "}" * 200
                                         + "\n"}, "maximum nesting depth"),
    "nested_lists": Case({"compose.yaml": SVC + "x-deep: " + "[" * 1000 + "]" * 1000 + "\n"},
                         "maximum nesting depth"),
    "nested_lists_300": Case({"compose.yaml": SVC + "    command: " + "[" * 300 + "]" * 300 + "\n"},
                             "maximum nesting depth"),
    "deep_block_mappings": Case({"compose.yaml": deep_block(300)}, "maximum nesting depth"),
    "control_char": Case({"compose.yaml": SVC + "    command: echo \x01hi\n"},
                         "control character U+0001", where="compose.yaml:4:19"),
    "control_char_escape": Case({"compose.yaml": "# é\n" + SVC + '    command: "a\x1bb"\n'},
                                "control character U+001B", where="compose.yaml:5:16"),
    "include_shadow": Case({"compose.yaml": "include:\n  - shadow\n" + SVC, "shadow": SHADOW},
                           "not a compose file", where="shadow:1:1", secret="SECRET"),
    "include_private_key": Case({"compose.yaml": "include:\n  - id_key\n" + SVC, "id_key": KEY},
                                "must be a mapping", where="id_key:1:1", secret="SECRET"),
    "include_binary": Case({"compose.yaml": "include:\n  - tool\n" + SVC, "tool": b"\x7fELF\x02\x01\x01\0SECRET\xff"},
                           "not valid UTF-8 text", where="tool:1:15", secret="SECRET"),
    "include_nul": Case({"compose.yaml": "include:\n  - data\n" + SVC, "data": b"a: 1\nSECRET\0\n"},
                        "NUL byte", where="data:2:7", secret="SECRET"),
    "compose_file_is_shadow": Case({"shadow": SHADOW}, "not a compose file", where="shadow:1:1",
                                   args=("-f", "shadow"), secret="SECRET"),
    "env_file_is_a_key": Case({"compose.yaml": SVC + "    env_file: id_key\n", "id_key": "x  " + KEY},
                              "cannot contain a space", where="id_key:1:1", secret="SECRET"),
    "port_target_huge": Case({"compose.yaml": SVC + "    ports:\n      - target: 99999999999999999999\n"},
                             "invalid containerPort", where="compose.yaml:5:9"),
    "port_published_range": Case({"compose.yaml": SVC + "    ports:\n      - {target: 80, published: 8000-70000}\n"},
                                 "invalid hostPort", where="compose.yaml:5"),
    "port_short_syntax": Case({"compose.yaml": SVC + "    ports: [\"99999:80\"]\n"}, "invalid hostPort"),
    "cpus_nan": Case({"compose.yaml": SVC + "    cpus: .nan\n"}, "cpus must be a non-negative number"),
    "cpus_inf": Case({"compose.yaml": SVC + "    cpus: .inf\n"}, "cpus must be a non-negative number"),
    "cpus_negative": Case({"compose.yaml": SVC + "    deploy: {resources: {limits: {cpus: '-1'}}}\n"},
                          "cpus must be a non-negative number"),
    "stop_grace_period_negative": Case({"compose.yaml": SVC + "    stop_grace_period: -1s\n"},
                                       "a duration cannot be negative", where="compose.yaml:4"),
    "healthcheck_negative": Case({"compose.yaml": SVC + "    healthcheck:\n      test: [CMD, 'true']\n"
                                  "      timeout: -3s\n"}, "a duration cannot be negative", where="compose.yaml:6"),
    "healthcheck_retries_negative": Case({"compose.yaml": SVC + "    healthcheck: {retries: -1}\n"},
                                         "Retries in Healthcheck cannot be negative"),
    "size_negative": Case({"compose.yaml": SVC + "    shm_size: -1\n"}, "a size cannot be negative"),
    "size_inf": Case({"compose.yaml": SVC + "    mem_limit: .inf\n"}, "a size must be a finite number"),
    "ulimit_soft_over_hard": Case({"compose.yaml": SVC + "    ulimits:\n      nofile: {soft: 20000, hard: 10000}\n"},
                                  "soft limit must be less than or equal to hard limit: 20000 > 10000",
                                  where="compose.yaml:5:16"),
    "ulimit_negative": Case({"compose.yaml": SVC + "    ulimits:\n      nproc: -5\n"}, "invalid ulimit value -5",
                            where="compose.yaml:5"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_hostile_file_is_one_positioned_line(name: str, tmp_path: Path, cache: Path, baseline_rss: int) -> None:
    case = CASES[name]
    for rel, content in case.files.items():
        path = tmp_path / rel
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    if case.setup:
        case.setup(tmp_path)
    run = run_config(tmp_path, list(case.args), cache)
    lines = [line for line in run.stderr.splitlines() if not line.startswith("WARN[")]
    assert run.returncode == 1, run.stderr
    assert len(lines) == 1, run.stderr
    line = lines[0]
    assert "Traceback" not in run.stderr and "internal error" not in line, line
    if case.where:  # file[:line[:col]]
        file, line_no, col = [*case.where.split(":"), r"\d+", r"\d+"][:3]
        assert re.match(rf"{re.escape(file)}:{line_no}:{col}: ", line), line
    assert case.says in line, line
    assert run.stdout == ""
    if case.secret:
        assert case.secret not in run.stderr
    assert run.cpu_s < CPU_LIMIT_S, f"{run.cpu_s:.2f} s of CPU"
    assert run.wall_s < WALL_LIMIT_S, f"{run.wall_s:.2f} s"
    assert run.max_rss - baseline_rss < RSS_GROWTH_LIMIT, f"{(run.max_rss - baseline_rss) / MiB:.0f} MiB more"


def test_stdin_of_endless_zeros_is_cut_off(tmp_path: Path, cache: Path, baseline_rss: int) -> None:
    with open("/dev/zero", "rb") as zeros:
        run = run_config(tmp_path, ["-f", "-"], cache, stdin=zeros.fileno())
    assert run.returncode == 1
    assert run.stderr.strip() == "compose file <stdin> is larger than 32 MiB, the most pycompose reads"
    assert run.cpu_s < CPU_LIMIT_S
    assert run.max_rss - baseline_rss < RSS_GROWTH_LIMIT


@pytest.mark.parametrize("where", ["x-deep: ", "    x-deep: ", "    labels: ", "    environment: "])
def test_nesting_at_the_limit_goes_through_every_stage(where: str, tmp_path: Path, cache: Path) -> None:
    """100 levels (the limit) pass through every stage, valid or not: no RecursionError anywhere."""
    levels = 100 - (1 if where.startswith("x-") else 3)
    doc = SVC + where + "{a: " * levels + "$X" + "}" * levels + "\n"
    (tmp_path / "compose.yaml").write_text(doc)
    (tmp_path / "other.yaml").write_text(doc)
    for args in (["-f", "compose.yaml"], ["-f", "compose.yaml", "-f", "other.yaml"]):
        run = run_config(tmp_path, args, cache)
        assert "internal error" not in run.stderr and "Traceback" not in run.stderr, run.stderr
        if where.endswith("x-deep: "):
            assert run.returncode == 0, run.stderr
        else:
            assert run.returncode == 1 and "must be a string" in run.stderr, run.stderr
    (tmp_path / "compose.yaml").write_text(SVC + where + "{a: " * (levels + 1) + "1" + "}" * (levels + 1) + "\n")
    run = run_config(tmp_path, ["-f", "compose.yaml"], cache)
    assert run.returncode == 1 and "exceeded maximum nesting depth of 100" in run.stderr, run.stderr


def test_long_extends_chain_loads(tmp_path: Path, cache: Path) -> None:
    (tmp_path / "compose.yaml").write_text(extends_chain(1500, cycle=False))
    run = run_config(tmp_path, ["-f", "compose.yaml"], cache)
    assert run.returncode == 0, run.stderr
    assert "  s1499:\n    image: busybox\n" in run.stdout


def test_dotenv_folder_is_not_an_env_file(tmp_path: Path, cache: Path) -> None:
    (tmp_path / ".env").mkdir()  # a virtualenv, say
    (tmp_path / "compose.yaml").write_text(SVC)
    run = run_config(tmp_path, ["-f", "compose.yaml"], cache)
    assert run.returncode == 0, run.stderr
