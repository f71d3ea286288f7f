"""What the bench scripts share: paths, timing and summaries, results files, peers, private engines and daemons.

- `ROOT`, `PYCOMPOSE` (the console script a user runs), `timed`, `run_ms`,
  `summary` (median/min/max of a case's runs), `write_results`
  (bench/results/<name>.json, the folder made when missing);
- peers: `NOT_INSTALLED` / `NOT_SUPPORTED`, `Refused` (a command that
  failed, with the one line that says why: for a peer, the case is "not
  supported"; for ours, the bench stops), `installed`;
- `private_engine`: an engine of our own (own root, socket, prefix, CLI
  server folder) with busybox imported, and the environment that points the
  docker CLI and ours at it; stopped with its supervisor at the end;
- `Podman`: podman on a storage root of its own (`--root`/`--runroot` in a
  temporary folder, bench/podman-containers.conf unless CONTAINERS_CONF is
  set), busybox imported into it;
- `private_dockerd`: Debian's dockerd on paths of its own (the tests'
  tests/compose/client/dockerd.py), busybox imported, stopped and its
  leftovers removed at the end;
- `format_table`: rows under a header, columns sized to fit.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

if TYPE_CHECKING:  # the engine's modules are imported when a bench starts one, not by every bench
    from compose.client.blocking import BlockingClient
    from tests.engine_fixture import EngineHandle

RESULTS = ROOT / "bench" / "results"
_SCRIPT = Path(sys.executable).parent / "pycompose"
# The console script a user runs (the venv's), else the same entry point through -c.
PYCOMPOSE = [str(_SCRIPT)] if _SCRIPT.exists() else [
    sys.executable, "-c", "import sys; from compose.cli.main import main; sys.argv[0] = 'pycompose'; sys.exit(main())"]
PODMAN_CONF = ROOT / "bench" / "podman-containers.conf"
NOT_INSTALLED = "not installed"
NOT_SUPPORTED = "not supported"
BUSYBOX_CMD = 'CMD ["sh"]'


class Refused(RuntimeError):
    """A command of the bench failed. For a peer: a case it does not support; for ours: a bug, the bench stops."""


def last_line(text: str) -> str:
    """The line that says why (the last non-empty one), at most 300 characters."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return (lines[-1] if lines else "")[:300]


def installed(*programs: str) -> bool:
    return all(shutil.which(p) for p in programs)


# -- timing --------------------------------------------------------------------------------------


def timed(action: Callable[[], Any]) -> float:
    """Seconds `action` takes."""
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def run_ms(argv: Sequence[str], env: dict[str, str] | None = None, cwd: Path | None = None,
           timeout: float = 600) -> float:
    """Milliseconds a command takes (output discarded); Refused with its last line of stderr when it fails."""
    start = time.perf_counter()
    done = subprocess.run(list(argv), env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, timeout=timeout, check=False)
    ms = (time.perf_counter() - start) * 1000
    if done.returncode != 0:
        raise Refused(f"{' '.join(argv)}: exit {done.returncode}: {last_line(done.stderr.decode(errors='replace'))}")
    return ms


def summary(times: Sequence[float], unit: str = "ms", digits: int = 2) -> dict[str, Any]:
    """{"median_<unit>", "min_<unit>", "max_<unit>", "runs"} of one case's measured runs."""
    return {f"median_{unit}": round(statistics.median(times), digits), f"min_{unit}": round(min(times), digits),
            f"max_{unit}": round(max(times), digits), "runs": len(times)}


# -- results -------------------------------------------------------------------------------------


def rounds(cases: dict[str, Callable[[], float]], runs: int, refused: dict[str, str], peers: Sequence[str],
           warmup: int) -> dict[str, list[float]]:
    """Every case once per round (each returns its time), `warmup` uncounted rounds first: load drift
    hits all cases alike. A peer's case that fails is dropped and put in `refused` with its message
    ("not supported"); a failure of ours ends the bench."""
    times: dict[str, list[float]] = {name: [] for name in cases}
    for i in range(warmup + runs):
        for name, case in list(cases.items()):
            try:
                ms = case()
            except Exception as exc:
                if name not in peers:
                    raise
                refused[name] = last_line(str(exc)) or type(exc).__name__
                print(f"{name}: not supported: {refused[name]}", file=sys.stderr)
                del cases[name], times[name]
                continue
            if i >= warmup:
                times[name].append(ms)
    return times


def write_results(name: str, data: Any, out: Path | None = None) -> Path:
    """bench/results/<name>.json (or `out`), its folder made when missing; says where."""
    path = out or RESULTS / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n")
    shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
    print(f"\nwrote {shown}")
    return path


def format_table(header: Sequence[str], rows: Sequence[Sequence[str]], left: int = 1) -> str:
    """Rows under a header and a rule; the first `left` columns aligned left, the others right."""
    widths = [max(len(str(r[i])) for r in (header, *rows)) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(f"{c:<{w}}" if i < left else f"{c:>{w}}"
                         for i, (c, w) in enumerate(zip(cells, widths, strict=True))).rstrip()

    return "\n".join([line(header), "-" * (sum(widths) + 2 * (len(widths) - 1)), *(line(r) for r in rows)])


# -- our engine ----------------------------------------------------------------------------------


def busybox_tar(where: Path) -> Path:
    """busybox's root filesystem as a tar (Debian's busybox-static), for every store of the bench."""
    from tests.runtime.images.busybox import build_busybox_rootfs_tar

    return build_busybox_rootfs_tar(where)


def import_busybox(client: BlockingClient, where: Path) -> None:
    """busybox:latest (CMD ["sh"]) into the engine `client` talks to; `where` holds the tar meanwhile."""
    tar = busybox_tar(where / "busybox.tar")
    try:
        client.call("POST", "/images/create", {"fromSrc": "-", "repo": "busybox", "tag": "latest",
                                               "changes": [BUSYBOX_CMD]}, body=tar.read_bytes())
    finally:
        tar.unlink()


def remove_containers(client: BlockingClient) -> None:
    """Every container of the engine, removed by force."""
    for c in client.call("GET", "/containers/json", {"all": True}) or []:
        client.call("DELETE", f"/containers/{c['Id']}", {"force": True})


@dataclass
class PrivateEngine:
    work: Path
    handle: EngineHandle
    client: BlockingClient
    env: dict[str, str]  # the docker CLI and ours, pointed at this engine (HOME, DOCKER_CONFIG, CLI server folder)
    cli_dir: Path

    def remove_containers(self) -> None:
        remove_containers(self.client)


@contextmanager
def private_engine(prefix: str, *, busybox: bool = True, log_level: str = "info",
                   args: Sequence[str] = ()) -> Iterator[PrivateEngine]:
    """An engine on a temporary folder of its own; at the end its containers, itself, its supervisor and
    its CLI servers stop and the folder goes."""
    from compose.cli.warm.server import stop_servers
    from compose.client.blocking import BlockingClient
    from tests.compose.cli.engines import stop_engine
    from tests.engine_fixture import start_private_engine

    work = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        handle = start_private_engine(work / "engine", log_level=log_level, args=args)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    cli_dir = work / "cli"
    cli_dir.mkdir(mode=0o700)
    env = {**os.environ, **handle.docker_env, "HOME": str(work), "DOCKER_CONFIG": str(work / ".docker"),
           "PYCOMPOSE_CLI_DIR": str(cli_dir)}
    env.pop("COMPOSE_PROJECT_NAME", None)
    engine = PrivateEngine(work, handle, BlockingClient(handle.host), env, cli_dir)
    try:
        if busybox:
            import_busybox(engine.client, work)
        yield engine
    finally:
        try:
            engine.remove_containers()
        finally:
            stop_engine(handle)
            stop_servers(str(cli_dir))
            shutil.rmtree(work, ignore_errors=True)


# -- podman --------------------------------------------------------------------------------------


class Podman:
    """podman on a storage root of its own under `where` (overlay driver)."""

    def __init__(self, where: Path, env: dict[str, str] | None = None) -> None:
        self.root, self.runroot = where / "podman-root", where / "podman-run"
        base = dict(os.environ if env is None else env)
        if "CONTAINERS_CONF" not in base:  # this machine's limits and hybrid cgroups (see the file)
            base["CONTAINERS_CONF"] = str(PODMAN_CONF)
        self.env = base
        self.argv = ["podman", "--root", str(self.root), "--runroot", str(self.runroot), "--storage-driver", "overlay"]

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([*self.argv, *args], env=self.env, capture_output=True, text=True, check=False)
        if check and done.returncode != 0:
            raise Refused(f"podman {args[0]}: exit {done.returncode}: {last_line(done.stderr or done.stdout)}")
        return done

    def import_busybox(self, tar: Path) -> None:
        self.run("import", "--change", BUSYBOX_CMD, str(tar), "docker.io/library/busybox:latest")

    def close(self) -> None:
        """Its images and containers gone, its mounts undone (the folders are the caller's)."""
        self.run("rm", "-af", check=False)
        self.run("rmi", "-af", check=False)
        for path in (self.runroot, self.root):
            subprocess.run(["umount", "-R", str(path)], capture_output=True, check=False)


# -- dockerd -------------------------------------------------------------------------------------


@dataclass
class Dockerd:
    host: str
    env: dict[str, str]  # the docker CLI pointed at it


def dockerd_missing() -> str | None:
    """Why a private dockerd cannot run here (NOT_INSTALLED or the reason), or None."""
    from tests.compose.client import dockerd

    if shutil.which("docker") is None:
        return NOT_INSTALLED
    why = dockerd.missing()
    return None if why is None else NOT_INSTALLED if "not installed" in why else why


@contextmanager
def private_dockerd(base: Path, *, busybox: Path | None = None) -> Iterator[Dockerd]:
    """dockerd on `base` (own socket, data root, exec root, cgroup parent, no bridge, no iptables), with
    busybox imported from the tar `busybox` when given; stopped and removed at the end."""
    from tests.compose.client import dockerd

    daemon = dockerd.start(base, f"pycbench-dockerd-{os.getpid()}")
    env = {**os.environ, "DOCKER_HOST": daemon.host, "DOCKER_CONFIG": str(base / "docker-config"),
           "HOME": str(base)}
    try:
        if busybox is not None:
            done = subprocess.run(["docker", "import", "--change", BUSYBOX_CMD, str(busybox), "busybox:latest"],
                                  env=env, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                raise Refused(f"docker import: exit {done.returncode}: {last_line(done.stderr)}")
        yield Dockerd(daemon.host, env)
    finally:
        daemon.stop()
        daemon.remove()
