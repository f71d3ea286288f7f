"""The CLI server (compose/cli/warm): command lines run in its children exactly as in processes of their own.

Each test has its own socket directory and ends its server; the command
used is `config`, which needs no engine, reading a compose file from a
stdin the test controls (so the command stays alive as long as we like).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from compose.cli.warm import protocol
from compose.cli.warm.child import SPARE_NAME
from compose.cli.warm.client import eligible
from compose.cli.warm.server import stop_servers, wait_for_server
from tests.signals import dispositions, ignored_by

PYCOMPOSE = str(Path(sys.executable).parent / "pycompose")
COMPOSE = "services:\n  web:\n    image: busybox\n    environment: ['X=${FOO}']\n"


@pytest.fixture
def cli_dir() -> Iterator[str]:
    directory = tempfile.mkdtemp(prefix="pyc-warm-")
    try:
        yield directory
    finally:
        stop_servers(directory)
        assert not [p for p in os.listdir(directory) if p.endswith(".sock")], "a stopped server leaves no socket"
        for name in os.listdir(directory):
            os.unlink(os.path.join(directory, name))
        os.rmdir(directory)


def env(cli_dir: str, **extra: str) -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": "/tmp", "LANG": "C.UTF-8",
            protocol.DIR_ENV: cli_dir, **extra}


def server_pid(cli_dir: str) -> int:
    pid = wait_for_server(cli_dir)
    assert pid is not None, "no CLI server came up"
    return pid


def children(pid: int) -> list[int]:
    """The server's command processes (not the spare it forks ahead of the next command line)."""
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return [int(p) for p in text.split() if _comm(int(p)) not in ("", SPARE_NAME)]


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def warm_up(cli_dir: str, ignored: tuple[int, ...] = ()) -> int:
    """The server, started by a first command line that ignores `ignored` (the server inherits that)."""
    first = subprocess.run([PYCOMPOSE, "--help"], env=env(cli_dir), capture_output=True, check=False,
                           preexec_fn=dispositions(ignored))
    assert first.returncode == 0
    return server_pid(cli_dir)


def test_a_command_runs_in_a_child_with_the_clients_cwd_env_streams_and_exit(cli_dir: str, tmp_path: Path) -> None:
    server = warm_up(cli_dir)
    (tmp_path / "compose.yaml").write_text(COMPOSE)
    process = subprocess.Popen([PYCOMPOSE, "config"], env=env(cli_dir, FOO="from-client"), cwd=tmp_path,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert "X: from-client" in out and f"name: {tmp_path.name}" in out
    # stdin is the client's too; the command's exit status and stderr come back unchanged.
    piped = subprocess.run([PYCOMPOSE, "-f", "-", "config", "--services"], env=env(cli_dir), input=COMPOSE,
                           capture_output=True, text=True, check=False, cwd=tmp_path)
    assert (piped.returncode, piped.stdout) == (0, "web\n")
    bad = subprocess.run([PYCOMPOSE, "no-such-command"], env=env(cli_dir), capture_output=True, text=True,
                         check=False)
    assert bad.returncode == 2 and "No such command 'no-such-command'" in bad.stderr
    assert server_pid(cli_dir) == server  # one server served them all


def until(predicate: Callable[[], bool], timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate() and time.monotonic() < deadline:
        time.sleep(0.05)
    return predicate()


def blocked_command(cli_dir: str, server_ignores: tuple[int, ...] = (),
                    client_ignores: tuple[int, ...] = ()) -> tuple[int, subprocess.Popen[bytes], int]:
    """(server, client, child): a command blocked reading the client's stdin, in the server's child."""
    server = warm_up(cli_dir, server_ignores)
    process = subprocess.Popen([PYCOMPOSE, "-f", "-", "config"], env=env(cli_dir), stdin=subprocess.PIPE,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               preexec_fn=dispositions(client_ignores))
    assert until(lambda: len(children(server)) == 1)
    time.sleep(0.5)  # the client has the child's pid by now, and forwards
    return server, process, children(server)[0]


def test_the_command_is_the_servers_child_and_signals_reach_it(cli_dir: str) -> None:
    server, process, _ = blocked_command(cli_dir)
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=20)
    assert process.returncode == -signal.SIGTERM  # ended as a process of its own would have
    assert until(lambda: children(server) == [])


def test_the_child_takes_the_clients_dispositions_not_the_servers(cli_dir: str) -> None:
    # The server was started from a background job (SIGINT ignored); this client runs in a terminal.
    server, process, child = blocked_command(cli_dir, server_ignores=(signal.SIGINT,))
    assert signal.SIGINT in ignored_by(server) and signal.SIGINT not in ignored_by(child)
    process.send_signal(signal.SIGINT)
    process.wait(timeout=20)
    assert process.returncode == 130  # Ctrl+C ends the command, as a process of its own
    assert until(lambda: children(server) == [])


def test_a_signal_the_client_ignores_is_forwarded_and_ignored_by_the_command(cli_dir: str) -> None:
    # A client in a background job: `config` does not handle SIGINT, so it ignores it, as it would by itself.
    server, process, child = blocked_command(cli_dir, client_ignores=(signal.SIGINT,))
    assert signal.SIGINT in ignored_by(child) and signal.SIGINT not in ignored_by(server)
    process.send_signal(signal.SIGINT)
    time.sleep(0.5)
    assert process.poll() is None and children(server) == [child]
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=20) == -signal.SIGTERM


def test_a_client_killed_takes_its_command_along(cli_dir: str) -> None:
    server, process, child = blocked_command(cli_dir)
    process.kill()
    process.wait(timeout=10)
    assert until(lambda: not Path(f"/proc/{child}").exists())
    os.kill(server, 0)  # the server itself lives on


def test_turned_off_or_interactive_runs_here(cli_dir: str) -> None:
    result = subprocess.run([PYCOMPOSE, "--help"], env=env(cli_dir, PYCOMPOSE_CLI_SERVER="0"), capture_output=True,
                            check=False)
    assert result.returncode == 0
    time.sleep(0.5)
    assert os.listdir(cli_dir) == []  # no server left behind either
    assert not eligible(["engine", "start"])
    assert eligible(["up", "-d"])


def test_the_key_follows_the_code(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "a.py").write_text("")
    before = protocol._newest_mtime(str(package))
    os.utime(package / "a.py", ns=(before + 10**9, before + 10**9))
    assert protocol._newest_mtime(str(package)) == before + 10**9
    assert protocol.server_key() == protocol.server_key()


def test_a_directory_open_to_others_is_not_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o777)
    shared.chmod(0o777)
    monkeypatch.setenv(protocol.DIR_ENV, str(shared))
    assert protocol.socket_dir() is None


def test_a_new_server_sweeps_what_dead_ones_left(cli_dir: str) -> None:
    for leftover in ("00000000-00000000.lock", "00000000-00000000.sock"):
        Path(cli_dir, leftover).write_text("")
    warm_up(cli_dir)
    assert not [n for n in os.listdir(cli_dir) if n.startswith("00000000-")]


def test_a_spare_forked_ahead_takes_the_next_command_and_goes_with_the_server(cli_dir: str, tmp_path: Path) -> None:
    server = warm_up(cli_dir)

    def spares() -> list[int]:
        text = Path(f"/proc/{server}/task/{server}/children").read_text()
        return [int(p) for p in text.split() if _comm(int(p)) == SPARE_NAME]

    assert until(lambda: len(spares()) == 1)  # forked once the first command line was over
    spare = spares()[0]
    (tmp_path / "compose.yaml").write_text(COMPOSE)
    ran = subprocess.run([PYCOMPOSE, "config", "--services"], env=env(cli_dir), cwd=tmp_path, capture_output=True,
                         text=True, check=False)
    assert (ran.returncode, ran.stdout) == (0, "web\n"), ran.stderr
    assert until(lambda: spares() and spares()[0] != spare)  # that one ran it; a new one waits
    assert not Path(f"/proc/{spare}").exists() or _comm(spare) != SPARE_NAME
    waiting = spares()[0]
    stop_servers(cli_dir)
    assert not Path(f"/proc/{waiting}").exists()  # ended with the server, not left behind
