"""Docker's reference rules, as far as the client needs them: which registry an image lives in.

Pure functions, no I/O. A name's first component is a registry domain when it
has a dot or a colon, is `localhost`, or has an upper-case letter (docker's
`splitDockerDomain`); otherwise the image is on Docker Hub (`docker.io`, and a
one-component name gets `library/`). Credentials for Docker Hub are kept
under `https://index.docker.io/v1/`, for any other registry under its host
(`localhost:5000`), as the docker CLI keeps them.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_DOMAIN = "docker.io"
LEGACY_DOMAIN = "index.docker.io"
INDEX_SERVER = "https://index.docker.io/v1/"
DEFAULT_TAG = "latest"


@dataclass(frozen=True)
class Reference:
    domain: str  # docker.io, localhost:5000, registry.example.com
    path: str  # library/busybox, team/app
    tag: str | None = None
    digest: str | None = None

    @property
    def repository(self) -> str:
        return f"{self.domain}/{self.path}"

    @property
    def familiar_repository(self) -> str:
        """The name docker shows: `busybox`, `team/app`, `localhost:5000/app`."""
        if self.domain != DEFAULT_DOMAIN:
            return self.repository
        return self.path.removeprefix("library/") if self.path.count("/") == 1 else self.path

    def familiar(self) -> str:
        return self.familiar_repository + self._suffix()

    def full(self) -> str:
        """`docker.io/library/busybox:latest`: what `docker pull` prints last."""
        return self.repository + self._suffix()

    def _suffix(self) -> str:
        return (f":{self.tag}" if self.tag else "") + (f"@{self.digest}" if self.digest else "")


def split_domain(name: str) -> tuple[str, str]:
    """`name` (without tag or digest) -> (domain, path), docker's splitDockerDomain."""
    first, sep, rest = name.partition("/")
    if not sep or (not any(c in first for c in ".:") and first != "localhost" and first.lower() == first):
        domain, path = DEFAULT_DOMAIN, name
    else:
        domain, path = first, rest
    if domain == LEGACY_DOMAIN:
        domain = DEFAULT_DOMAIN
    if domain == DEFAULT_DOMAIN and "/" not in path:
        path = f"library/{path}"
    return domain, path


def parse(ref: str) -> Reference:
    """`[domain/]path[:tag][@digest]` -> Reference; no tag stays None (see `with_default_tag`)."""
    name, _, digest = ref.partition("@")
    slash, colon = name.rfind("/"), name.rfind(":")
    tag = None
    if colon > slash:
        name, tag = name[:colon], name[colon + 1:]
    domain, path = split_domain(name)
    return Reference(domain, path, tag or None, digest or None)


def with_default_tag(ref: Reference) -> Reference:
    if ref.tag or ref.digest:
        return ref
    return Reference(ref.domain, ref.path, DEFAULT_TAG, None)


def domain_of(ref: str) -> str:
    return parse(ref).domain


def auth_key(domain: str) -> str:
    """Where credentials for `domain` are kept: Docker Hub's historic URL, else the host itself."""
    return INDEX_SERVER if domain in (DEFAULT_DOMAIN, LEGACY_DOMAIN, "registry-1.docker.io") else domain


def hostname(server: str) -> str:
    """The docker CLI's ConvertToHostname: `https://host:5000/v2/` -> `host:5000`."""
    for scheme in ("http://", "https://"):
        if server.startswith(scheme):
            server = server[len(scheme):]
            break
    return server.split("/", 1)[0]


def server_key(server: str | None) -> str:
    """`docker login SERVER`'s key: Hub's URL for no server (or Hub's names), else the host."""
    if not server:
        return INDEX_SERVER
    host = hostname(server)
    return INDEX_SERVER if host in (DEFAULT_DOMAIN, LEGACY_DOMAIN, "registry-1.docker.io") or \
        server == INDEX_SERVER else host
