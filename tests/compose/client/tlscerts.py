"""Certificates for the TLS tests: a CA, the engine's (127.0.0.1, localhost) and a client's, as PEM files."""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


@dataclass(frozen=True)
class Certs:
    ca: Path
    server_cert: Path
    server_key: Path
    client_dir: Path  # ca.pem, cert.pem, key.pem: a DOCKER_CERT_PATH
    ca_only_dir: Path  # ca.pem alone: a client without a certificate
    stranger_dir: Path  # a client certificate from another CA


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _write_key(key: ec.EllipticCurvePrivateKey, path: Path) -> None:
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    path.chmod(0o600)


def _cert(subject: str, key: ec.EllipticCurvePrivateKey, issuer: x509.Name | None,
          issuer_key: ec.EllipticCurvePrivateKey, *, ca: bool = False, server: bool = False) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    builder = (x509.CertificateBuilder().subject_name(name).issuer_name(issuer or name)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if ca:
        builder = builder.add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False),
                                        critical=True)
    elif server:
        builder = builder.add_extension(x509.SubjectAlternativeName(
            [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]), critical=False)
        builder = builder.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    else:
        builder = builder.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def make_certs(folder: Path) -> Certs:
    folder.mkdir(parents=True, exist_ok=True)
    ca_key = _key()
    ca = _cert("pycompose test CA", ca_key, None, ca_key, ca=True)
    server_key = _key()
    server = _cert("127.0.0.1", server_key, ca.subject, ca_key, server=True)
    client_key = _key()
    client = _cert("client", client_key, ca.subject, ca_key)
    other_key = _key()
    other_ca = _cert("another CA", other_key, None, other_key, ca=True)
    stranger_key = _key()
    stranger = _cert("stranger", stranger_key, other_ca.subject, other_key)
    (folder / "ca.pem").write_bytes(_pem(ca))
    (folder / "server-cert.pem").write_bytes(_pem(server))
    _write_key(server_key, folder / "server-key.pem")
    dirs = []
    for name, cert, key in (("client", client, client_key), ("ca-only", None, None),
                            ("stranger", stranger, stranger_key)):
        d = folder / name
        d.mkdir(exist_ok=True)
        (d / "ca.pem").write_bytes(_pem(ca))
        if cert is not None and key is not None:
            (d / "cert.pem").write_bytes(_pem(cert))
            _write_key(key, d / "key.pem")
        dirs.append(d)
    return Certs(folder / "ca.pem", folder / "server-cert.pem", folder / "server-key.pem", *dirs)
