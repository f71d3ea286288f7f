"""A container whose start fails is reported as dockerd reports it, by every client and flow: the
docker CLI's `run`, `run --rm`, `run -d` exit 125 with the daemon's message (and `--rm` leaves
nothing), `start -a` exits 1, docker-py's `containers.run` raises the 500; and an attach made while
the container could not be born yet waits for the start, as dockerd's does, instead of ending at once
and losing what the container then prints (`docker run --rm` used to exit 0 with no output)."""

from __future__ import annotations

import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

import docker as docker_py
import pytest

from tests.engine_fixture import EngineHandle
from tests.runtime.api.containers_env import docker_env, env, eventually, out, private_engine, run

pytestmark = [pytest.mark.root, pytest.mark.timeout(120)]
__all__ = ["docker_env", "env", "private_engine"]


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A loopback port held by a listening socket: publishing it makes the start fail."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen(1)
        yield holder.getsockname()[1]


def test_the_docker_cli_reports_a_failed_start(env: dict[str, str], busy_port: int) -> None:
    allocated = f"Bind for 127.0.0.1:{busy_port} failed: port is already allocated"
    for flags in (("--rm",), (), ("-d",), ("--rm", "-d")):
        result = run(env, "run", *flags, "-p", f"127.0.0.1:{busy_port}:80", "busybox", "echo", "ran", check=False)
        assert result.returncode == 125, (flags, result.returncode, result.stderr.decode())
        assert "Error response from daemon: driver failed programming external connectivity on endpoint" \
               in result.stderr.decode() and allocated in result.stderr.decode(), flags
        assert b"ran" not in result.stdout
    eventually(lambda: len(out(env, "ps", "-aq").split()) == 2)  # the two without --rm, left as created
    assert set(out(env, "ps", "-a", "--format", "{{.State}}").split()) == {"created"}
    made = out(env, "create", "-p", f"127.0.0.1:{busy_port}:80", "busybox", "echo", "ran").strip()
    started = run(env, "start", "-a", made, check=False)
    assert started.returncode == 1 and allocated in started.stderr.decode() and b"ran" not in started.stdout


def test_a_start_failing_in_the_runtime_exits_125(env: dict[str, str]) -> None:
    result = run(env, "run", "--rm", "-w", "/bin/sh", "busybox", "true", check=False)  # cwd is a file
    assert result.returncode == 125, result.stderr.decode()
    assert "Error response from daemon: failed to create task for container" in result.stderr.decode()
    assert 'chdir to cwd ("/bin/sh") set in config.json failed: not a directory' in result.stderr.decode()
    eventually(lambda: out(env, "ps", "-aq").strip() == "")


def test_docker_py_run_raises_the_start_error(private_engine: EngineHandle, env: dict[str, str],
                                              busy_port: int) -> None:
    client = docker_py.DockerClient(base_url=private_engine.host)
    try:
        for options in ({}, {"detach": True}, {"auto_remove": True}):
            with pytest.raises(docker_py.errors.APIError) as failed:
                client.containers.run("busybox", "true", ports={"80/tcp": ("127.0.0.1", busy_port)}, **options)
            assert failed.value.status_code == 500
            assert "port is already allocated" in str(failed.value.explanation)
        eventually(lambda: len(client.containers.list(all=True)) == 2)  # the auto-removed one is gone
    finally:
        client.close()


def test_an_attach_before_a_birth_gets_the_stream_of_the_start(private_engine: EngineHandle,
                                                                env: dict[str, str], tmp_path: Path) -> None:
    """The birth at the attach fails (the bind source is missing then), the one at the start works:
    the attach delivers the output, as with dockerd where only the start makes the process."""
    source = tmp_path / "data"
    source.mkdir()
    api = docker_py.APIClient(base_url=private_engine.host)
    try:
        mount = docker_py.types.Mount("/data", str(source), type="bind")
        made = api.create_container("busybox", ["cat", "/data/f"], host_config=api.create_host_config(mounts=[mount]))
        shutil.rmtree(source)
        attached = api.attach_socket(made["Id"], params={"stdout": 1, "stderr": 1, "stream": 1})
        source.mkdir()
        (source / "f").write_text("hello from the start\n")
        api.start(made["Id"])
        assert api.wait(made["Id"], timeout=30) == {"Error": None, "StatusCode": 0}
        raw: socket.socket = getattr(attached, "_sock", attached)
        raw.settimeout(10)
        received = b""
        while chunk := raw.recv(65536):
            received += chunk
        raw.close()
        assert received.endswith(b"hello from the start\n"), received
    finally:
        api.close()
