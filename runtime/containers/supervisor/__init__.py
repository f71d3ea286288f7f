"""The container supervisor: one single-threaded process per engine state root (see main.py).

`launch.ensure_supervisor(root, prefix)` starts it from the daemon before any
thread exists; the engine talks to it through `runtime.containers.supervisor_client`.
"""
