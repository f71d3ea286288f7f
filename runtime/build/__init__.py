"""The daemon's builder: a Dockerfile's stages and steps run on our runtime, with a build cache.

`run.py` takes one `POST /build` (options read by `options.py`) from context to image: the context
tar is unpacked once per content, or patched from the last one (`contexts.py` over `context.py`,
`context_patch.py`), the Dockerfile parsed
(`runtime.dockerfile`), and `builder.py` runs the stages the target needs (`stages.py`) as soon as
the stages they name are built, their stream lines in stage order (`messages.py`). `steps.py`
dispatches one instruction: metadata through `runtime.dockerfile.config.apply_instruction`, RUN
as a container of `runtime.containers` (`run_instruction.py`, `run_step.py`, `run_mounts.py`),
COPY/ADD as a layer (`copy_step.py` over `copying.py`, `fetch.py`, `owners.py`; begun from the
step's last blob by `copy_reuse.py`), images named by
FROM/--from pulled when missing (`pulling.py`), image trees read through `rootfs.py`. `history.py`
writes what dockerd's classic builder writes (`created_by`, the cache probe's command), `args.py`
scopes ARGs, `cache.py` is the persistent cache and `prune.py` answers `POST /build/prune`.
"""
