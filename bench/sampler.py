"""A sampling profiler for the engine's Python processes (py-spy is not installed; cProfile sees one thread only).

`environment(folder, out)` returns the variables that make every Python
process started with them (the engine, its supervisor) sample itself: a
`sitecustomize.py` written into `folder` (put first on PYTHONPATH) starts a
daemon thread that, every INTERVAL seconds, takes the stack of every other
thread (sys._current_frames) and counts it, weighed by the microseconds since
the previous sample (a thread holding the GIL delays the sampler). At exit each process writes
`<out>.<pid>` in the collapsed-stack format (`phase<TAB>file:function;…;file:function N`,
the leaf last). The phase is the text of the file `<out>.phase` when the sample
was taken (read every PHASE_EVERY samples; `set_phase` writes it), so that one
engine's samples can be told apart by what the bench was doing. A forked child has no sampler thread and leaves through
os._exit or exec: it writes nothing.

`report(paths, phase)` reads those files and gives the busy samples (a thread idle in
epoll, a lock or a queue is not busy) by leaf function and by function
anywhere on the stack (inclusive), as shares of the busy samples.
"""

from __future__ import annotations

import atexit
import os
import re
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from types import FrameType

INTERVAL = 0.002
PHASE_EVERY = 25
_LIB = re.compile(r"^.*/(site-packages|lib/python3\.\d+)/")
_ROOT = str(Path(__file__).resolve().parents[1]) + "/"
ENV = "PYC_BENCH_SAMPLE"
# Leaves where a thread waits: not work of ours (run_once: the supervisor's loop in epoll.poll; a handler
# it calls is a deeper frame).
IDLE = {"select", "wait", "poll", "_worker", "get", "accept", "recv", "read_events", "sleep", "_wait_for_tstate_lock",
        "run_forever", "_run_once", "run_once", "epoll", "wait_readable", "_wait"}
SITE = f"""\
import os
if os.environ.get({ENV!r}):
    import bench.sampler
    bench.sampler.start(os.environ[{ENV!r}])
"""


def _frame_name(frame: FrameType) -> str:
    code = frame.f_code
    name = _LIB.sub("", code.co_filename).removeprefix(_ROOT)
    return f"{name}:{code.co_name}"


def _stack(frame: FrameType | None) -> str:
    names = []
    while frame is not None:
        names.append(_frame_name(frame))
        frame = frame.f_back
    return ";".join(reversed(names))


def _phase(path: str) -> str:
    try:
        with open(path) as f:
            return f.read().strip() or "-"
    except OSError:
        return "-"


def set_phase(out: Path, phase: str) -> None:
    """What the samples taken from now on are counted under (`-` before the first call)."""
    Path(f"{out}.phase").write_text(phase)


def start(out: str) -> None:
    """Sample this process's threads until it exits; then write `<out>.<pid>`."""
    counts: Counter[str] = Counter()
    pid = os.getpid()
    stop = threading.Event()

    def loop() -> None:
        me = threading.get_ident()
        phase = _phase(f"{out}.phase")
        last = time.perf_counter()
        for n in range(1 << 62):
            if stop.wait(INTERVAL):
                return
            if n % PHASE_EVERY == 0:
                phase = _phase(f"{out}.phase")
            # A thread holding the GIL delays the sampler (switch interval 5 ms): weigh by the time that passed.
            now = time.perf_counter()
            weight, last = int((now - last) * 1e6), now
            for ident, frame in sys._current_frames().items():
                if ident != me:
                    counts[f"{phase}\t{_stack(frame)}"] += weight

    def write() -> None:
        stop.set()
        if os.getpid() != pid:  # a forked child that ran atexit: not ours to write
            return
        with open(f"{out}.{pid}", "w") as f:
            f.write(f"# {' '.join(sys.argv)[:200]}\n")
            for stack, n in counts.most_common():
                f.write(f"{stack} {n}\n")

    threading.Thread(target=loop, name="bench-sampler", daemon=True).start()
    atexit.register(write)


def environment(folder: Path, out: Path) -> dict[str, str]:
    """Variables that make the Python processes started with them sample themselves into `out`.<pid>."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sitecustomize.py").write_text(SITE)
    root = str(Path(__file__).resolve().parents[1])
    path = os.pathsep.join(p for p in (str(folder), root, os.environ.get("PYTHONPATH", "")) if p)
    return {"PYTHONPATH": path, ENV: str(out)}


def _read(paths: Iterable[Path], phase: str | None) -> tuple[Counter[str], dict[str, str]]:
    stacks: Counter[str] = Counter()
    names = {}
    for path in paths:
        for line in path.read_text().splitlines():
            if line.startswith("#"):
                names[path.name] = line[2:]
                continue
            rest, _, n = line.rpartition(" ")
            got, _, stack = rest.partition("\t")
            if phase is None or got == phase:
                stacks[stack] += int(n)
    return stacks, names


def report(paths: Iterable[Path], phase: str | None = None, top: int = 25) -> dict[str, object]:
    """Busy samples (of `phase`, or all) by leaf function and inclusive: shares of the busy time, and
    thread-seconds."""
    stacks, names = _read(paths, phase)
    busy = Counter({s: n for s, n in stacks.items() if s.rsplit(";", 1)[-1].rsplit(":", 1)[-1] not in IDLE})
    total = sum(busy.values()) or 1  # microseconds of busy threads
    leaves: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    for stack, n in busy.items():
        frames = stack.split(";")
        leaves[frames[-1]] += n
        for name in set(frames):
            inclusive[name] += n

    def rows(counter: Counter[str]) -> list[dict[str, object]]:
        return [{"function": f, "share": round(n / total, 3), "thread_s": round(n / 1e6, 2)}
                for f, n in counter.most_common(top)]

    return {"phase": phase, "processes": names, "busy_thread_s": round(sum(busy.values()) / 1e6, 2),
            "leaf": rows(leaves), "inclusive": rows(inclusive)}


def format_report(result: dict[str, object]) -> str:
    lines = [f"{result['phase'] or 'all phases'}: {result['busy_thread_s']} s of busy threads "
             f"(sampled every {INTERVAL * 1000:.0f} ms or more)"]
    for kind in ("inclusive", "leaf"):
        lines.append(f"  by {kind} function:")
        for row in result[kind]:  # type: ignore[attr-defined]
            lines.append(f"    {row['share'] * 100:5.1f}%  {row['thread_s']:7.2f} s  {row['function']}")
    return "\n".join(lines)


if __name__ == "__main__":  # python bench/sampler.py [--phase P] FILE… : the report of files already written
    args = sys.argv[1:]
    chosen = args[1] if args[:1] == ["--phase"] else None
    print(format_report(report([Path(p) for p in args[2 if chosen else 0:]], chosen)))
