"""A git URL as a build context, cloned on the client as the docker CLI does for the classic builder.

Git URLs are the docker CLI's (`urlutil.IsGitURL`): `git://…`, `git@…`,
`github.com/…` (fetched over https), and http(s) URLs whose path ends in
`.git`, each with an optional `#ref:subdir` fragment. The repository is
fetched shallowly (`git fetch --depth 1 origin <ref>`, the default branch
when no ref is given), checked out, its submodules brought in, and the
subdirectory (which must stay inside the clone) is the context. git never
prompts (`GIT_TERMINAL_PROMPT=0`); a failure is one line with git's reason.
Any other URL is refused: tarball and Dockerfile URLs are not supported.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import TYPE_CHECKING

from compose.errors import ComposeError

if TYPE_CHECKING:
    from compose.build.spec import BuildSpec

_GIT_PREFIXES = ("git://", "git@", "github.com/")
_URL = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)
_GIT_SUFFIX = re.compile(r"\.git(?:#.+)?$")


def is_url(text: str) -> bool:
    return bool(_URL.match(text)) or text.startswith(("git@", "github.com/"))


def is_git_url(text: str) -> bool:
    """The docker CLI's IsGitURL."""
    if text.startswith(("http://", "https://")) and _GIT_SUFFIX.search(text):
        return True
    return text.startswith(_GIT_PREFIXES)


@dataclass(frozen=True)
class GitRef:
    remote: str
    ref: str
    subdir: str


def parse_git(url: str) -> GitRef:
    remote, _, fragment = url.partition("#")
    if remote.startswith("github.com/"):
        remote = "https://" + remote
    ref, _, subdir = fragment.partition(":")
    return GitRef(remote, ref, subdir)


def _git(args: list[str], cwd: Path, what: str) -> None:
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_PROTOCOL_FROM_USER": "0"}
    try:
        done = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600,
                              check=False, stdin=subprocess.DEVNULL)
    except FileNotFoundError:
        raise ComposeError(f"{what}: git is not installed") from None
    if done.returncode != 0:
        reason = (done.stderr.strip().splitlines() or [f"git {args[0]} exited with {done.returncode}"])[-1]
        raise ComposeError(f"{what}: {reason}")


def clone(url: str, into: Path) -> Path:
    """Fetch `url` into `into`; the context folder (the fragment's subdir) inside it."""
    found = parse_git(url)
    what = f"unable to prepare context: {url}"
    _git(["init", "-q"], into, what)
    _git(["remote", "add", "origin", found.remote], into, what)
    _git(["fetch", "-q", "--depth", "1", "origin", "--", found.ref or "HEAD"], into, what)
    _git(["checkout", "-q", "FETCH_HEAD"], into, what)
    if (into / ".gitmodules").is_file():
        _git(["submodule", "update", "-q", "--init", "--recursive", "--depth", "1"], into, what)
    context = (into / found.subdir).resolve() if found.subdir else into.resolve()
    if not context.is_relative_to(into.resolve()):
        raise ComposeError(f"{what}: subdirectory {found.subdir} is outside the repository")
    if not context.is_dir():
        raise ComposeError(f"{what}: subdirectory {found.subdir} is not a folder of the repository")
    return context


@contextmanager
def local(spec: BuildSpec) -> Iterator[BuildSpec]:
    """`spec` with a local context: itself, or its git URL cloned into a folder removed afterwards."""
    if not spec.remote:
        yield spec
        return
    with TemporaryDirectory(prefix="pycompose-git-") as tmp:
        context = clone(spec.remote, Path(tmp))
        dockerfile = None if spec.inline is not None else context / spec.dockerfile_name
        if dockerfile is not None and not dockerfile.is_file():
            raise ComposeError(f'service "{spec.service}": build: Dockerfile {spec.dockerfile_name}: not found in '
                               f"{spec.remote}")
        yield replace(spec, context=context, dockerfile=dockerfile)
