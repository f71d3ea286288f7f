"""HTTP to one registry: endpoint choice (HTTPS, then HTTP for insecure ones), TLS with the
registry's CA folder, and auth from the `/v2/` challenge (anonymous or credentialed bearer
tokens, Basic). Sync httpx: pulls and pushes run in worker threads; one client is shared by
the threads of one operation (httpx pools connections and is thread-safe)."""

from __future__ import annotations

import ssl
import threading
import urllib.parse
from typing import Any

import httpx

from runtime.images.reference import api_host
from runtime.registry.auth import (
    AuthConfig,
    Challenge,
    TokenCache,
    basic_header,
    parse_challenges,
    token_from_answer,
)
from runtime.registry.config import RegistryConfig
from runtime.registry.errors import NotFound, RegistryError, Unauthorized, Unreachable

TIMEOUT = httpx.Timeout(30.0, connect=15.0)
USER_AGENT = "pycompose-engine (docker/25.0 compatible)"


def describe_exception(exc: Exception) -> str:
    """A network error as one line, close to Go's `dial tcp …: connect: connection refused`."""
    text = str(exc) or type(exc).__name__
    for marker, said in (("Connection refused", "connect: connection refused"),
                         ("Name or service not known", "no such host"),
                         ("timed out", "i/o timeout"),
                         ("CERTIFICATE_VERIFY_FAILED", "tls: failed to verify certificate: x509: "
                                                       "certificate signed by unknown authority")):
        if marker in text:
            return said
    return text


def registry_message(response: httpx.Response) -> str:
    """`code: message` of a registry's JSON error body (lower-case code, as docker prints it)."""
    try:
        errors = response.json().get("errors") or []
    except (ValueError, AttributeError):
        errors = []
    parts = []
    for err in errors:
        if isinstance(err, dict):
            code = str(err.get("code", "")).lower().replace("_", " ")
            parts.append(f"{code}: {err.get('message', '')}" if code else str(err.get("message", "")))
    return "; ".join(parts) or f"{response.status_code} {response.reason_phrase}"


class RegistryClient:
    """One registry (a domain of references); `close()` when done."""

    def __init__(self, domain: str, auth: AuthConfig, config: RegistryConfig, mirror: str = "") -> None:
        self.domain = domain
        self.mirror = mirror  # a registry-mirrors URL: used instead of the domain's own endpoint
        self.host = urllib.parse.urlsplit(mirror).netloc if mirror else api_host(domain)
        self.auth = auth
        self.config = config
        self.tokens = TokenCache()
        self._lock = threading.Lock()
        self.base: str | None = None
        self.challenge: Challenge | None = None
        self.refresh_token = ""  # what the token server gave for an offline login
        self._http: httpx.Client | None = None
        self._clients: list[httpx.Client] = []

    def close(self) -> None:
        for client in self._clients:
            client.close()
        self._clients.clear()

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _make(self, verify: ssl.SSLContext | bool) -> httpx.Client:
        client = httpx.Client(verify=verify, timeout=TIMEOUT, follow_redirects=True,
                              headers={"User-Agent": USER_AGENT}, trust_env=False,
                              limits=httpx.Limits(max_connections=32, max_keepalive_connections=16))
        self._clients.append(client)
        return client

    def _tls(self) -> ssl.SSLContext:
        context = ssl.create_default_context()
        for ca in self.config.ca_files(self.host):
            context.load_verify_locations(cafile=str(ca))
        pair = self.config.client_cert(self.host)
        if pair is not None:
            context.load_cert_chain(*pair)
        return context

    def endpoints(self) -> list[tuple[str, ssl.SSLContext | bool]]:
        if self.mirror:
            secure = self.mirror.startswith("https:") and not self.config.is_insecure(self.host)
            return [(self.mirror, self._tls() if secure else False)]
        if self.config.is_insecure(self.host):
            return [(f"https://{self.host}", False), (f"http://{self.host}", False)]
        return [(f"https://{self.host}", self._tls())]

    def ping(self) -> None:
        """Find the endpoint that answers `/v2/` and remember its auth challenge."""
        with self._lock:
            if self.base is not None:
                return
            failure = ""
            for base, verify in self.endpoints():
                http = self._make(verify)
                try:
                    response = http.get(f"{base}/v2/")
                except httpx.HTTPError as exc:
                    failure = f'Get "{base}/v2/": {describe_exception(exc)}'
                    continue
                if response.status_code == 401:
                    found = parse_challenges(response.headers.get("WWW-Authenticate", ""))
                    self.challenge = next((c for c in found if c.scheme in ("bearer", "basic")), None)
                elif response.status_code >= 400 and response.status_code != 404:
                    failure = f'Get "{base}/v2/": {registry_message(response)}'
                    continue
                self.base, self._http = base, http
                return
            raise Unreachable(failure or f"cannot reach registry {self.host}")

    # auth

    def _authorization(self, scope: str, fresh: bool = False) -> str | None:
        challenge = self.challenge
        if challenge is None:
            return None
        if challenge.scheme == "basic":
            return basic_header(self.auth.username, self.auth.password) if self.auth.username else None
        if self.auth.registrytoken:
            return f"Bearer {self.auth.registrytoken}"
        realm, service = challenge.params.get("realm", ""), challenge.params.get("service", "")
        key = (realm, service, scope)
        if fresh:
            self.tokens.drop(key)
        token = self.tokens.get(key)
        if token is None:
            token, expires_in = self._fetch_token(realm, service, scope)
            self.tokens.put(key, token, expires_in)
        return f"Bearer {token}"

    def _fetch_token(self, realm: str, service: str, scope: str, offline: bool = False) -> tuple[str, int]:
        """A token from the realm: GET with Basic credentials (and `offline_token=true` for a login,
        which asks for a refresh token), or the OAuth2 POST with an identity token."""
        if not realm:
            raise RegistryError(f"registry {self.host} asked for a bearer token without a realm")
        assert self._http is not None
        scopes = [one for one in scope.split(" ") if one]
        try:
            if self.auth.identitytoken:
                form = {"grant_type": "refresh_token", "refresh_token": self.auth.identitytoken,
                        "client_id": "docker", "service": service, "scope": " ".join(scopes)}
                response = self._http.post(realm, data={k: v for k, v in form.items() if v})
            else:
                # Several scopes (a cross-repository mount) go as several `scope` parameters.
                params = [("service", service)] if service else []
                params += [("scope", one) for one in scopes]
                headers = {}
                if self.auth.username:
                    headers["Authorization"] = basic_header(self.auth.username, self.auth.password)
                    params.append(("account", self.auth.username))
                    if offline:
                        params += [("offline_token", "true"), ("client_id", "docker")]
                response = self._http.get(realm, params=tuple(params), headers=headers)
        except httpx.HTTPError as exc:
            raise Unreachable(f'Get "{realm}": {describe_exception(exc)}') from None
        if response.status_code in (401, 403):
            raise Unauthorized(f'Get "{self.base}/v2/": unauthorized: incorrect username or password')
        if response.status_code != 200:
            raise RegistryError(f'Get "{realm}": {registry_message(response)}')
        try:
            token, expires_in, refresh = token_from_answer(response.json())
        except ValueError:
            raise RegistryError(f'Get "{realm}": the token server did not answer JSON') from None
        self.refresh_token = refresh or self.refresh_token
        return token, expires_in

    def login_token(self) -> str:
        """For `POST /auth` against a token server: a token for the bare login, asking for a refresh
        token (returned to the client as its IdentityToken, "" when the server gives none)."""
        self.ping()
        challenge = self.challenge
        assert challenge is not None and challenge.scheme == "bearer"
        realm, service = challenge.params.get("realm", ""), challenge.params.get("service", "")
        token, expires_in = self._fetch_token(realm, service, "", offline=bool(self.auth.username))
        self.tokens.put((realm, service, ""), token, expires_in)
        return self.refresh_token

    # requests

    def request(self, method: str, url: str, scope: str, *, stream: bool = False, **kwargs: Any) -> httpx.Response:
        """A request with auth for `scope`; a 401 with a cached token fetches a new one once."""
        self.ping()
        assert self._http is not None and self.base is not None
        if url.startswith("/"):
            url = self.base + url
        headers = dict(kwargs.pop("headers", {}) or {})
        for attempt in (0, 1):
            authorization = self._authorization(scope, fresh=attempt == 1)
            send_headers = dict(headers)
            if authorization and _same_origin(url, self.base):
                send_headers["Authorization"] = authorization
            try:
                request = self._http.build_request(method, url, headers=send_headers, **kwargs)
                response = self._http.send(request, stream=stream)
            except httpx.HTTPError as exc:
                raise Unreachable(f'{method.title()} "{url}": {describe_exception(exc)}') from None
            if response.status_code != 401 or attempt == 1 or self.challenge is None:
                return response
            if self.challenge.scheme != "bearer" or self.auth.registrytoken:
                return response
            response.close()
        raise AssertionError("unreachable")

    def check(self, response: httpx.Response, what: str) -> httpx.Response:
        """Raise the error for a failed answer (reading the body of a streamed one)."""
        if response.status_code < 400:
            return response
        if not response.is_closed:
            response.read()
            response.close()
        message = registry_message(response)
        if response.status_code in (401, 403):
            raise Unauthorized(message)  # as dockerd prints it: "unauthorized: authentication required"
        if response.status_code == 404:
            raise NotFound(f"{what}: {message}")
        raise RegistryError(f"{what}: {message}")


def _same_origin(url: str, base: str) -> bool:
    a, b = urllib.parse.urlsplit(url), urllib.parse.urlsplit(base)
    return (a.scheme, a.netloc) == (b.scheme, b.netloc)
