"""Docker contexts as the docker CLI stores them, and which engine a command line talks to.

A context is `<config>/contexts/meta/<sha256(name)>/meta.json`
(`{"Name", "Metadata": {"Description"}, "Endpoints": {"docker": {"Host",
"SkipTLSVerify"}}}`) and its TLS material in
`<config>/contexts/tls/<sha256(name)>/docker/{ca,cert,key}.pem`; the current
one is `currentContext` in `<config>/config.json` ($DOCKER_CONFIG, else
~/.docker). The docker CLI's choice (cli/command/cli.go): `--context`, else
`default` when `-H` or $DOCKER_HOST is given, else $DOCKER_CONTEXT, else
`currentContext`, else `default`; `--context` with `-H` is an error.
`apply(environ)` puts the chosen context in the environment (DOCKER_HOST and
the TLS variables compose/client/tls.py reads), so every command, client and
child process sees one engine.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from compose.error_base import ComposeError

DEFAULT = "default"
DEFAULT_DESCRIPTION = "Current DOCKER_HOST based configuration"
NAME_PATTERN = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.+-]+$")
TLS_FILES = ("ca.pem", "cert.pem", "key.pem")
_TLS_ENV = ("DOCKER_TLS_VERIFY", "DOCKER_TLS", "DOCKER_CERT_PATH", "PYCOMPOSE_TLSCACERT", "PYCOMPOSE_TLSCERT",
            "PYCOMPOSE_TLSKEY")


class ContextError(ComposeError):
    """A context that does not exist, a bad name, a conflict of options."""


@dataclass(frozen=True)
class Context:
    name: str
    host: str
    description: str = ""
    skip_tls_verify: bool = False
    tls_files: tuple[str, ...] = ()  # which of ca.pem, cert.pem, key.pem it has
    metadata: dict[str, Any] = field(default_factory=dict, hash=False)


def config_dir(environ: MutableMapping[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    return Path(env.get("DOCKER_CONFIG") or Path.home() / ".docker")


def context_id(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()


def meta_dir(root: Path, name: str) -> Path:
    return root / "contexts" / "meta" / context_id(name)


def tls_dir(root: Path, name: str) -> Path:
    return root / "contexts" / "tls" / context_id(name)


def check_name(name: str) -> None:
    if name == DEFAULT or not NAME_PATTERN.match(name):
        what = '"default" is a reserved context name' if name == DEFAULT else (
            f'context name "{name}" is invalid, names are validated against regexp "{NAME_PATTERN.pattern}"')
        raise ContextError(what)


def load(root: Path, name: str) -> Context:
    """A stored context; a missing one is a ContextError with the docker CLI's words."""
    path = meta_dir(root, name) / "meta.json"
    try:
        meta = json.loads(path.read_text())
    except FileNotFoundError:
        raise ContextError(f'context "{name}": context not found: open {path}: no such file or directory') from None
    except (OSError, ValueError) as exc:
        raise ContextError(f'context "{name}": cannot read {path}: {exc}') from None
    docker = (meta.get("Endpoints") or {}).get("docker") or {}
    metadata = meta.get("Metadata") or {}
    folder = tls_dir(root, name) / "docker"
    files = tuple(f for f in TLS_FILES if (folder / f).is_file())
    return Context(meta.get("Name", name), str(docker.get("Host", "")), str(metadata.get("Description", "")),
                   bool(docker.get("SkipTLSVerify")), files, metadata)


def names(root: Path) -> list[str]:
    """Every stored context's name, sorted."""
    found = []
    for meta in (root / "contexts" / "meta").glob("*/meta.json"):
        try:
            found.append(str(json.loads(meta.read_text())["Name"]))
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return sorted(found)


def save(root: Path, context: Context, tls: dict[str, bytes]) -> None:
    """Write a context as `docker context create` does (TLS material copied into the store)."""
    folder = meta_dir(root, context.name)
    folder.mkdir(parents=True, exist_ok=True, mode=0o755)
    metadata = dict(context.metadata)
    if context.description:
        metadata["Description"] = context.description
    meta = {"Name": context.name, "Metadata": metadata,
            "Endpoints": {"docker": {"Host": context.host, "SkipTLSVerify": context.skip_tls_verify}}}
    (folder / "meta.json").write_text(json.dumps(meta, separators=(",", ":")))
    if tls:
        material = tls_dir(root, context.name) / "docker"
        material.mkdir(parents=True, exist_ok=True, mode=0o700)
        for name, data in tls.items():
            target = material / name
            target.write_bytes(data)
            target.chmod(0o600 if name == "key.pem" else 0o644)


def remove(root: Path, name: str) -> None:
    shutil.rmtree(meta_dir(root, name), ignore_errors=True)
    shutil.rmtree(tls_dir(root, name), ignore_errors=True)


def read_config(root: Path) -> dict[str, Any]:
    try:
        value = json.loads((root / "config.json").read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise ContextError(f"cannot read {root / 'config.json'}: {exc}") from None
    return value if isinstance(value, dict) else {}


def set_current(root: Path, name: str) -> None:
    """`currentContext` in config.json (removed for `default`), the rest of the file kept."""
    config = read_config(root)
    if name == DEFAULT:
        config.pop("currentContext", None)
    else:
        config["currentContext"] = name
    root.mkdir(parents=True, exist_ok=True)
    path = root / "config.json"
    temp = path.with_name("config.json.tmp")
    temp.write_text(json.dumps(config, indent="\t"))
    temp.replace(path)


def current_name(environ: MutableMapping[str, str] | None = None, option: str | None = None,
                 host_given: bool = False) -> str:
    """The docker CLI's choice of context (see the module's docstring)."""
    env = os.environ if environ is None else environ
    if option:
        if host_given:
            raise ContextError("conflicting options: either specify --host or --context, not both")
        return option
    if host_given or env.get("DOCKER_HOST"):
        return DEFAULT
    if env.get("DOCKER_CONTEXT"):
        return env["DOCKER_CONTEXT"]
    return str(read_config(config_dir(env)).get("currentContext") or DEFAULT)


def apply(environ: MutableMapping[str, str], option: str | None = None, host_given: bool = False) -> str:
    """Put the chosen context's engine and TLS in `environ`; the context's name."""
    name = current_name(environ, option, host_given)
    if name == DEFAULT:
        return name
    root = config_dir(environ)
    context = load(root, name)
    for key in _TLS_ENV:
        environ.pop(key, None)
    environ["DOCKER_HOST"] = context.host
    if context.tls_files:
        environ["DOCKER_CERT_PATH"] = str(tls_dir(root, name) / "docker")
        environ["DOCKER_TLS" if context.skip_tls_verify else "DOCKER_TLS_VERIFY"] = "1"
    return name
