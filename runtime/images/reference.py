"""Image references as Docker spells them: `[domain/]path[:tag][@digest]`.

Stored names are normalized ("busybox" -> "docker.io/library/busybox:latest"); what a user
sees is the familiar form ("busybox:latest"), exactly as Docker shows RepoTags.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from runtime.images.errors import ImageInvalid

DEFAULT_DOMAIN = "docker.io"
DEFAULT_TAG = "latest"

_DOMAIN_PART = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = re.compile(rf"{_DOMAIN_PART}(?:\.{_DOMAIN_PART})*(?::[0-9]+)?")
_PATH_PART = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*")
_TAG = re.compile(r"[\w][\w.-]{0,127}")
_DIGEST = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}")
_HEX64 = re.compile(r"[a-f0-9]{64}")
MAX_NAME = 255


@dataclass(frozen=True)
class Reference:
    domain: str
    path: str
    tag: str | None = None
    digest: str | None = None

    @property
    def name(self) -> str:
        return f"{self.domain}/{self.path}"

    @property
    def familiar_name(self) -> str:
        if self.domain != DEFAULT_DOMAIN:
            return self.name
        if self.path.startswith("library/") and self.path.count("/") == 1:
            return self.path[len("library/") :]
        return self.path

    def __str__(self) -> str:
        return self.name + self._suffix()

    def familiar(self) -> str:
        return self.familiar_name + self._suffix()

    def _suffix(self) -> str:
        return (f":{self.tag}" if self.tag else "") + (f"@{self.digest}" if self.digest else "")

    def with_tag(self, tag: str) -> Reference:
        return Reference(self.domain, self.path, tag, None)

    def with_digest(self, digest: str) -> Reference:
        return Reference(self.domain, self.path, None, digest)

    def defaulted(self) -> Reference:
        """`latest` when neither tag nor digest is given, as `docker pull busybox` means."""
        return self if self.tag or self.digest else self.with_tag(DEFAULT_TAG)


def parse(text: str) -> Reference:
    """Parse and normalize a reference; raises ImageInvalid with Docker's wording
    (distribution/reference ParseNormalizedNamed, go-digest's Validate)."""
    if _HEX64.fullmatch(text):
        raise ImageInvalid(f"invalid repository name ({text}), cannot specify 64-byte hexadecimal strings")
    if not text:
        raise ImageInvalid("invalid reference format: repository name must have at least one component")
    rest, digest = text, None
    if "@" in rest:
        rest, digest = rest.split("@", 1)
        if not _DIGEST.fullmatch(digest):
            raise ImageInvalid("invalid reference format")
        check_digest(digest)
    tag = None
    colon, slash = rest.rfind(":"), rest.rfind("/")
    if colon > slash:
        rest, tag = rest[:colon], rest[colon + 1 :]
        if not _TAG.fullmatch(tag):
            raise ImageInvalid("invalid reference format")
    if not rest:
        raise ImageInvalid("invalid reference format")
    domain, path = _split_domain(rest)
    if path.lower() != path:
        raise ImageInvalid(f"invalid reference format: repository name ({path}) must be lowercase")
    if not _DOMAIN.fullmatch(domain) or not all(_PATH_PART.fullmatch(p) for p in path.split("/")):
        raise ImageInvalid("invalid reference format")
    if len(f"{domain}/{path}") > MAX_NAME:
        raise ImageInvalid(f"invalid reference format: repository name must not be more than {MAX_NAME} characters")
    return Reference(domain, path, tag, digest)


_DIGEST_SIZES = {"sha256": 64, "sha384": 96, "sha512": 128}


def check_digest(digest: str) -> str:
    """go-digest's Validate: a known algorithm and lowercase hex of its length."""
    algorithm, sep, encoded = digest.partition(":")
    if not sep or not encoded:
        raise ImageInvalid("invalid checksum digest format")
    size = _DIGEST_SIZES.get(algorithm)
    if size is None:
        raise ImageInvalid("unsupported digest algorithm")
    if len(encoded) != size:
        raise ImageInvalid("invalid checksum digest length")
    if not re.fullmatch(r"[a-f0-9]+", encoded):
        raise ImageInvalid("invalid checksum digest format")
    return digest


def _split_domain(name: str) -> tuple[str, str]:
    first, sep, remainder = name.partition("/")
    if not sep or ("." not in first and ":" not in first and first != "localhost" and first.lower() == first):
        domain, remainder = DEFAULT_DOMAIN, name
    else:
        domain = first
    if domain == "index.docker.io":
        domain = DEFAULT_DOMAIN
    if domain == DEFAULT_DOMAIN and "/" not in remainder:
        remainder = "library/" + remainder
    return domain, remainder


def try_parse(text: str) -> Reference | None:
    try:
        return parse(text)
    except ImageInvalid:
        return None


def familiar(stored_name: str) -> str:
    """The familiar form of a stored (normalized) reference string."""
    return parse(stored_name).familiar()


def api_host(domain: str) -> str:
    """Where the registry API of a domain answers: Docker Hub's is registry-1.docker.io."""
    return "registry-1.docker.io" if domain in (DEFAULT_DOMAIN, "index.docker.io") else domain


def auth_key(domain: str) -> str:
    """The key credentials are filed under (config.json `auths`, `serveraddress`)."""
    return "https://index.docker.io/v1/" if domain == DEFAULT_DOMAIN else domain


def validate_tag(tag: str) -> str:
    if not _TAG.fullmatch(tag):
        raise ImageInvalid(f"invalid tag format: {tag!r}")
    return tag
