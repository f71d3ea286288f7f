"""dockerd's progress stream: one JSON object per line (`status`, `id`, `progressDetail`),
written to the response as it happens; errors as `errorDetail` + `error` once streaming began."""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from typing import Any, BinaryIO, TypeVar

T = TypeVar("T")

INTERVAL = 0.1  # seconds between two `Downloading`/`Pushing` updates of one layer


class Progress:
    """Progress lines for one operation; `started` once the first line went out.

    Only the thread that made it writes to `out` (the response bridge wants the anyio worker
    thread); other threads' messages wait in a queue until that thread calls `pump()`."""

    def __init__(self, out: BinaryIO) -> None:
        self._out = out
        self._owner = threading.get_ident()
        self._pending: queue.SimpleQueue[bytes] = queue.SimpleQueue()
        self._last: dict[str, float] = {}
        self.started = False

    def _write(self, message: dict[str, Any]) -> None:
        line = json.dumps(message, separators=(",", ":")).encode() + b"\r\n"
        self._pending.put(line)
        if threading.get_ident() == self._owner:
            self.pump()

    def pump(self) -> None:
        """Write what other threads queued (owner thread only)."""
        wrote = False
        while True:
            try:
                line = self._pending.get_nowait()
            except queue.Empty:
                break
            self._out.write(line)
            wrote = True
        if wrote:
            self._out.flush()
            self.started = True

    def status(self, text: str, id: str | None = None) -> None:
        message: dict[str, Any] = {"status": text}
        if id is not None:
            message = {"status": text, "progressDetail": {}, "id": id}
        self._write(message)

    def progress(self, text: str, id: str, current: int, total: int, force: bool = False) -> None:
        """A `Downloading`/`Extracting`/`Pushing` update, at most one per INTERVAL per layer."""
        now = time.monotonic()
        if not force and now - self._last.get(id, 0.0) < INTERVAL and current < total:
            return
        self._last[id] = now
        self._write({"status": text, "progressDetail": {"current": current, "total": total}, "id": id})

    def aux(self, payload: dict[str, Any]) -> None:
        self._write({"progressDetail": {}, "aux": payload})

    def error(self, text: str) -> None:
        self._write({"errorDetail": {"message": text}, "error": text})


def short_id(digest: str) -> str:
    """The 12 hex digits a layer is shown by."""
    return digest.split(":", 1)[-1][:12]


def run_all(progress: Progress, jobs: Sequence[Callable[[], T]], workers: int, cancel: threading.Event) -> list[T]:
    """Run `jobs` on `workers` threads, writing their progress meanwhile; the first failure sets
    `cancel` (jobs check it), waits for the others to stop and is raised."""
    results: dict[int, T] = {}
    with ThreadPoolExecutor(max(1, workers), thread_name_prefix="registry") as pool:
        futures = {pool.submit(job): i for i, job in enumerate(jobs)}
        try:
            pending = set(futures)
            while pending:
                finished, pending = wait(pending, timeout=0.05, return_when=FIRST_EXCEPTION)
                progress.pump()
                for future in finished:
                    results[futures[future]] = future.result()
        except BaseException:
            cancel.set()
            raise
        finally:
            progress.pump()
    return [results[i] for i in range(len(jobs))]
