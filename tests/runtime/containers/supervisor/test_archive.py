"""The supervisor's `archive` op: a job inside a live container's mount namespace and root."""

from __future__ import annotations

import contextlib
import io
import json
import signal
import socket
import tarfile
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import pytest

from runtime.containers.supervisor_client import SupervisorClient, SupervisorError
from runtime.spec import ContainerSpec, Mount
from tests.runtime.containers.supervisor.conftest import SupervisorHandle
from tests.runtime.containers.supervisor.test_main import client, wait_exited

pytestmark = [pytest.mark.root, pytest.mark.anyio, pytest.mark.timeout(60)]


def _exchange(sock: socket.socket, data: bytes = b"") -> dict[str, Any]:
    with sock:
        sock.settimeout(20)
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # a job that failed first
            sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        answer = b""
        # A job that stopped early leaves the tar unread: after its answer comes ECONNRESET, not EOF.
        while not answer.endswith(b"\n") and (chunk := sock.recv(65536)):
            answer += chunk
    result: dict[str, Any] = json.loads(answer)
    return result


def _tar(name: str, content: bytes) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        info = tarfile.TarInfo(name)
        info.size, info.mode = len(content), 0o640
        tar.addfile(info, io.BytesIO(content))
    return out.getvalue()


async def _created(c: SupervisorClient, sup: SupervisorHandle, args: list[str]) -> ContainerSpec:
    spec = sup.spec(args)
    await c.create(spec, max_size=None, max_file=1, stdin_open=False, tty=False)
    return spec


async def test_put_and_stat_inside_a_container_at_its_gate_and_running(sup: SupervisorHandle) -> None:
    async with client(sup) as c:
        spec = await _created(c, sup, ["sleep", "30"])
        cid = spec.id
        # At the gate, the job already works in the container's own root: the file is in its layer.
        answer = _exchange(await c.archive(cid, "put", "/"), _tar("gate/file", b"at the gate"))
        assert answer["ok"], answer
        assert (Path(spec.rootfs.upperdir) / "gate" / "file").read_bytes() == b"at the gate"
        assert not Path("/gate").exists()
        await c.start(cid)
        answer = _exchange(await c.archive(cid, "put", "/", owner=(12, 34)), _tar("tmp/new/file", b"data"))
        assert answer == {"ok": True, "size": 4, "skipped": []}
        shown = _exchange(await c.archive(cid, "stat", "/tmp/new/file"))["stat"]
        assert shown["size"] == 4 and shown["mode"] == 0o640
        written = (Path(spec.rootfs.upperdir) / "tmp" / "new" / "file").stat()
        assert (written.st_uid, written.st_gid) == (12, 34)
        missing = _exchange(await c.archive(cid, "put", "/no/such"), _tar("x", b"x"))
        assert missing["ok"] is False and missing["status"] == 404
        await c.kill(cid, signal.SIGKILL)
        await wait_exited(c, cid)
        with pytest.raises(SupervisorError) as stopped:
            await c.archive(cid, "stat", "/")
        assert stopped.value.kind == "conflict"


async def test_bad_requests(sup: SupervisorHandle) -> None:
    async with client(sup) as c:
        with pytest.raises(SupervisorError) as unknown:
            await c.archive("0" * 64, "stat", "/")
        assert unknown.value.kind == "not_found"
        cid = (await _created(c, sup, ["true"])).id
        with pytest.raises(SupervisorError) as bad:
            await c.archive(cid, "remove", "/")
        assert bad.value.kind == "invalid"
        await c.delete(cid, force=True)


async def test_a_container_with_no_process_is_mounted_for_the_job_alone(sup: SupervisorHandle,
                                                                         tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    base = sup.spec(["true"])
    bind = Mount("/mnt/shared", "bind", str(shared), ("rbind",), "rprivate")
    spec = replace(base, mounts=(*base.mounts, bind))  # and /dev, /proc...: not mounted for the job
    async with client(sup) as c:
        put = await c.archive(spec.id, "put", "/", spec=asdict(spec), binds=("/mnt/shared",))
        answer = _exchange(put, _tar("mnt/shared/x", b"bound"))
        assert answer["ok"], answer
        answer = _exchange(await c.archive(spec.id, "put", "/dev", spec=asdict(spec)), _tar("y", b"layer"))
        assert answer["ok"], answer
        stat = _exchange(await c.archive(spec.id, "stat", "/mnt/shared/x", spec=asdict(spec),
                                         binds=("/mnt/shared",)))
        assert stat["stat"]["size"] == 5
    assert (shared / "x").read_bytes() == b"bound"
    upper = Path(spec.rootfs.upperdir)
    assert (upper / "dev" / "y").read_bytes() == b"layer" and not (upper / "mnt" / "shared" / "x").exists()
    with open("/proc/self/mountinfo") as f:
        assert spec.rootfs.mountpoint not in f.read()  # mounted in the job's namespace only
