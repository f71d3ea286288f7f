"""The supervisor outlives engines and clients; a killed supervisor's containers are taken over."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import anyio
import pytest

from runtime.containers.supervisor import launch
from runtime.containers.supervisor_client import SupervisorClient
from runtime.spec import ContainerSpec
from tests.engine_fixture import REPO, start_private_engine
from tests.runtime.containers.supervisor.conftest import SupervisorHandle

pytestmark = [pytest.mark.root, pytest.mark.timeout(90)]

ENGINE_LIKE = textwrap.dedent("""
    import sys, anyio, json
    from pathlib import Path
    from runtime.spec import ContainerSpec
    from runtime.containers.supervisor.launch import ensure_supervisor
    from runtime.containers.supervisor_client import SupervisorClient

    root, prefix, spec_file = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
    ensure_supervisor(root, prefix)

    async def main():
        client = await SupervisorClient.connect(root)
        spec = ContainerSpec.from_json(Path(spec_file).read_text())
        await client.create(spec, max_size=None, max_file=1, stdin_open=False, tty=False)
        await client.start(spec.id)
        print("started", flush=True)
        await anyio.sleep(3600)

    anyio.run(main)
""")


def log_text(spec: ContainerSpec) -> str:
    path = Path(spec.bundle) / f"{spec.id}-json.log"
    return "".join(json.loads(line)["log"] for line in path.read_text().splitlines()) if path.exists() else ""


def wait_exited(sup: SupervisorHandle, cid: str, timeout: float = 20.0) -> dict[str, Any]:
    state = sup.wait_status(cid, "exited", timeout)
    assert state["status"] == "exited", state
    return state


def test_ensure_supervisor_reuses_the_live_one(sup: SupervisorHandle) -> None:
    assert launch.ensure_supervisor(sup.root, sup.prefix) == sup.pid
    assert launch.supervisor_pid(sup.root) == sup.pid
    with open(f"/proc/{sup.pid}/cmdline", "rb") as f:
        assert b"runtime.containers.supervisor" in f.read()
    # Detached: its own session, not our child.
    assert os.getsid(sup.pid) == sup.pid or os.getsid(sup.pid) != os.getsid(0)
    with pytest.raises(ChildProcessError):
        os.waitpid(sup.pid, os.WNOHANG)


def test_supervisor_outlives_the_engine_that_started_it(sup: SupervisorHandle, tmp_path: Path) -> None:
    spec = sup.spec(["sh", "-c", "sleep 1; echo late; exit 4"])
    spec_file = tmp_path / "spec.json"
    spec_file.write_text(spec.to_json())
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    engine = subprocess.Popen([sys.executable, "-c", ENGINE_LIKE, str(sup.root), sup.prefix, str(spec_file)],
                              stdout=subprocess.PIPE, env=env, cwd=REPO)
    try:
        assert engine.stdout is not None
        assert engine.stdout.readline().strip() == b"started"
    finally:
        engine.send_signal(signal.SIGKILL)  # the engine dies hard, its client connection with it
        engine.wait()
    assert sup.request("state", cid=spec.id)["state"]["status"] == "running"
    state = wait_exited(sup, spec.id)
    assert state["exit_code"] == 4
    assert log_text(spec) == "late\n"


@pytest.mark.anyio
async def test_a_restarted_engine_reconnects_lists_and_gets_events(sup: SupervisorHandle) -> None:
    first = await SupervisorClient.connect(sup.root)
    gone = sup.spec(["sh", "-c", "exit 3"])
    await first.create(gone, max_size=None, max_file=1, stdin_open=False, tty=False)
    await first.start(gone.id)
    await first.aclose()  # the engine goes away; the container finishes meanwhile
    await anyio.to_thread.run_sync(wait_exited, sup, gone.id)

    second = await SupervisorClient.connect(sup.root)
    states = {s.id: s for s in await second.list()}
    assert states[gone.id].status == "exited" and states[gone.id].exit_code == 3
    events: list[dict[str, Any]] = []
    again = sup.spec(["sh", "-c", "exit 9"])
    async with anyio.create_task_group() as tg:

        async def watch() -> None:
            async for event in second.events():
                events.append(event)
                if event["event"] == "exit":
                    tg.cancel_scope.cancel()

        tg.start_soon(watch)
        await anyio.sleep(0.1)  # subscribed
        await second.create(again, max_size=None, max_file=1, stdin_open=False, tty=False)
        await second.start(again.id)
        with anyio.fail_after(10):
            await anyio.sleep_forever()
    assert [e["event"] for e in events] == ["start", "exit"]
    assert events[1]["exit_code"] == 9 and events[1]["id"] == again.id
    await second.aclose()


def test_killed_supervisor_containers_survive_and_are_readopted(sup: SupervisorHandle) -> None:
    running = sup.spec(["sh", "-c", "sleep 2; echo after; exit 5"])
    waiting = sup.spec(["echo", "never started"])
    for spec in (running, waiting):
        answer = sup.request("create", spec=json.loads(spec.to_json()), log={}, stdin_open=False, tty=False)
        assert answer["ok"], answer
    assert sup.request("start", cid=running.id)["ok"]
    pid = sup.request("state", cid=running.id)["state"]["pid"]

    os.kill(sup.pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while launch.supervisor_alive(sup.root) and time.monotonic() < deadline:
        time.sleep(0.01)
    os.kill(pid, 0)  # the container lives on without its supervisor

    sup.pid = launch.ensure_supervisor(sup.root, sup.prefix)  # the holder's new one
    states = {c["id"]: c for c in sup.request("list")["containers"]}
    assert states[running.id]["status"] == "running" and states[running.id]["pid"] == pid
    state = wait_exited(sup, running.id, timeout=30)
    assert state["exit_code"] == 5  # PIDFD_GET_INFO on the kept pidfd, once the holder reaped it
    assert log_text(running) == "after\n"  # the output pipes the holder kept
    # The one waiting at its gate saw EOF and quit (1; -1 where nobody could see its status).
    assert wait_exited(sup, waiting.id)["exit_code"] in (-1, 1)


def test_exited_records_survive_a_clean_supervisor_restart(sup: SupervisorHandle) -> None:
    spec = sup.spec(["sh", "-c", "exit 6"])
    assert sup.request("create", spec=json.loads(spec.to_json()), log={}, stdin_open=False, tty=False)["ok"]
    assert sup.request("start", cid=spec.id)["ok"]
    before = wait_exited(sup, spec.id)
    assert launch.shutdown(sup.root, force=False)
    sup.pid = launch.ensure_supervisor(sup.root, sup.prefix)
    after = sup.request("state", cid=spec.id)["state"]
    assert after == before and after["exit_code"] == 6


def test_the_engine_daemon_starts_its_supervisor_and_stops_it_when_idle(tmp_path: Path) -> None:
    engine = start_private_engine(tmp_path)
    try:
        assert launch.supervisor_alive(engine.root)
        pid = launch.supervisor_pid(engine.root)
        assert pid is not None and pid != engine.pid
    finally:
        engine.stop()
    assert not launch.supervisor_alive(engine.root)


def test_shutdown_with_force_kills_and_records_containers(sup: SupervisorHandle) -> None:
    spec = sup.spec(["sleep", "60"])
    assert sup.request("create", spec=json.loads(spec.to_json()), log={}, stdin_open=False, tty=False)["ok"]
    assert sup.request("start", cid=spec.id)["ok"]
    pid = sup.request("state", cid=spec.id)["state"]["pid"]
    assert not sup.request("shutdown", force=False)["ok"]
    assert launch.shutdown(sup.root, force=True)
    assert not os.path.exists(f"/proc/{pid}/exe")
    sup.pid = launch.ensure_supervisor(sup.root, sup.prefix)
    state = sup.request("state", cid=spec.id)["state"]
    assert state["status"] == "exited" and state["exit_code"] == 137
