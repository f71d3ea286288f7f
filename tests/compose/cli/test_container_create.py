"""`container run` flags -> the create body, as docker builds it."""

from __future__ import annotations

from pathlib import Path

import click
import pytest

from compose.cli.container_create import (
    CreateOptions,
    create_body,
    mount,
    port_bindings,
    ram_in_bytes,
    restart_policy,
    ulimit,
    volume,
)


def test_minimal_body_attaches_stdout_and_stderr() -> None:
    body = create_body(CreateOptions(image="busybox", command=("echo", "hi")))
    assert body == {"Image": "busybox", "Cmd": ["echo", "hi"], "Tty": False, "OpenStdin": False,
                    "AttachStdin": False, "AttachStdout": True, "AttachStderr": True, "StdinOnce": False,
                    "HostConfig": {"AutoRemove": False, "Privileged": False, "ReadonlyRootfs": False}}


def test_detached_interactive_tty() -> None:
    body = create_body(CreateOptions(image="b", detach=True, interactive=True, tty=True, console_size=(24, 80)))
    assert body["OpenStdin"] and body["Tty"]
    assert not body["AttachStdin"] and not body["AttachStdout"] and not body["StdinOnce"]
    assert body["HostConfig"]["ConsoleSize"] == [24, 80]
    attached = create_body(CreateOptions(image="b", interactive=True))
    assert attached["AttachStdin"] and attached["StdinOnce"]


def test_every_flag(tmp_path: Path) -> None:
    env_file = tmp_path / "env"
    env_file.write_text("# comment\n\nFROM_FILE=1\n  PASSED\nUNSET_ONE\nSPACED= v \n")
    opts = CreateOptions(
        image="busybox", name="c1", auto_remove=True, env=("A=1", "PASSED", "NOPE"), env_files=(str(env_file),),
        volumes=("/data", "/host:/in:ro", "named:/vol"), mounts=("type=tmpfs,target=/t,tmpfs-size=1m",),
        tmpfs=("/run:size=64m",), workdir="/w", user="1000:1000", entrypoint="", init=True, memory="512m",
        cpus="1.5", pids_limit=100, cap_add=("NET_ADMIN",), cap_drop=("ALL",), privileged=True, read_only=True,
        security_opt=("no-new-privileges",), network="none", labels=("a=b", "flag"), hostname="h",
        stop_signal="SIGINT", stop_timeout=3, ulimits=("nofile=1024:2048",), sysctls=("net.ipv4.ip_forward=1",),
        shm_size="64m", publish=("8080:80", "127.0.0.1::53/udp"), environ={"PASSED": "yes"},
    )
    body = create_body(opts)
    host = body["HostConfig"]
    assert body["Env"] == ["FROM_FILE=1", "PASSED=yes", "SPACED= v ", "A=1", "PASSED=yes"]
    assert body["Volumes"] == {"/data": {}} and host["Binds"] == ["/host:/in:ro", "named:/vol"]
    assert host["Mounts"] == [{"Type": "tmpfs", "Target": "/t", "TmpfsOptions": {"SizeBytes": 1 << 20}}]
    assert host["Tmpfs"] == {"/run": "size=64m"}
    assert body["Entrypoint"] == [""] and body["WorkingDir"] == "/w" and body["User"] == "1000:1000"
    assert host["Init"] is True and host["Memory"] == 512 << 20 and host["NanoCpus"] == 1_500_000_000
    assert host["PidsLimit"] == 100 and host["CapAdd"] == ["NET_ADMIN"] and host["CapDrop"] == ["ALL"]
    assert host["Privileged"] and host["ReadonlyRootfs"] and host["SecurityOpt"] == ["no-new-privileges"]
    assert host["NetworkMode"] == "none" and body["Labels"] == {"a": "b", "flag": ""}
    assert body["Hostname"] == "h" and body["StopSignal"] == "SIGINT" and body["StopTimeout"] == 3
    assert host["Ulimits"] == [{"Name": "nofile", "Soft": 1024, "Hard": 2048}]
    assert host["Sysctls"] == {"net.ipv4.ip_forward": "1"} and host["ShmSize"] == 64 << 20
    assert host["PortBindings"] == {"80/tcp": [{"HostIp": "", "HostPort": "8080"}],
                                    "53/udp": [{"HostIp": "127.0.0.1", "HostPort": ""}]}
    assert body["ExposedPorts"] == {"80/tcp": {}, "53/udp": {}}
    assert host["AutoRemove"] is True


def test_rm_and_restart_conflict() -> None:
    with pytest.raises(click.UsageError, match="--restart and --rm"):
        create_body(CreateOptions(image="b", auto_remove=True, restart="always"))
    assert create_body(CreateOptions(image="b", auto_remove=True, restart="no"))["HostConfig"]["RestartPolicy"] == \
        {"Name": "no", "MaximumRetryCount": 0}


@pytest.mark.parametrize(("text", "size"), [("1024", 1024), ("1k", 1024), ("512m", 512 << 20), ("1g", 1 << 30),
                                            ("1.5GiB", 3 << 29), ("2MB", 2 << 20)])
def test_ram_in_bytes(text: str, size: int) -> None:
    assert ram_in_bytes(text, "-m") == size


@pytest.mark.parametrize("bad", ["", "x", "1q", "-1m"])
def test_bad_sizes(bad: str) -> None:
    with pytest.raises(click.BadParameter):
        ram_in_bytes(bad, "-m")


def test_restart_policies() -> None:
    assert restart_policy("on-failure:3") == {"Name": "on-failure", "MaximumRetryCount": 3}
    assert restart_policy("unless-stopped")["Name"] == "unless-stopped"
    for bad in ("sometimes", "always:3", "on-failure:x"):
        with pytest.raises(click.BadParameter):
            restart_policy(bad)


def test_ulimits() -> None:
    assert ulimit("nproc=10") == {"Name": "nproc", "Soft": 10, "Hard": 10}
    for bad in ("nofile", "nofile=a", "nofile=10:5"):
        with pytest.raises(click.BadParameter):
            ulimit(bad)


def test_volumes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert volume("/anon") == (None, "/anon")
    assert volume("./rel:/in") == (f"{tmp_path}/rel:/in", "/in")
    for bad in ("relative", "a:b", "/a:/b:ro:x", ":/b"):
        with pytest.raises(click.BadParameter):
            volume(bad)


def test_mounts() -> None:
    assert mount("type=bind,src=/a,dst=/b,readonly,bind-propagation=rshared") == {
        "Type": "bind", "Source": "/a", "Target": "/b", "ReadOnly": True, "BindOptions": {"Propagation": "rshared"}}
    assert mount('type=volume,source=v,target=/v,volume-nocopy,"volume-label=a=b",volume-opt=o=1') == {
        "Type": "volume", "Source": "v", "Target": "/v",
        "VolumeOptions": {"NoCopy": True, "Labels": {"a": "b"}, "DriverConfig": {"Options": {"o": "1"}}}}
    assert mount("type=tmpfs,target=/t,tmpfs-mode=1770")["TmpfsOptions"] == {"Mode": 0o1770}
    for bad in ("type=bind,target=/b", "source=/a", "type=bind,src=/a,dst=/b,bogus=1", "type=tmpfs,dst=/t,noval"):
        with pytest.raises(click.BadParameter):
            mount(bad)


def test_ports() -> None:
    assert port_bindings("80") == {"80/tcp": [{"HostIp": "", "HostPort": ""}]}
    assert port_bindings("8000-8001:80-81/udp") == {"80/udp": [{"HostIp": "", "HostPort": "8000"}],
                                                    "81/udp": [{"HostIp": "", "HostPort": "8001"}]}
    assert port_bindings("8000-8010:80") == {"80/tcp": [{"HostIp": "", "HostPort": "8000-8010"}]}
    assert port_bindings("[::1]:8080:80") == {"80/tcp": [{"HostIp": "::1", "HostPort": "8080"}]}
    for bad in ("x", "1:2:3:4", "8000-8002:80-81", "0", "70000", "[::1:80"):
        with pytest.raises(click.BadParameter):
            port_bindings(bad)
    with pytest.raises(click.BadParameter, match="invalid containerPort: x"):  # docker's words (go-connections)
        port_bindings("x")
