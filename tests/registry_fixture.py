"""A real registry for tests: Debian's `docker-registry` (Distribution 2.8) on 127.0.0.1.

`start_registry(tmp, mode)` writes a config and storage under `tmp`, picks a free port,
starts the registry and waits until `/v2/` answers. Modes:

- `http`: plain HTTP, no auth (127.0.0.0/8 is an implicit insecure registry).
- `tls`: HTTPS with a certificate signed by a CA the fixture makes (`handle.ca`).
- `htpasswd`: plain HTTP with Basic auth from bcrypt entries (`handle.users`).
- `token`: plain HTTP with `auth: token`; a small token server (a thread) hands out JWTs signed
  with an ES256 test key. Distribution 2.8 takes the signing key from the JWT header: `x5c`
  (a chain verified against `rootcertbundle`), `jwk`, or `kid` = the libtrust fingerprint of a
  public key found in `rootcertbundle`; we send `kid` (registry/auth/token/token.go). Anonymous
  callers get `pull` (except on `private/…`); users with the right password get what they ask for.

`RegistryHandle.stop()` ends the registry and the token server (the leak check counts processes).
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import http.server
import json
import os
import secrets
import shutil
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REGISTRY = "/usr/bin/docker-registry"
USERS = {"testuser": "testpassword"}
SERVICE = "pycompose-test-registry"
ISSUER = "pycompose-test-issuer"
START_TIMEOUT = 15.0


def registry_available() -> bool:
    return os.access(REGISTRY, os.X_OK) or shutil.which("docker-registry") is not None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class RegistryHandle:
    mode: str
    port: int
    root: Path
    process: subprocess.Popen[bytes]
    log: Path
    ca: Path | None = None
    users: dict[str, str] = field(default_factory=dict)
    token_server: TokenServer | None = None

    @property
    def host(self) -> str:
        """`127.0.0.1:<port>`: the registry part of an image reference."""
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"{'https' if self.mode == 'tls' else 'http'}://{self.host}"

    def log_text(self) -> str:
        try:
            return self.log.read_text(errors="replace")
        except OSError:
            return ""

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.token_server is not None:
            self.token_server.stop()


# --- keys and certificates ---------------------------------------------------------------------


def _make_ca(directory: Path, with_server_cert: bool) -> tuple[Path, Path | None, Path | None, Any]:
    """A self-signed EC CA (also the token signer) and, when asked, a server cert for 127.0.0.1."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "pycompose test CA")])
    ca_cert = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    # The CA alone in its folder: tools read every *.key beside it as a client key.
    (directory / "ca").mkdir(exist_ok=True)
    ca_path = directory / "ca" / "ca.crt"
    ca_path.write_bytes(ca_cert.public_bytes(pem))
    if not with_server_cert:
        return ca_path, None, None, ca_key
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName(
            [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    cert_path, key_path = directory / "server.crt", directory / "server.key"
    cert_path.write_bytes(cert.public_bytes(pem))
    key_path.write_bytes(key.private_bytes(pem, serialization.PrivateFormat.TraditionalOpenSSL,
                                           serialization.NoEncryption()))
    return ca_path, cert_path, key_path, ca_key


def libtrust_key_id(public_key: Any) -> str:
    """libtrust's KeyID: base32 of the first 240 bits of sha256(DER SubjectPublicKeyInfo), in 4-char groups."""
    from cryptography.hazmat.primitives import serialization

    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    b32 = base64.b32encode(hashlib.sha256(der).digest()[:30]).decode().rstrip("=")
    return ":".join(b32[i : i + 4] for i in range(0, len(b32), 4))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def sign_jwt(key: Any, claims: dict[str, Any]) -> str:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

    header = {"typ": "JWT", "alg": "ES256", "kid": libtrust_key_id(key.public_key())}
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    r, s = decode_dss_signature(key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
    return f"{signing_input}.{_b64(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"


# --- the token server --------------------------------------------------------------------------


class TokenServer:
    """`GET /token?service=&scope=` as the token spec has it; counts the tokens it handed out."""

    def __init__(self, key: Any, users: dict[str, str], expires_in: int = 300) -> None:
        self.key, self.users, self.expires_in = key, users, expires_in
        self.issued: list[tuple[str, list[str]]] = []  # (account, scopes)
        self.refresh_tokens: dict[str, str] = {}  # refresh token -> account
        self.private: tuple[str, ...] = ("private/",)  # repositories anonymous callers may not pull
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                server._answer(self)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                server._answer(self, urllib.parse.parse_qs(self.rfile.read(length).decode()))

        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()

    @property
    def realm(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/token"

    def _answer(self, req: http.server.BaseHTTPRequestHandler, form: dict[str, list[str]] | None = None) -> None:
        """GET with Basic credentials (`offline_token=true` adds a refresh token), or the OAuth2 POST
        (`grant_type=refresh_token` or `password`), as distribution's token spec describes them."""
        query = form if form is not None else urllib.parse.parse_qs(urllib.parse.urlparse(req.path).query)
        account = ""
        auth = req.headers.get("Authorization", "")
        if form is not None:
            grant = form.get("grant_type", [""])[0]
            if grant == "refresh_token":
                account = self.refresh_tokens.get(form.get("refresh_token", [""])[0], "")
                if not account:
                    return self._refuse(req)
            elif grant == "password":
                user, password = form.get("username", [""])[0], form.get("password", [""])[0]
                if self.users.get(user) != password:
                    return self._refuse(req)
                account = user
        elif auth.startswith("Basic "):
            user, _, password = base64.b64decode(auth[6:]).decode().partition(":")
            if self.users.get(user) != password:
                return self._refuse(req)
            account = user
        access = []
        scopes = [one for scope in query.get("scope", []) for one in scope.split(" ") if one]
        for one in scopes:
            kind, _, rest = one.partition(":")
            name, _, actions = rest.rpartition(":")
            wanted = [a for a in actions.split(",") if a]
            granted = wanted if account else [a for a in wanted if a == "pull" and not name.startswith(self.private)]
            access.append({"type": kind, "name": name, "actions": granted})
        now = int(time.time())
        claims = {"iss": ISSUER, "sub": account, "aud": query.get("service", [""])[0], "exp": now + self.expires_in,
                  "nbf": now - 10, "iat": now, "jti": secrets.token_hex(8), "access": access}
        token = sign_jwt(self.key, claims)
        self.issued.append((account, scopes))
        answer = {"token": token, "access_token": token, "expires_in": self.expires_in,
                  "issued_at": datetime.datetime.now(datetime.UTC).isoformat()}
        if account and (form is not None or query.get("offline_token", [""])[0] == "true"):
            refresh = secrets.token_hex(16)
            self.refresh_tokens[refresh] = account
            answer["refresh_token"] = refresh
        self._send(req, 200, answer)

    def _refuse(self, req: http.server.BaseHTTPRequestHandler) -> None:
        self._send(req, 401, {"errors": [{"code": "UNAUTHORIZED", "message": "authentication required"}]})

    def _send(self, req: http.server.BaseHTTPRequestHandler, status: int, obj: dict[str, Any]) -> None:
        body = json.dumps(obj).encode()
        req.send_response(status)
        req.send_header("Content-Type", "application/json")
        req.send_header("Content-Length", str(len(body)))
        req.end_headers()
        req.wfile.write(body)

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(5)


# --- the registry ------------------------------------------------------------------------------


def _htpasswd(users: dict[str, str]) -> str:
    import bcrypt

    return "".join(f"{u}:{bcrypt.hashpw(p.encode(), bcrypt.gensalt(rounds=5)).decode()}\n" for u, p in users.items())


def _config(root: Path, port: int, mode: str, extra: dict[str, Any]) -> dict[str, Any]:
    http_conf: dict[str, Any] = {"addr": f"127.0.0.1:{port}", "secret": secrets.token_hex(16),
                                 "headers": {"X-Content-Type-Options": ["nosniff"]}}
    http_conf.update(extra.pop("http", {}))
    return {
        "version": 0.1,
        "log": {"level": "info", "accesslog": {"disabled": False}},
        "storage": {"filesystem": {"rootdirectory": str(root / "data")}, "delete": {"enabled": True},
                    "maintenance": {"uploadpurging": {"enabled": False}}},
        "http": http_conf,
        **extra,
    }


def start_registry(tmp: Path, mode: str = "http", users: dict[str, str] | None = None) -> RegistryHandle:
    """Start a registry in `mode` (http, tls, htpasswd, token) with config and storage under `tmp`."""
    if mode not in ("http", "tls", "htpasswd", "token"):
        raise ValueError(f"unknown registry mode {mode!r}")
    tmp.mkdir(parents=True, exist_ok=True)
    users = dict(USERS if users is None else users)
    port = free_port()
    extra: dict[str, Any] = {}
    ca = None
    token_server = None
    if mode == "tls":
        ca, cert, key, _ = _make_ca(tmp, with_server_cert=True)
        extra["http"] = {"tls": {"certificate": str(cert), "key": str(key)}}
    elif mode == "htpasswd":
        (tmp / "htpasswd").write_text(_htpasswd(users))
        extra["auth"] = {"htpasswd": {"realm": "pycompose-test", "path": str(tmp / "htpasswd")}}
    elif mode == "token":
        bundle, _, _, signer = _make_ca(tmp, with_server_cert=False)
        token_server = TokenServer(signer, users)
        extra["auth"] = {"token": {"realm": token_server.realm, "service": SERVICE, "issuer": ISSUER,
                                   "rootcertbundle": str(bundle)}}
    config_path = tmp / "config.yml"
    config_path.write_text(json.dumps(_config(tmp, port, mode, extra)))  # JSON is YAML
    log = tmp / "registry.log"
    with open(log, "ab") as out:
        process = subprocess.Popen([REGISTRY, "serve", str(config_path)], stdin=subprocess.DEVNULL,
                                   stdout=out, stderr=out)
    handle = RegistryHandle(mode, port, tmp, process, log, ca, users if mode in ("htpasswd", "token") else {},
                            token_server)
    try:
        _wait_ready(handle)
    except BaseException:
        handle.stop()
        raise
    return handle


def _wait_ready(handle: RegistryHandle) -> None:
    import ssl

    context = ssl.create_default_context(cafile=str(handle.ca)) if handle.ca else None
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if handle.process.poll() is not None:
            raise AssertionError(f"registry exited {handle.process.returncode}:\n{handle.log_text()}")
        try:
            with urllib.request.urlopen(handle.url + "/v2/", timeout=1, context=context):
                return
        except urllib.error.HTTPError:
            return  # 401: up, wants auth
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"registry not ready within {START_TIMEOUT} s:\n{handle.log_text()}")


# --- pytest fixtures (re-exported by tests/conftest.py) ------------------------------------------

import pytest  # noqa: E402


class RegistryFactory:
    """Starts registries in a module; all of them stop when the module ends."""

    def __init__(self, tmp_path_factory: pytest.TempPathFactory) -> None:
        self._tmp = tmp_path_factory
        self.started: list[RegistryHandle] = []

    def __call__(self, mode: str = "http", users: dict[str, str] | None = None) -> RegistryHandle:
        if not registry_available():
            pytest.skip("Debian's docker-registry is not installed (scripts/setup.sh installs it)")
        handle = start_registry(self._tmp.mktemp(f"registry-{mode}"), mode, users)
        self.started.append(handle)
        return handle

    def stop_all(self) -> None:
        for handle in self.started:
            handle.stop()
        self.started.clear()


@pytest.fixture(scope="module")
def registry_factory(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """`registry_factory(mode)` starts a registry (http, tls, htpasswd, token) for this module."""
    factory = RegistryFactory(tmp_path_factory)
    try:
        yield factory
    finally:
        factory.stop_all()


@pytest.fixture(scope="module")
def registry(registry_factory: RegistryFactory) -> RegistryHandle:
    """A plain-HTTP registry without auth on 127.0.0.1, for this module."""
    return registry_factory("http")
