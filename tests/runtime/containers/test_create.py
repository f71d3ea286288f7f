"""The create translation: Docker's create request + image config -> ContainerSpec and record (no kernel)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from runtime.containers.create import Created, HostFacts, ImageInfo, translate, write_bundle
from runtime.containers.create_mounts import MASKED_PATHS, READONLY_PATHS
from runtime.errors import EngineError
from runtime.linux import caps
from runtime.spec import ContainerSpec
from runtime.volumes import VolumeStore

CID = "ab12" * 16
HOST = HostFacts(ncpu=2, hostname="hosty", hosts="127.0.0.1\tlocalhost\n10.0.0.9\thosty\n",
                 resolv_conf="nameserver 127.0.0.53\nsearch corp.example\noptions edns0\n",
                 init_binary="/usr/bin/tini-static")
PASSWD = "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\nnobody:x:65534:65534::/:/bin/false\n"
GROUP = "root:x:0:\nwheel:x:10:app\napp:x:1000:\naudio:x:29:\n"


def image(tmp_path: Path, config: dict[str, Any] | None = None) -> ImageInfo:
    low, high = tmp_path / "l0", tmp_path / "l1"
    (low / "etc").mkdir(parents=True, exist_ok=True)
    (low / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")
    (high / "etc").mkdir(parents=True, exist_ok=True)
    (high / "etc" / "passwd").write_text(PASSWD)  # the top layer wins
    (high / "etc" / "group").write_text(GROUP)
    base = {"Cmd": ["sh"], "Env": ["PATH=/usr/bin:/bin", "IMG=1"], "Labels": {"from": "image", "both": "image"}}
    return ImageInfo("sha256:" + "cd" * 32, "busybox", {**base, **(config or {})}, (low, high))


def make(tmp_path: Path, body: dict[str, Any], image_config: dict[str, Any] | None = None,
         host: HostFacts = HOST) -> Created:
    bundle = tmp_path / "containers" / CID
    return translate(CID, "web", {"Image": "busybox", **body}, image(tmp_path, image_config), "pyc1234", bundle,
                     host, VolumeStore(tmp_path / "volumes").for_container("c" * 64))


def spec_of(tmp_path: Path, body: dict[str, Any], **kw: Any) -> ContainerSpec:
    return make(tmp_path, body, **kw).spec


def error_of(tmp_path: Path, body: dict[str, Any], **kw: Any) -> EngineError:
    with pytest.raises(EngineError) as info:
        make(tmp_path, body, **kw)
    return info.value


def mount(spec: ContainerSpec, target: str) -> Any:
    found = [m for m in spec.mounts if m.target == target]
    assert len(found) == 1, (target, spec.mounts)
    return found[0]


def env(spec: ContainerSpec) -> dict[str, str]:
    return dict(e.split("=", 1) for e in spec.process.env)


def test_defaults_follow_docker(tmp_path: Path) -> None:
    created = make(tmp_path, {})
    spec, record = created.spec, created.record
    assert spec.process.args == ("sh",)
    assert spec.hostname == CID[:12] and record.config["Hostname"] == CID[:12]
    assert spec.process.cwd == "/" and spec.process.user.uid == 0
    assert spec.process.capabilities == caps.resolve((), (), False)
    assert spec.masked_paths == MASKED_PATHS and spec.readonly_paths == READONLY_PATHS
    assert spec.seccomp and not spec.privileged and spec.init == ""
    assert spec.namespaces == ("mnt", "uts", "ipc", "pid", "net", "cgroup")
    assert mount(spec, "/dev/shm").options[-1] == f"size={64 * 1024 * 1024}"
    assert mount(spec, "/dev").options == ("nosuid", "strictatime", "mode=755", "size=65536k")
    assert "ro" in mount(spec, "/sys").options
    assert spec.stop_signal == 15
    assert spec.rootfs.lowerdirs == (str(tmp_path / "l1"), str(tmp_path / "l0"))  # highest first
    assert spec.cgroup_name == CID and spec.prefix == "pyc1234"
    assert record.host_config["NetworkMode"] == "bridge"
    assert record.host_config["RestartPolicy"] == {"Name": "no", "MaximumRetryCount": 0}
    assert record.host_config["LogConfig"] == {"Type": "json-file", "Config": {}}
    assert record.path == "sh" and record.args == []
    assert record.log_path.endswith(f"{CID}-json.log")
    assert record.network_settings["Networks"].keys() == {"bridge"}


def test_entrypoint_and_cmd_merge(tmp_path: Path) -> None:
    img = {"Entrypoint": ["/entry"], "Cmd": ["default"]}
    assert spec_of(tmp_path, {}, image_config=img).process.args == ("/entry", "default")
    assert spec_of(tmp_path, {"Cmd": ["x"]}, image_config=img).process.args == ("/entry", "x")
    # A new entrypoint drops the image's Cmd.
    assert spec_of(tmp_path, {"Entrypoint": ["/other"]}, image_config=img).process.args == ("/other",)
    # [""] clears the entrypoint; the request's Cmd runs alone.
    assert spec_of(tmp_path, {"Entrypoint": [""], "Cmd": ["echo", "hi"]}, image_config=img).process.args == (
        "echo", "hi")
    assert error_of(tmp_path, {"Entrypoint": [""]}, image_config=img).message == "No command specified"
    assert error_of(tmp_path, {}, image_config={"Cmd": None}).status == 400


def test_env_labels_and_workdir(tmp_path: Path) -> None:
    created = make(tmp_path, {"Env": ["IMG=2", "MINE=x"], "Labels": {"both": "request"}, "WorkingDir": "/srv",
                              "Tty": True})
    assert created.record.config["Env"] == ["IMG=2", "MINE=x", "PATH=/usr/bin:/bin"]
    assert created.record.config["Labels"] == {"from": "image", "both": "request"}
    e = env(created.spec)
    assert e["PATH"] == "/usr/bin:/bin" and e["IMG"] == "2" and e["HOSTNAME"] == CID[:12]
    assert e["TERM"] == "xterm" and e["HOME"] == "/root"
    assert created.spec.process.cwd == "/srv" and created.spec.process.terminal
    assert "absolute path" in error_of(tmp_path, {"WorkingDir": "rel"}).message


def test_user_names_come_from_the_image(tmp_path: Path) -> None:
    user = spec_of(tmp_path, {"User": "app"}).process.user
    assert (user.uid, user.gid, user.additional_gids) == (1000, 1000, (10,))
    user = spec_of(tmp_path, {"User": "app:audio", "HostConfig": {"GroupAdd": ["wheel", "5"]}}).process.user
    assert (user.uid, user.gid, user.additional_gids) == (1000, 29, (10, 5))
    user = spec_of(tmp_path, {"User": "4242:4343"}).process.user
    assert (user.uid, user.gid) == (4242, 4343)
    assert env(spec_of(tmp_path, {"User": "app"}))["HOME"] == "/home/app"
    assert "unable to find user ghost" in error_of(tmp_path, {"User": "ghost"}).message
    assert "unable to find group ghosts" in error_of(tmp_path, {"User": "app:ghosts"}).message


def test_binds_volumes_and_tmpfs(tmp_path: Path) -> None:
    host_dir = tmp_path / "data"
    created = make(tmp_path, {
        "Volumes": {"/anon": {}},
        "HostConfig": {
            "Binds": [f"{host_dir}:/data:ro,rshared", "named:/named", "/missing-made:/m"],
            "Tmpfs": {"/run": "size=1m,exec"},
            "Mounts": [{"Type": "tmpfs", "Target": "/scratch", "TmpfsOptions": {"SizeBytes": 1024, "Mode": 0o700}}],
        },
    })
    spec, record = created.spec, created.record
    data = mount(spec, "/data")
    assert (data.type, data.source, data.options, data.propagation) == ("bind", str(host_dir), ("rbind", "ro"),
                                                                        "rshared")
    assert host_dir.is_dir()  # Binds create a missing host directory, as Docker does
    named = mount(spec, "/named")
    assert named.source == str(tmp_path / "volumes" / "named" / "_data") and os.path.isdir(named.source)
    run = mount(spec, "/run")
    assert run.type == "tmpfs" and "size=1m" in run.options and "noexec" not in run.options
    assert "nosuid" in run.options
    assert "mode=700" in mount(spec, "/scratch").options
    anon = mount(spec, "/anon")
    assert created.anonymous_volumes and anon.source.endswith(f"{created.anonymous_volumes[0]}/_data")
    kinds = {p["Destination"]: p["Type"] for p in record.mounts}
    assert kinds == {"/data": "bind", "/named": "volume", "/m": "bind", "/scratch": "tmpfs", "/anon": "volume"}
    assert next(p for p in record.mounts if p["Destination"] == "/data")["RW"] is False
    # Parents come before children in the mount order.
    targets = [m.target for m in spec.mounts]
    assert targets.index("/dev") < targets.index("/dev/shm")


def test_mount_errors(tmp_path: Path) -> None:
    assert "Duplicate mount point: /x" in error_of(tmp_path, {"HostConfig": {"Binds": ["/a:/x", "/b:/x"]}}).message
    assert "must be absolute" in error_of(tmp_path, {"HostConfig": {"Binds": ["/a:rel"]}}).message
    assert "invalid mode" in error_of(tmp_path, {"HostConfig": {"Binds": ["/a:/x:bogus"]}}).message
    assert "invalid characters" in error_of(tmp_path, {"HostConfig": {"Binds": ["bad name!:/x"]}}).message
    missing = {"HostConfig": {"Mounts": [{"Type": "bind", "Source": str(tmp_path / "nope"), "Target": "/x"}]}}
    assert "bind source path does not exist" in error_of(tmp_path, missing).message


def test_etc_files(tmp_path: Path) -> None:
    created = make(tmp_path, {"Domainname": "example.org", "HostConfig": {
        "ExtraHosts": ["db:10.1.2.3"], "DnsSearch": ["svc.local"]}})
    write_bundle(created)
    bundle = Path(created.spec.bundle)
    assert (bundle / "hostname").read_text() == CID[:12] + "\n"
    hosts = (bundle / "hosts").read_text()
    assert hosts.startswith("127.0.0.1\tlocalhost\n") and "10.1.2.3\tdb\n" in hosts
    resolv = (bundle / "resolv.conf").read_text()
    # The host's local resolver is unreachable from a container: Docker's fallback instead.
    assert "127.0.0.53" not in resolv and "nameserver 8.8.8.8" in resolv
    assert "search svc.local" in resolv and "options edns0" in resolv
    for target in ("/etc/hosts", "/etc/hostname", "/etc/resolv.conf"):
        assert mount(created.spec, target).create == "file"
    assert (bundle / "upper").is_dir() and (bundle / "work").is_dir()


def test_network_modes(tmp_path: Path) -> None:
    host = make(tmp_path, {"HostConfig": {"NetworkMode": "host"}})
    assert "net" not in host.spec.namespaces and host.spec.hostname == "hosty"
    assert "10.0.0.9\thosty" in host.files[str(Path(host.spec.bundle) / "hosts")]
    assert "nameserver 127.0.0.53" in host.files[str(Path(host.spec.bundle) / "resolv.conf")]
    none = make(tmp_path, {"HostConfig": {"NetworkMode": "none"}})
    assert "net" in none.spec.namespaces and none.record.network_settings["Networks"].keys() == {"none"}
    assert error_of(tmp_path, {"HostConfig": {"NetworkMode": "mynet"}}).status == 404
    shared = spec_of(tmp_path, {"HostConfig": {"PidMode": "host", "IpcMode": "host", "UTSMode": "host"}})
    assert shared.namespaces == ("mnt", "net", "cgroup")
    assert mount(shared, "/dev/shm").type == "bind"


def test_privileges(tmp_path: Path) -> None:
    spec = spec_of(tmp_path, {"HostConfig": {"CapAdd": ["NET_ADMIN"], "CapDrop": ["chown"]}})
    assert "CAP_NET_ADMIN" in spec.process.capabilities and "CAP_CHOWN" not in spec.process.capabilities
    priv = spec_of(tmp_path, {"HostConfig": {"Privileged": True}})
    assert priv.privileged and not priv.seccomp and priv.masked_paths == () and priv.readonly_paths == ()
    assert set(priv.process.capabilities) == set(caps.ALL_CAPS)
    assert "ro" not in mount(priv, "/sys").options
    secure = spec_of(tmp_path, {"HostConfig": {"SecurityOpt": ["no-new-privileges:true", "seccomp=unconfined"]}})
    assert secure.process.no_new_privileges and not secure.seccomp
    assert "unsupported" in error_of(tmp_path, {"HostConfig": {"SecurityOpt": ["apparmor=foo"]}}).message
    assert error_of(tmp_path, {"HostConfig": {"CapAdd": ["NOT_A_CAP"]}}).status == 400


def test_init(tmp_path: Path) -> None:
    spec = spec_of(tmp_path, {"HostConfig": {"Init": True}})
    init = mount(spec, "/sbin/docker-init")
    assert init.source == "/usr/bin/tini-static" and "ro" in init.options and spec.init
    no_tini = HostFacts(2, "h", "", "", "")
    assert "tini" in error_of(tmp_path, {"HostConfig": {"Init": True}}, host=no_tini).message


def test_resources_and_limits(tmp_path: Path) -> None:
    spec = spec_of(tmp_path, {"HostConfig": {
        "Memory": 64 << 20, "NanoCpus": 1_500_000_000, "CpuShares": 512, "PidsLimit": 50, "CpusetCpus": "0",
        "Ulimits": [{"Name": "nofile", "Soft": 1024, "Hard": 2048}], "OomScoreAdj": 100, "ShmSize": 1 << 20,
        "Sysctls": {"net.ipv4.ip_forward": "1", "kernel.shmmax": "1000"}}})
    r = spec.resources
    assert (r.memory, r.memory_swap, r.cpu_quota, r.cpu_period, r.cpu_shares, r.pids_limit, r.cpuset_cpus) == (
        64 << 20, 128 << 20, 150_000, 100_000, 512, 50, "0")
    assert spec.process.rlimits[0].name == "nofile" and spec.process.rlimits[0].hard == 2048
    assert spec.process.oom_score_adj == 100
    assert mount(spec, "/dev/shm").options[-1] == f"size={1 << 20}"
    assert dict(spec.sysctls) == {"net.ipv4.ip_forward": "1", "kernel.shmmax": "1000"}
    assert "6MB" in error_of(tmp_path, {"HostConfig": {"Memory": 1024}}).message
    assert "Nano CPUs" in error_of(tmp_path, {"HostConfig": {"NanoCpus": 10**9, "CpuQuota": 5000}}).message
    assert "only 2 CPUs" in error_of(tmp_path, {"HostConfig": {"NanoCpus": 3 * 10**9}}).message
    assert "not allowed" in error_of(tmp_path, {"HostConfig": {"Sysctls": {"vm.swappiness": "1"}}}).message
    assert "host network" in error_of(tmp_path, {"HostConfig": {
        "NetworkMode": "host", "Sysctls": {"net.ipv4.ip_forward": "1"}}}).message
    assert error_of(tmp_path, {"HostConfig": {"OomScoreAdj": 5000}}).status == 400


def test_signals_logs_restart(tmp_path: Path) -> None:
    assert spec_of(tmp_path, {"StopSignal": "SIGUSR1"}).stop_signal == 10
    assert spec_of(tmp_path, {}, image_config={"StopSignal": "KILL"}).stop_signal == 9
    assert "Invalid signal" in error_of(tmp_path, {"StopSignal": "SIGNOPE"}).message
    logged = make(tmp_path, {"HostConfig": {"LogConfig": {"Type": "json-file",
                                                            "Config": {"max-size": "1k", "max-file": "3"}}}})
    assert (logged.log_max_size, logged.log_max_file) == (1000, 3)
    assert make(tmp_path, {"HostConfig": {"LogConfig": {"Type": "none"}}}).record.log_path == ""
    assert error_of(tmp_path, {"HostConfig": {"LogConfig": {"Type": "syslog"}}}).status == 400
    assert "unknown log opt" in error_of(tmp_path, {"HostConfig": {"LogConfig": {"Config": {"x": "1"}}}}).message
    policy = make(tmp_path, {"HostConfig": {"RestartPolicy": {"Name": "on-failure", "MaximumRetryCount": 2}}})
    assert policy.record.host_config["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 2}
    assert "--rm" in error_of(tmp_path, {"HostConfig": {"AutoRemove": True,
                                                         "RestartPolicy": {"Name": "always"}}}).message
    assert "unknown policy" in error_of(tmp_path, {"HostConfig": {"RestartPolicy": {"Name": "sometimes"}}}).message


def test_spec_survives_the_record(tmp_path: Path) -> None:
    from runtime.spec import spec_from_dict

    created = make(tmp_path, {"HostConfig": {"Binds": ["vol:/v"], "Init": True}})
    assert spec_from_dict(created.record.spec) == created.spec
