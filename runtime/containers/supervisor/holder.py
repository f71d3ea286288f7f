"""The supervisor's holder: a tiny subreaper that outlives the supervisor and replaces it when it dies.

`python -m runtime.containers.supervisor.holder --root R --prefix P [--notify-fd N] [--detach]`

Why: the supervisor is the parent of every container's PID 1 and the only
reader of their output pipes. Killed, it takes both with it: the kernel
hands its children to the nearest subreaper (else host init, which reaps
them and the exit status is gone for whoever did not hold a pidfd), and
the pipes lose their reader, so what containers write is lost (or kills
them with EPIPE). The holder fixes both without doing any supervision:

- it is a child subreaper and the supervisor's parent, so the containers
  of a dead supervisor become the holder's children. It reaps them as they
  exit; their status then stays readable through any pidfd of theirs
  (PIDFD_GET_INFO).
- the supervisor hands it, over a SOCK_SEQPACKET pair, duplicates of each
  running container's pidfd and stdio (keep.py). The pipes thus always
  have a reader, and a container that writes while no supervisor reads
  only fills its pipe (64 KiB) and then waits.
- when the supervisor dies by anything but a deliberate stop (exit 0,
  SIGTERM or SIGINT), it starts a new one at once (with a backoff if they
  keep dying before they are ready, or more than RATE_LIMIT times in
  RATE_WINDOW seconds) and hands it every kept descriptor. The new
  supervisor re-adopts the containers with them: it waits on the same
  pidfds (exit codes included, even of containers that exited meanwhile)
  and resumes draining the same pipes into the same logs (peek.py says
  why no line is lost or, but for a microseconds window, doubled).

The holder itself runs no container code and only reaps, keeps and
restarts; if it is killed, the supervisor lives on without it (and a later
death of the supervisor is handled as before: /proc/<pid>/fd, host init).
Its lock (`supervisor-holder.lock`) tells launchers a supervisor is or will
be there. It exits after a deliberate stop of its supervisor.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import select
import signal
import socket
import sys
import time

from runtime.containers.supervisor import keep

# Standard library only, and little of it (no logging, argparse or pathlib: 3 MiB less resident).
MAX_BACKOFF = 5.0
GIVE_UP_AFTER = 8  # deaths before READY in a row
RATE_LIMIT, RATE_WINDOW = 10, 30.0  # more deaths than this in the window: wait before the next start


class Holder:
    def __init__(self, root: str, prefix: str, log_level: str) -> None:
        self.root, self.prefix, self.log_level = root, prefix, log_level
        self.kept: dict[str, dict[str, int]] = {}
        self.sock: socket.socket | None = None  # our end towards the current supervisor
        self.pid = 0  # the current supervisor (0: none)
        self.young_deaths = 0  # in a row, before they said READY
        self.deaths: list[float] = []
        self.restart_at: float | None = None
        self.notify_r = -1  # the current supervisor's readiness pipe, until it said READY or ERROR
        self.said = ""  # what the current supervisor said there
        self.launcher_fd = -1  # where the first READY/ERROR goes
        self.done: int | None = None  # our exit code, once decided
        self.stopping = False

    # -- the supervisor ----------------------------------------------------------------------

    def spawn(self) -> None:
        self.restart_at = None
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        notify_r, notify_w = os.pipe2(os.O_CLOEXEC)
        os.set_inheritable(theirs.fileno(), True)
        os.set_inheritable(notify_w, True)
        argv = [sys.executable, "-m", "runtime.containers.supervisor", "--root", self.root, "--prefix",
                self.prefix, "--holder-fd", str(theirs.fileno()), "--notify-fd", str(notify_w),
                "--log-level", self.log_level]
        try:
            self.pid = os.posix_spawn(sys.executable, argv, os.environ)
        except OSError:
            ours.close()
            os.close(notify_r)
            raise
        finally:
            theirs.close()
            os.close(notify_w)
        self.sock, self.notify_r, self.said = ours, notify_r, ""
        log.info("started supervisor pid %d (%d container(s) kept)", self.pid, len(self.kept))
        try:
            for cid, fds in self.kept.items():
                keep.send(ours, {"op": "kept", "cid": cid, "roles": list(fds)}, fds.values())
            keep.send(ours, {"op": "end"})
        except OSError as exc:  # it died already: its exit comes as SIGCHLD
            log.warning("handover to supervisor %d failed: %s", self.pid, exc)
        ours.setblocking(False)

    def ended(self, status: int) -> None:
        """The supervisor is gone (reaped): keep what it sent last, then stop or start another."""
        self.read_messages()
        if self.sock is not None:
            self.sock.close()
            self.sock = None
        self.read_readiness()
        said, pid, self.pid = self.said, self.pid, 0
        deliberate = (os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0) or (
            os.WIFSIGNALED(status) and os.WTERMSIG(status) in (signal.SIGTERM, signal.SIGINT))
        if self.stopping or deliberate or said.startswith("ERROR"):
            log.info("supervisor %d stopped (%s): the holder goes too", pid, _describe(status))
            self.done = 0 if deliberate or self.stopping else 1
            return
        now = time.monotonic()
        young = not said.startswith("READY")
        self.young_deaths = self.young_deaths + 1 if young else 0
        self.deaths = [t for t in self.deaths if now - t < RATE_WINDOW] + [now]
        if self.young_deaths > GIVE_UP_AFTER:
            log.error("supervisor %d died (%s) before it was ready, the %dth time in a row: giving up",
                      pid, _describe(status), self.young_deaths)
            self.done = 1
            return
        delay = min(MAX_BACKOFF, 0.1 * 2 ** (self.young_deaths - 1)) if self.young_deaths > 1 else 0.0
        if len(self.deaths) > RATE_LIMIT:
            delay = max(delay, 1.0)
        log.warning("supervisor %d died (%s): starting a new one%s", pid, _describe(status),
                    f" in {delay:.1f} s" if delay else "")
        self.restart_at = time.monotonic() + delay

    def read_readiness(self) -> None:
        """What the supervisor says on its readiness pipe (once), forwarded to the launcher if it waits."""
        if self.notify_r < 0 or not select.select([self.notify_r], [], [], 0)[0]:
            return
        said = self.said = os.read(self.notify_r, 4096).decode(errors="replace").strip()
        os.close(self.notify_r)
        self.notify_r = -1
        if self.launcher_fd >= 0:
            with contextlib.suppress(OSError):
                os.write(self.launcher_fd, (said or "ERROR the supervisor exited at start").encode() + b"\n")
            os.close(self.launcher_fd)
            self.launcher_fd = -1

    # -- kept descriptors ----------------------------------------------------------------------

    def read_messages(self) -> None:
        while self.sock is not None:
            try:
                message, fds = keep.receive(self.sock)
            except BlockingIOError:
                return
            except (OSError, ValueError) as exc:
                log.warning("bad message from the supervisor: %s", exc)
                continue
            if message is None:  # its end is closed: it is dying (SIGCHLD follows)
                self.sock.close()
                self.sock = None
                return
            self.handle(message, fds)

    def handle(self, message: dict[str, object], fds: list[int]) -> None:
        cid = message.get("cid")
        if not isinstance(cid, str):
            keep.close_all(fds)
            return
        if message.get("op") == "keep":
            keep.close_all(self.kept.pop(cid, {}).values())
            self.kept[cid] = keep.by_role(message, fds)
        elif message.get("op") == "drop":
            keep.close_all(fds)
            roles = message.get("roles")
            held = self.kept.get(cid, {})
            for role in list(held) if not isinstance(roles, list) else [str(r) for r in roles]:
                if role in held:
                    os.close(held.pop(role))
            if not held:
                self.kept.pop(cid, None)
        else:
            keep.close_all(fds)

    # -- the loop ----------------------------------------------------------------------------

    def reap(self) -> None:
        """Reap every child that exited: the supervisor, or containers of a supervisor that died."""
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            if pid == self.pid:
                self.ended(status)

    def run(self, wakeup_r: int) -> int:
        self.spawn()
        while self.done is None:
            timeout = None if self.restart_at is None else max(0.0, self.restart_at - time.monotonic())
            watched = [wakeup_r] + ([self.sock.fileno()] if self.sock is not None else []) + (
                [self.notify_r] if self.notify_r >= 0 else [])
            try:
                ready = select.select(watched, [], [], timeout)[0]
            except InterruptedError:
                ready = []
            if self.sock is not None and self.sock.fileno() in ready:
                self.read_messages()
            if self.notify_r in ready:
                self.read_readiness()
            if wakeup_r in ready:
                with contextlib.suppress(BlockingIOError):
                    os.read(wakeup_r, 4096)
                self.reap()
            if self.restart_at is not None and time.monotonic() >= self.restart_at and self.done is None:
                try:
                    self.spawn()
                except OSError as exc:  # e.g. out of memory or processes: try again, the descriptors wait
                    log.error("cannot start a supervisor: %s", exc)
                    self.restart_at = time.monotonic() + MAX_BACKOFF
        for fds in self.kept.values():
            keep.close_all(fds.values())
        return self.done

    def stop(self, signum: int, frame: object) -> None:
        """SIGTERM/SIGINT: stop the supervisor (it exits as on its own SIGTERM), then ourselves."""
        self.stopping = True
        if self.pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGTERM)
        else:
            self.done = 0


def _describe(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"killed by {signal.Signals(os.WTERMSIG(status)).name}"
    return f"exit code {os.waitstatus_to_exitcode(status)}"


LEVELS = {"debug": 10, "info": 20, "warning": 30, "warn": 30, "error": 40, "fatal": 50}


class _Log:
    """logging's line format on stderr (supervisor.log), without importing logging."""

    def __init__(self) -> None:
        self.level = 20

    def _write(self, level: int, name: str, message: str, args: tuple[object, ...]) -> None:
        if level < self.level:
            return
        now = time.time()
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(now)) + f",{int(now % 1 * 1000):03d}"
        with contextlib.suppress(OSError):
            os.write(2, f"{stamp} {name} holder[{os.getpid()}]: {message % args}\n".encode(errors="replace"))

    def info(self, message: str, *args: object) -> None:
        self._write(20, "INFO", message, args)

    def warning(self, message: str, *args: object) -> None:
        self._write(30, "WARNING", message, args)

    def error(self, message: str, *args: object) -> None:
        self._write(40, "ERROR", message, args)


log = _Log()


def _lock(root: str) -> int | None:
    fd = os.open(os.path.join(root, keep.HOLDER_LOCK_NAME), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def _parse(argv: list[str]) -> dict[str, str]:
    """--root R --prefix P [--notify-fd N] [--log-level L] [--detach]"""
    args: dict[str, str] = {}
    words = iter(argv)
    for word in words:
        if word == "--detach":
            args["detach"] = "1"
        elif word in ("--root", "--prefix", "--notify-fd", "--log-level"):
            args[word[2:]] = next(words, "")
        else:
            raise SystemExit(f"holder: unknown argument {word!r}")
    if not args.get("root") or not args.get("prefix"):
        raise SystemExit("usage: python -m runtime.containers.supervisor.holder --root R --prefix P "
                         "[--notify-fd N] [--log-level L] [--detach]")
    return args


def main(argv: list[str] | None = None) -> int:
    args = _parse(sys.argv[1:] if argv is None else argv)
    notify_fd = int(args["notify-fd"]) if args.get("notify-fd") else None
    if args.get("detach") and os.fork():
        os._exit(0)
    log_level = args.get("log-level") or "info"
    log.level = LEVELS.get(log_level.lower(), 20)
    root = os.path.abspath(args["root"])
    os.makedirs(root, mode=0o711, exist_ok=True)
    lock = _lock(root)
    if lock is None:
        if notify_fd is not None:
            with contextlib.suppress(OSError):
                os.write(notify_fd, f"ERROR a supervisor holder already runs for {root}\n".encode())
        return 1
    from runtime.linux import syscalls as sc

    sc.set_child_subreaper()
    holder = Holder(root, args["prefix"], log_level)
    holder.launcher_fd = notify_fd if notify_fd is not None else -1
    wakeup_r, wakeup_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    signal.set_wakeup_fd(wakeup_w, warn_on_full_buffer=False)
    signal.signal(signal.SIGCHLD, lambda signum, frame: None)
    signal.signal(signal.SIGTERM, holder.stop)
    signal.signal(signal.SIGINT, holder.stop)
    try:
        return holder.run(wakeup_r)
    finally:
        os.close(lock)


if __name__ == "__main__":
    sys.exit(main())
