"""`POST /auth` (is this login good?) and `GET /distribution/{name}/json` (what does a name point at?)."""

from __future__ import annotations

import urllib.parse
from typing import Any

from runtime.images import oci
from runtime.images.reference import DEFAULT_DOMAIN, parse
from runtime.registry.auth import AuthConfig
from runtime.registry.client import RegistryClient
from runtime.registry.config import RegistryConfig
from runtime.registry.errors import Unauthorized
from runtime.registry.manifests import ACCEPT, media_type_of
from runtime.registry.pull import fetch_manifest, target


def login_domain(server: str) -> str:
    """The registry a `serveraddress` names: `https://index.docker.io/v1/` and "" are docker.io."""
    text = server.strip()
    if "://" in text:
        text = urllib.parse.urlsplit(text).netloc
    text = text.split("/", 1)[0]
    if text in ("", "index.docker.io", "registry-1.docker.io", "docker.io"):
        return DEFAULT_DOMAIN
    return text


def check_login(auth: AuthConfig, config: RegistryConfig) -> str:
    """Log in to the registry `auth.serveraddress` names; returns an identity token ("" for none)."""
    client = RegistryClient(login_domain(auth.serveraddress), auth, config)
    with client:
        client.ping()
        if client.challenge is None:
            return ""
        url = f"{client.base}/v2/"
        if client.challenge.scheme == "basic":
            response = client.request("GET", url, "")
            if response.status_code == 401:
                raise Unauthorized(f"login attempt to {url} failed with status: 401 Unauthorized")
            client.check(response, f'Get "{url}"')
            return ""
        identity = client.login_token()
        response = client.request("GET", url, "")
        if response.status_code == 401:
            raise Unauthorized(f'Get "{url}": unauthorized: incorrect username or password')
        client.check(response, f'Get "{url}"')
        return identity


def inspect_distribution(name: str, auth: AuthConfig, config: RegistryConfig) -> dict[str, Any]:
    """dockerd's answer: `{"Descriptor": {mediaType, digest, size}, "Platforms": [...]}`."""
    ref = target(name, "") if "@" not in name else parse(name)
    client = RegistryClient(ref.domain, auth, config)
    with client:
        scope = f"repository:{ref.path}:pull"
        data, digest, media = fetch_manifest(client, ref, ref.digest or ref.tag or "latest", scope)
        platforms: list[dict[str, str]] = []
        if media in oci.INDEX_TYPES:
            for desc in oci.parse_index(data):
                if desc.platform is not None and not oci.is_attestation(desc):
                    platforms.append(_platform_json(desc.platform))
        else:
            config_desc, _ = oci.parse_manifest(data)
            response = client.request("GET", f"/v2/{ref.path}/blobs/{config_desc.digest}", scope)
            client.check(response, f"fetching image config {config_desc.digest}")
            image = oci.parse_object(response.content, "image config")
            platforms.append(_platform_json(oci.Platform(str(image.get("os", "")),
                                                         str(image.get("architecture", "")),
                                                         str(image.get("variant", "")))))
    media = media or media_type_of(data, ACCEPT)
    return {"Descriptor": {"mediaType": media, "digest": digest, "size": len(data)}, "Platforms": platforms}


def _platform_json(p: oci.Platform) -> dict[str, str]:
    out = {"architecture": p.architecture, "os": p.os}
    if p.variant:
        out["variant"] = p.variant
    return out
