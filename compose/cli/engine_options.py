"""The root group's engine options, as the docker CLI's: `-H/--host`, `-c/--context` and TLS.

They land in the environment (DOCKER_HOST, DOCKER_TLS_VERIFY, DOCKER_TLS,
and PYCOMPOSE_TLSCACERT/TLSCERT/TLSKEY for the three files), where every
command, both clients (compose/client/tls.py) and child processes find them;
then the chosen docker context, if any, is applied (compose/client/contexts.py).
`pycompose engine` (which listens, not connects) and `pycompose context`
(which manages them) are left alone.
"""

from __future__ import annotations

import os
from typing import Any

import click

from compose.client.place import context_active

UNTOUCHED = ("engine", "context")
# compose/client/tls.py's names (not imported from there: this runs on every command line, and
# the client package costs a few ms to import; tests/compose/cli/test_engine_options.py compares).
CACERT_ENV, CERT_ENV, KEY_ENV = "PYCOMPOSE_TLSCACERT", "PYCOMPOSE_TLSCERT", "PYCOMPOSE_TLSKEY"


def engine_options(func: Any) -> Any:
    for name, env, text in (("--tlskey", KEY_ENV, "Path to TLS key file"),
                            ("--tlscert", CERT_ENV, "Path to TLS certificate file"),
                            ("--tlscacert", CACERT_ENV, "Trust certs signed only by this CA")):
        func = click.option(name, env, default=None, metavar="FILE", help=text)(func)
    func = click.option("--tlsverify", is_flag=True, default=False, help="Use TLS and verify the remote")(func)
    func = click.option("--tls", is_flag=True, default=False, help="Use TLS; implied by --tlsverify")(func)
    func = click.option("-c", "--context", "context_name", default=None, metavar="NAME",
                        help='Name of the context to use (overrides DOCKER_HOST and "docker context use")')(func)
    return click.option("-H", "--host", "engine_host", default=None, metavar="URL",
                        help="Engine to connect to: unix://, tcp:// or ssh:// (env DOCKER_HOST)")(func)


def apply_engine_options(subcommand: str | None, engine_host: str | None, context_name: str | None, tls: bool,
                         tlsverify: bool, **files: str | None) -> None:
    if subcommand in UNTOUCHED:
        return
    env = os.environ
    if engine_host:
        env["DOCKER_HOST"] = engine_host
    if tlsverify:
        env["DOCKER_TLS_VERIFY"] = "1"
    elif tls:
        env["DOCKER_TLS"] = "1"
    for env_name, value in files.items():
        if value:
            env[env_name] = value
    if not context_name and (engine_host or env.get("DOCKER_HOST") or not context_active()):
        return
    from compose.client import contexts

    if contexts.apply(env, context_name, bool(engine_host)) != contexts.DEFAULT:
        # The context's TLS replaced the environment's; flags given on this command line still count.
        for env_name, value in files.items():
            if value:
                env[env_name] = value
