"""RUN: the command as buildkit forms it (heredocs, script files), `--mount`s as the container's
mounts, the build args in its environment (and `|N k=v` in its history), then the container."""

from __future__ import annotations

import codecs
import contextlib
import copy
import logging
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio.to_thread

from runtime.build import history, messages, rootfs, run_mounts, run_step
from runtime.build.context import build_root
from runtime.build.state import BuildFailed, Emit, StageState
from runtime.dockerfile import instructions as ins
from runtime.dockerfile.mounts import parse_mount
from runtime.dockerfile.run_argv import run_argv

if TYPE_CHECKING:
    from runtime.build.steps import Steps

log = logging.getLogger("pycompose.build")


def _mount_key(mount: ins.RunMount) -> dict[str, Any]:
    """What of a mount is in the step's cache key (buildkit: ids and paths, never cache contents)."""
    return {"type": mount.type, "target": mount.target, "source": mount.source, "from": mount.from_,
            "id": mount.id, "rw": mount.rw, "env": mount.env}


async def run_instruction(steps: Steps, state: StageState, instruction: ins.Run, emit: Emit) -> None:
    build = steps.build
    try:
        formed = run_argv(instruction.command, state.shell)
    except ValueError as exc:
        raise BuildFailed(str(exc)) from None
    expand = steps.expander(state)
    mounts = [parse_mount(m.raw, expand) if m.raw and "$" in m.raw else m for m in instruction.mounts]
    config_env = list(state.config.get("Env") or ())
    env_args, keyed = state.args.for_run(config_env)
    probe = history.run_command(formed.argv, keyed)
    probe_config: dict[str, Any] = {**state.config, "Cmd": probe}
    if mounts or instruction.network != "default":
        probe_config["RunOptions"] = {"mounts": [_mount_key(m) for m in mounts], "network": instruction.network}
    key, hit = await steps.cached(state, probe_config, emit)
    if hit:
        return
    manager = build.containers
    if manager is None:
        raise BuildFailed("this engine runs no containers: RUN is not available")
    from_layers: dict[str, list[Path]] = {}
    for mount in mounts:
        if mount.from_ and mount.from_ not in from_layers:
            from runtime.build.copy_step import source_root_layers

            from_layers[mount.from_] = (await source_root_layers(steps, mount.from_, emit))[1]
    with contextlib.ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(dir=build.work)))
        roots = {name: stack.enter_context(rootfs.mounted(layers, build.work)) for name, layers in from_layers.items()}

        def plan() -> run_mounts.RunMountPlan:
            return run_mounts.host_mounts(
                mounts, context_dir=build.context, stage_rootfs=lambda name: roots[name],
                cache_root=build_root(build.root) / "run-cache", secrets={}, work_dir=work,
                workdir=str(state.config.get("WorkingDir") or "/"))

        try:
            mount_plan = await anyio.to_thread.run_sync(plan) if mounts else run_mounts.RunMountPlan()
        except ValueError as exc:
            raise BuildFailed(str(exc)) from None
        stack.callback(mount_plan.close)
        extra_mounts = list(mount_plan.mounts)
        for script in formed.files:
            host = work / f"script-{len(extra_mounts)}"
            host.write_text(script.content)
            host.chmod(script.mode)
            extra_mounts.append({"Type": "bind", "Source": str(host), "Target": script.path, "ReadOnly": True})
        host_config = build.options.host_config("" if instruction.network == "default" else instruction.network)
        if extra_mounts:
            host_config["Mounts"] = extra_mounts
        if mount_plan.tmpfs:
            host_config["Tmpfs"] = dict(mount_plan.tmpfs)
        body = {**copy.deepcopy(state.config), "Image": state.image_id, "Cmd": formed.argv, "Entrypoint": [""],
                "Env": config_env + [f"{k}={v}" for k, v in env_args.items()] + mount_plan.env,
                "Healthcheck": {"Test": ["NONE"]}, "AttachStdout": True, "AttachStderr": True,
                "HostConfig": host_config}
        for drop in ("OnBuild", "Shell", "StopSignal"):
            body.pop(drop, None)
        await _container(steps, state, key, body, probe, formed.argv, emit)


async def _container(steps: Steps, state: StageState, key: str, body: dict[str, Any], probe: list[str],
                     argv: list[str], emit: Emit) -> None:
    build = steps.build
    manager = build.containers
    assert manager is not None
    if not state.image_id:
        raise BuildFailed("Please provide a source image with `from` prior to run")
    started = time.monotonic()
    container_id = await run_step.create(manager, body)
    created = time.monotonic()
    await emit(messages.running_in(container_id))
    remove = build.options.force_rm
    try:
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")  # a character split across reads

        async def output(data: bytes) -> None:
            text = decoder.decode(data)
            if text:
                await emit(messages.raw(text))

        code = await run_step.run(manager, container_id, output)
        ran = time.monotonic()
        if code != 0:
            raise BuildFailed(f"The command '{' '.join(argv)}' returned a non-zero code: {code}", code)
        await steps.commit(state, key, copy.deepcopy(state.config), history.created_by(probe),
                           run_step.layer_writer(manager, container_id))
        log.debug("RUN %s: create %.3f s, run %.3f s, commit %.3f s", container_id[:12], created - started,
                  ran - created, time.monotonic() - ran)
        remove = remove or build.options.rm
    except BaseException as exc:
        # A cancelled build (the client went away) leaves no container running.
        if isinstance(exc, anyio.get_cancelled_exc_class()):
            remove = True
        raise
    finally:
        if remove:
            await run_step.remove(manager, container_id)
            with anyio.CancelScope(shield=True), contextlib.suppress(Exception):
                await emit(messages.removing(container_id))
