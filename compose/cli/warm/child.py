"""The child half of the CLI server: a process forked from the server that becomes one command line.

`child` takes the client's streams, directory, umask, environment and signal
dispositions, then runs the command. `spare` is a child forked ahead of the
next command line, waiting on a channel for it (the request and the client's
descriptors), so that the fork and the first touches of the server's pages are
off that command line's path; its name (`comm`) says so while it waits.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sys

from compose.cli.warm import protocol

SPARE_NAME = "pyc-cli-spare"
MAX_REQUEST = 1 << 20


def spare(channel: socket.socket, comm: str) -> None:
    """Wait for a command line on `channel` (the server's SEQPACKET end: payload, stdin/out/err and the
    client's connection), then run it as `child`; the channel's end (the server gone) ends it. Never returns."""
    try:
        signal.set_wakeup_fd(-1)  # the server's wake-up pipe is not ours
        signal.signal(signal.SIGTERM, signal.SIG_DFL)  # not the server's handler
        _name(SPARE_NAME)
        payload, fds, _flags, _addr = socket.recv_fds(channel, MAX_REQUEST, 4)
        if not payload or len(fds) != 4:
            os._exit(0)
        _name(comm)
        request = protocol.decode_request(payload)
    except BaseException:  # never back into the server's loop
        os._exit(0)
    child(request, fds[:3], fds[3])


def _name(comm: str) -> None:
    with contextlib.suppress(OSError), open("/proc/self/comm", "w") as f:
        f.write(comm)


def child(request: tuple[list[str], str, int, dict[str, str], frozenset[int]], fds: list[int], conn: int) -> None:
    """Become the command line's process: its streams, directory, umask and environment, then run it.

    The child itself tells the client its pid (first, so nothing can come before it) and, once its
    output is flushed, its exit status: the client is done without waiting for this big process's
    teardown and reaping. The server still reports an end by signal, and repeats the exit."""
    status, reporting = 1, False
    try:
        signal.set_wakeup_fd(-1)  # the server's wake-up pipe is not ours
        argv, cwd, umask, environ, ignored = request
        _take_dispositions(ignored)
        report = os.dup(conn)
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
        os.dup2(report, _REPORT_FD)
        reporting = True
        os.closerange(_REPORT_FD + 1, os.sysconf("SC_OPEN_MAX") if os.sysconf("SC_OPEN_MAX") > 0 else 65536)
        os.write(_REPORT_FD, f"pid {os.getpid()}\n".encode())
        os.chdir(cwd)
        os.umask(umask)
        os.environ.clear()
        os.environ.update(environ)
        sys.argv = argv
        _fresh_streams()
        status = _run(argv[1:])
    except BaseException:  # the child must end here whatever happens, never return into the server's loop
        status = 2
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        if reporting:  # else descriptor 3 is still one of the server's
            with contextlib.suppress(OSError):
                os.write(_REPORT_FD, f"exit {status}\n".encode())
        os._exit(status)


_REPORT_FD = 3  # the client's connection, in the child


def _take_dispositions(ignored: frozenset[int]) -> None:
    """The client's dispositions, as a Python process started by it would have: ignored, or the default."""
    for number in protocol.SIGNALS:
        if number in ignored:
            signal.signal(number, signal.SIG_IGN)
        else:
            signal.signal(number, signal.default_int_handler if number == signal.SIGINT else signal.SIG_DFL)


def _run(argv: list[str]) -> int:
    from compose.cli.main import main

    try:
        result = main(argv)
    except SystemExit as exc:
        result = exc.code
    if result is None:
        return 0
    if isinstance(result, int):
        return result & 0xFF
    sys.stderr.write(f"{result}\n")
    return 1


def _fresh_streams() -> None:
    """stdin/stdout/stderr objects for the client's descriptors, buffered as Python does at its start."""
    import io

    encoding = sys.stdout.encoding if sys.stdout is not None else "utf-8"
    unbuffered = bool(os.environ.get("PYTHONUNBUFFERED"))

    def wrap(fd: int, mode: str, errors: str) -> io.TextIOWrapper:
        raw = io.FileIO(fd, mode[0], closefd=False)
        tty = raw.isatty()
        buffer = io.BufferedReader(raw) if mode == "rb" else io.BufferedWriter(raw)
        return io.TextIOWrapper(buffer, encoding=encoding, errors=errors,
                                line_buffering=mode == "wb" and (tty or unbuffered or fd == 2),
                                write_through=unbuffered)

    for name, fd, mode, errors in (("stdin", 0, "rb", "strict"), ("stdout", 1, "wb", "strict"),
                                   ("stderr", 2, "wb", "backslashreplace")):
        stream = wrap(fd, mode, errors)
        setattr(sys, name, stream)
        setattr(sys, f"__{name}__", stream)
