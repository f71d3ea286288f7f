"""The case build_bench.py measures: its context and Dockerfile, one build timed step by step, the cache checked.

`make_context` writes the Dockerfile (3 stages, 10 RUN steps) and app/ (2,000
small files and a 50 MB one); `Changes` makes the one-line changes; `build`
runs one build command and timestamps its output lines (`Step N/M` of docker's
classic builder and ours, `[k/n] STEP i/m:` of podman): a step lasts from its
line to the next one, the last until `Successfully built` (podman: `COMMIT`); what
follows until the command exits is `after_steps`. A stage our builder runs
beside another has its output held until the earlier stage's is out (the stream
keeps Dockerfile order): its steps' times are then those of the held lines.
"""

from __future__ import annotations

import http.server
import itertools
import json
import os
import random
import re
import socketserver
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import Refused, last_line

SMALL_FILES = 2000
BIG_MB = 50
CHANGED = "app/src/f0042.txt"
TAG = "bench-build:latest"
FIRST_INVALIDATED = "COPY app/ /app/"
DOCKERFILE = """\
FROM busybox AS base
RUN mkdir -p /opt/app && echo base > /opt/app/base.txt
RUN echo 'app:x:1000:1000::/app:/bin/sh' >> /etc/passwd
RUN mkdir -p /etc/app && echo mode=bench > /etc/app/app.conf
FROM busybox AS tools
RUN mkdir -p /opt/tools && for i in 1 2 3 4 5 6 7 8; do echo tool$i > /opt/tools/t$i; done
RUN tar -cf /opt/tools.tar -C /opt tools
RUN sha256sum /opt/tools.tar > /opt/tools.sum
FROM base
COPY --from=tools /opt/tools.tar /opt/tools.sum /opt/
WORKDIR /app
COPY app/ /app/
RUN find /app/src -type f | wc -l > /app/count
RUN sha256sum /app/big.bin > /app/big.sum
RUN cat /app/src/* | wc -l > /app/lines
RUN tar -xf /opt/tools.tar -C /opt && ls /opt/tools > /app/tools
ENV APP_MODE=bench
CMD ["cat", "/app/count"]
"""
INSTRUCTIONS = DOCKERFILE.splitlines()
# `Step 2/18 : RUN …` (docker's classic builder, ours) and `[1/3] STEP 2/4: RUN …` (podman/buildah).
STEP = re.compile(r"^(?:\[\d+/\d+\] )?(?:Step|STEP) \d+/\d+ ?: ?(.*)$")
# After the last step: `Successfully built <id>` (classic builders), `[3/3] COMMIT tag` (podman).
CLASSIC_NUMBER = re.compile(r"^Step (\d+)/\d+ :")
AFTER = re.compile(r"^(?:Successfully built |(?:\[\d+/\d+\] )?COMMIT )")


# -- the context ---------------------------------------------------------------------------------


def make_context(where: Path) -> Path:
    """The Dockerfile, 2,000 small files (deterministic) and a 50 MB file of random bytes, all last
    modified a day ago."""
    rng = random.Random(11)
    src = where / "app" / "src"
    src.mkdir(parents=True)
    for i in range(SMALL_FILES):
        lines = (f"line {j} of file {i}: {rng.getrandbits(64):016x}\n" for j in range(rng.randint(2, 20)))
        (src / f"f{i:04d}.txt").write_text("".join(lines))
    with open(where / "app" / "big.bin", "wb") as f:
        for _ in range(BIG_MB):
            f.write(rng.randbytes(1 << 20))
    (where / "Dockerfile").write_text(DOCKERFILE)
    yesterday = time.time() - 86400  # a checkout made earlier, as a developer's is; a change is made now
    for path in (where / "Dockerfile", where / "app" / "big.bin", *src.iterdir()):
        os.utime(path, (yesterday, yesterday))
    return where


class Changes:
    """One-line changes of CHANGED, a new text each time (so no build can find it in its cache)."""

    def __init__(self, context: Path) -> None:
        self.path = context / CHANGED
        self.original = self.path.read_text()
        self.mtime = self.path.stat().st_mtime
        self.count = itertools.count(1)

    def next(self) -> None:
        lines = self.original.splitlines(keepends=True)
        lines[1] = f"line 1 changed for the bench, change {next(self.count)}\n"
        self.path.write_text("".join(lines))

    def restore(self) -> None:
        self.path.write_text(self.original)
        os.utime(self.path, (self.mtime, self.mtime))


# -- one build -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    text: str
    seconds: float
    cached: bool


@dataclass(frozen=True)
class Build:
    seconds: float  # the whole command, as a user waits for it
    before_steps: float  # until the first step's line: the context sent and read
    after_steps: float  # from the line that follows the last step (the image tagged, the build cleaned up)
    steps: tuple[Step, ...]
    disorder: str = ""  # classic builders: the first `Step N/M` line out of order (then the steps' lines are mixed)


def build(argv: list[str], env: dict[str, str]) -> Build:
    """Run one build command, timestamping its output lines; Refused (with its last line) when it fails."""
    start = time.perf_counter()
    marks: list[tuple[float, str]] = []
    with subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT) as process:
        assert process.stdout is not None
        for raw in process.stdout:
            marks.append((time.perf_counter(), raw.decode(errors="replace").rstrip()))
        code = process.wait()
    end = time.perf_counter()
    if code != 0:
        raise Refused(f"{' '.join(argv[:2])}: exit {code}: {last_line(chr(10).join(m[1] for m in marks))}")
    starts = [(i, t, m.group(1)) for i, (t, line) in enumerate(marks) if (m := STEP.match(line))]
    if not starts:
        raise Refused(f"{' '.join(argv[:2])}: no step in its output: {last_line(marks[-1][1] if marks else '')}")
    last = starts[-1][0]
    after = next(((i, t) for i, (t, line) in enumerate(marks) if i > last and AFTER.match(line)), (len(marks), end))
    steps = []
    for k, (i, t, text) in enumerate(starts):
        j, t_next = (starts[k + 1][0], starts[k + 1][1]) if k + 1 < len(starts) else after
        cached = any("Using cache" in line for _, line in marks[i + 1:j])
        steps.append(Step(text, round(t_next - t, 4), cached))
    return Build(round(end - start, 4), round(starts[0][1] - start, 4), round(end - after[1], 4), tuple(steps),
                 disorder([line for _, line in marks]))


def disorder(lines: list[str]) -> str:
    """The first classic `Step N/M` line that does not follow step N-1's, or ""."""
    numbers = [(int(m.group(1)), line) for line in lines if (m := CLASSIC_NUMBER.match(line))]
    for (before, _), (number, line) in itertools.pairwise(numbers):
        if number != before + 1:
            return f"{line[:40]!r} after step {before}"
    return ""


def instruction_of(build_: Build, index: int) -> str:
    """The Dockerfile's instruction for a step: by position when every instruction has its step."""
    steps = build_.steps
    return INSTRUCTIONS[index] if len(steps) == len(INSTRUCTIONS) else steps[index].text


def invalidated_seconds(cold: Build) -> float:
    """What the steps a change in app/ invalidates (COPY app/ and every step after it) took in `cold`."""
    texts = [instruction_of(cold, i) for i in range(len(cold.steps))]
    first = texts.index(FIRST_INVALIDATED)
    return round(sum(s.seconds for s in cold.steps[first:]), 4)


def cache_faults(build_: Build, first_rebuilt: str | None) -> list[str]:
    """Steps that did (not) come from the cache when they should (not): every step before `first_rebuilt`
    cached, it and those after it built (`None`: all cached). FROM steps have nothing to cache."""
    faults, rebuilding = [], False
    for i, step in enumerate(build_.steps):
        text = instruction_of(build_, i)
        rebuilding = rebuilding or text == first_rebuilt
        if text.startswith("FROM "):
            continue
        if step.cached == rebuilding:
            faults.append(f"{text}: {'from the cache' if step.cached else 'built'}")
    return faults


# -- the floor: the docker CLI sending the context to a server that only reads it ----------------


class _NullBuild(http.server.BaseHTTPRequestHandler):
    """Answers /_ping as a classic-builder engine and /build by reading the body and saying it is built."""

    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def address_string(self) -> str:
        return "unix"

    def _answer(self, body: bytes, kind: str = "text/plain") -> None:
        self.send_response(200)
        for name, value in (("Api-Version", "1.45"), ("Builder-Version", "1"), ("Content-Type", kind),
                            ("Content-Length", str(len(body)))):
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_HEAD(self) -> None:
        self._answer(b"OK")

    def do_GET(self) -> None:
        self._answer(b"OK")

    def do_POST(self) -> None:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                while size:
                    size -= len(self.rfile.read(min(size, 1 << 20)))
                self.rfile.readline()
            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                pass
        else:
            left = int(self.headers.get("Content-Length") or 0)
            while left:
                left -= len(self.rfile.read(min(left, 1 << 20))) or left
        self._answer(json.dumps({"stream": "Step 1/1 : FROM scratch\n"}).encode() + b"\n"
                     + json.dumps({"stream": "Successfully built 0123456789ab\n"}).encode() + b"\n",
                     "application/json")


class _UnixServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


@contextmanager
def null_engine(where: Path) -> Iterator[dict[str, str]]:
    """A server on where/null.sock that reads a build's context and does nothing: the environment that
    points the docker CLI at it. What `docker build` takes against it is the floor of any engine."""
    server = _UnixServer(str(where / "null.sock"), _NullBuild)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield {**os.environ, "DOCKER_HOST": f"unix://{where / 'null.sock'}", "DOCKER_CONFIG": str(where / ".docker")}
    finally:
        server.shutdown()
        server.server_close()
