"""The process half of a birth, shared by a container's PID 1 and exec'd processes.

Runs in a single-threaded child inside the container's namespaces and root:
user, capabilities, no_new_privs, seccomp, signals, cwd, environment, the
executable lookup, the "ready" report on the sync channel and the final
execve. Every step raises `RuntimeFailure` naming its phase.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import signal
import socket
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import NoReturn

from runtime.linux import caps, rlimits, seccomp
from runtime.linux import syscalls as sc
from runtime.spec import Process, Rlimit

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
EXIT_NOT_FOUND = 127  # Docker's exit codes for a command that cannot run
EXIT_CANNOT_RUN = 126


class RuntimeFailure(Exception):
    """A container or exec process could not be started; `phase` names the step that failed."""

    def __init__(self, message: str, phase: str | None = None, exit_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.phase = phase
        self.exit_code = exit_code

    def __str__(self) -> str:
        return f"{self.phase}: {self.message}" if self.phase else self.message


@contextlib.contextmanager
def phase(name: str) -> Iterator[None]:
    try:
        yield
    except RuntimeFailure:
        raise
    except OSError as exc:
        raise RuntimeFailure(str(exc) if exc.filename is None else f"{exc.filename}: {exc.strerror}", name) from exc
    except Exception as exc:
        raise RuntimeFailure(f"{type(exc).__name__}: {exc}", name) from exc


# -- talking to the parent -------------------------------------------------------------------


def report_failure(sync: socket.socket, current_phase: str, exc: BaseException) -> int:
    """Send {"error", "phase", "exit_code"} to the parent; the exit code the child should use."""
    if isinstance(exc, RuntimeFailure):
        message, name, code = exc.message, exc.phase or current_phase, exc.exit_code
    elif isinstance(exc, SystemExit):
        message, name, code = f"exited early ({exc.code})", current_phase, None
    elif isinstance(exc, OSError) and exc.strerror:  # the kernel's words, not Python's class name
        message = f"{exc.filename}: {exc.strerror}" if exc.filename is not None else exc.strerror
        name, code = current_phase, None
    else:
        message, name, code = f"{type(exc).__name__}: {exc}", current_phase, None
    payload = {"error": message, "phase": name, "exit_code": code}
    with contextlib.suppress(OSError):
        sync.send(json.dumps(payload).encode())
    return code if code is not None else 1


def send_ready(sync: socket.socket, master: int = -1) -> None:
    """Tell the parent we are set up (and hand it the pty master); it answers the create request."""
    data = b'{"ready": true}'
    if master >= 0:
        socket.send_fds(sync, [data], [master])
    else:
        sync.send(data)


# -- steps run as root, inside the container --------------------------------------------------------


def make_cwd(root: str, cwd: str) -> None:
    """Create the working directory in the rootfs when the image lacks it (as Docker does)."""
    from runtime.linux.mounts import resolve_in_root

    path = resolve_in_root(root, cwd)
    if os.path.lexists(path) and not os.path.isdir(path):  # runc's words, not a host path
        raise OSError(errno.ENOTDIR, f'chdir to cwd ("{cwd}") set in config.json failed: not a directory')
    os.makedirs(path, mode=0o755, exist_ok=True)


def write_sysctls(sysctls: Sequence[tuple[str, str]]) -> None:
    for key, value in sysctls:
        path = "/proc/sys/" + key.replace(".", "/")
        fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
        try:
            os.write(fd, value.encode())
        finally:
            os.close(fd)


def apply_rlimits(limits: Sequence[Rlimit]) -> None:
    if limits:
        rlimits.apply(limits)


def set_oom_score_adj(value: int | None) -> None:
    if value is None:
        return
    with open("/proc/self/oom_score_adj", "r+") as f:
        if int(f.read().strip() or 0) != value:
            f.seek(0)
            f.write(str(value))


def open_terminal() -> tuple[int, int, int]:
    """A pty from the container's own devpts; its slave becomes 0, 1, 2 and our controlling tty."""
    master, slave, index = sc.open_pty_master("/dev/ptmx")
    for target in (0, 1, 2):
        os.dup2(slave, target)
    sc.set_controlling_tty(0)
    return master, slave, index


# -- the process ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Prepared:
    path: str
    argv: list[str]
    env: dict[str, str]
    seccomp_bpf: bytes | None  # still to load (with no_new_privs: the very last step)


def prepare(proc: Process, argv: Sequence[str], bpf: bytes | None, ready: Callable[[], None]) -> Prepared:
    """Become the process: privileges, signals, cwd, lookup; then `ready()`. Loads seccomp now unless nnp."""
    env = environment(proc.env, proc.user.uid)
    if bpf is not None and not proc.no_new_privileges:
        with phase("seccomp"):  # needs CAP_SYS_ADMIN, which the user switch may drop
            seccomp.load(bpf)
        bpf = None
    with phase("user"):
        if proc.user.uid != 0:
            sc.set_keepcaps()
        sc.set_groups(proc.user.additional_gids)
        sc.set_ids(proc.user.uid, proc.user.gid)
    with phase("capabilities"):
        caps.apply(proc.capabilities)
    if proc.no_new_privileges:
        with phase("no-new-privileges"):
            sc.set_no_new_privs()
    with phase("signals"):
        reset_signals()
        os.umask(0o022)
    with phase("cwd"):
        os.chdir(proc.cwd or "/")
    path = find_executable(argv[0], env.get("PATH", DEFAULT_PATH)) if argv else ""
    if not path:
        raise RuntimeFailure("no command specified", "exec", EXIT_CANNOT_RUN)
    ready()
    return Prepared(path, list(argv), env, bpf)


def finish(prepared: Prepared) -> NoReturn:
    if prepared.seccomp_bpf is not None:
        with phase("seccomp"):
            seccomp.load(prepared.seccomp_bpf)
    try:
        os.execve(prepared.path, prepared.argv, prepared.env)
    except OSError as exc:
        code = EXIT_NOT_FOUND if exc.errno == errno.ENOENT else EXIT_CANNOT_RUN
        raise RuntimeFailure(f"exec: {prepared.argv[0]!r}: {exc.strerror}", "exec", code) from exc


def reset_signals() -> None:
    """Default disposition for every signal and an empty mask: SIG_IGN would survive execve.

    Python ignores SIGPIPE and SIGXFSZ; a shell in the container must not inherit that.
    Python's table knows every disposition (it read them all at start-up and
    made every later change), so only the ones not at default are touched.
    """
    for signum in range(1, signal.NSIG):
        if signum in (signal.SIGKILL, signal.SIGSTOP):
            continue
        try:
            current = signal.getsignal(signum)
        except ValueError:
            continue
        if current is not signal.SIG_DFL:
            with contextlib.suppress(OSError, ValueError, RuntimeError):
                signal.signal(signum, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_SETMASK, [])


def environment(env: Sequence[str], uid: int) -> dict[str, str]:
    """KEY=value list -> dict (last wins), with HOME from the container's /etc/passwd when unset."""
    out: dict[str, str] = {}
    for item in env:
        key, _, value = item.partition("=")
        if key:
            out[key] = value
    if "HOME" not in out:
        out["HOME"] = home_of(uid)
    return out


def home_of(uid: int, passwd: str = "/etc/passwd") -> str:
    try:
        fd = os.open(passwd, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return "/"
    try:
        chunks = []
        while chunk := os.read(fd, 65536):
            chunks.append(chunk)
    finally:
        os.close(fd)
    wanted = str(uid).encode()
    for line in b"".join(chunks).splitlines():
        fields = line.split(b":")
        if len(fields) >= 6 and fields[2] == wanted:
            return os.fsdecode(fields[5]) or "/"
    return "/"


def find_executable(name: str, search_path: str) -> str:
    """Resolve argv[0] like Go's exec.LookPath with the container's PATH; Docker's messages and codes."""
    if "/" in name:
        _check_runnable(name, name)
        return name
    for directory in search_path.split(":"):
        candidate = os.path.join(directory or ".", name)
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    raise RuntimeFailure(f'exec: "{name}": executable file not found in $PATH', "exec", EXIT_NOT_FOUND)


def _check_runnable(path: str, name: str) -> None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise RuntimeFailure(f'exec: "{name}": stat {path}: no such file or directory', "exec",
                             EXIT_NOT_FOUND) from None
    if os.path.isdir(path) or not st.st_mode & 0o111 or not os.access(path, os.X_OK):
        raise RuntimeFailure(f'exec: "{name}": permission denied', "exec", EXIT_CANNOT_RUN)
