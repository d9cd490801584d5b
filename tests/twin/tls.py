"""Certificates for the twin: a throw-away CA, a server certificate and a client certificate.

The SDK's external client always speaks https (``hopsworks_common/client/external.py`` builds
``https://host:port``) and, with ``hostname_verification=False`` (the default of
``hopsworks.login``), does not verify the server. The Query Service client
(``hsfs/core/arrow_flight_client.py``) always uses ``grpc+tls`` and checks the server against
the CA chain that ``GET project/{id}/credentials`` handed out, under the name
``flyingduck.service.<service discovery domain>``. So one CA signs a server certificate valid
for 127.0.0.1 and that name, and a client certificate that the SDK writes to its cert folder.
EC keys: made in milliseconds, where RSA keys take a noticeable fraction of a second.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import os
import struct
from dataclasses import dataclass
from functools import cache

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

SERVICE_DOMAIN = "hopsworks.twin"
FLIGHT_HOSTNAME = f"flyingduck.service.{SERVICE_DOMAIN}"


@dataclass(frozen=True)
class Pems:
    """PEM texts: the CA, the server's certificate and key, the client's certificate and key."""

    ca: str
    server_cert: str
    server_key: str
    client_cert: str
    client_key: str

    def key_store(self, password: str) -> bytes:
        """The client's key and certificate chain as a JKS key store (``credentials`` ``kStore``)."""
        key = serialization.load_pem_private_key(self.client_key.encode(), None)
        pkcs8 = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        chain = [_der(self.client_cert), _der(self.ca)]
        return _jks([(1, _protect(pkcs8, password), chain)], password)

    def trust_store(self, password: str) -> bytes:
        """The CA as a JKS trust store (``credentials`` ``tStore``)."""
        return _jks([(2, None, [_der(self.ca)])], password)


def _pem_key(key: ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def _certificate(subject: str, key, issuer: x509.Name, issuer_key, names: list[x509.GeneralName] | None, ca: bool):
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


@cache
def make_pems() -> Pems:
    """One set per test session (certificates are immutable; a new set costs ~10 ms anyway)."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hopsworks twin CA")])
    ca_cert = _certificate("hopsworks twin CA", ca_key, ca_name, ca_key, None, ca=True)
    server_key = ec.generate_private_key(ec.SECP256R1())
    names = [
        x509.DNSName("localhost"),
        x509.DNSName(FLIGHT_HOSTNAME),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
    ]
    server_cert = _certificate("localhost", server_key, ca_name, ca_key, names, ca=False)
    client_key = ec.generate_private_key(ec.SECP256R1())
    client_cert = _certificate("twin_user", client_key, ca_name, ca_key, None, ca=False)

    def pem(cert: x509.Certificate) -> str:
        return cert.public_bytes(serialization.Encoding.PEM).decode()

    return Pems(pem(ca_cert), pem(server_cert), _pem_key(server_key), pem(client_cert), _pem_key(client_key))


# ---- JKS: the stores the SDK parses itself (``hopsworks_common/client/base.py`` ``_load_jks``) when it
# turns the Kafka connector's key and trust stores into PEM files for confluent_kafka.


def _der(pem: str) -> bytes:
    return x509.load_pem_x509_certificate(pem.encode()).public_bytes(serialization.Encoding.DER)


def _utf(text: str) -> bytes:
    data = text.encode()
    return struct.pack(">H", len(data)) + data


def _protect(pkcs8: bytes, password: str) -> bytes:
    """Sun's JKS key protector: SHA-1 keystream XOR, then an EncryptedPrivateKeyInfo (DER)."""
    secret = password.encode("utf-16-be")
    salt, stream, block = os.urandom(20), b"", b""
    block = salt
    while len(stream) < len(pkcs8):
        block = hashlib.sha1(secret + block).digest()
        stream += block
    payload = salt + bytes(a ^ b for a, b in zip(pkcs8, stream, strict=False)) + hashlib.sha1(secret + pkcs8).digest()
    algorithm = _tlv(0x30, _tlv(0x06, bytes.fromhex("2b0601040102110101")) + b"\x05\x00")  # 1.3.6.1.4.1.42.2.17.1.1
    return _tlv(0x30, algorithm + _tlv(0x04, payload))


def _tlv(tag: int, value: bytes) -> bytes:
    n = len(value)
    length = bytes([n]) if n < 0x80 else bytes([0x80 | ((n.bit_length() + 7) // 8)]) + n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag]) + length + value


def _jks(entries: list[tuple[int, bytes | None, list[bytes]]], password: str) -> bytes:
    data = b"\xfe\xed\xfe\xed" + struct.pack(">II", 2, len(entries))
    for number, (tag, key, certs) in enumerate(entries):
        data += struct.pack(">I", tag) + _utf(f"entry{number}") + struct.pack(">Q", 0)
        if tag == 1:
            data += struct.pack(">I", len(key)) + key + struct.pack(">I", len(certs))
        for cert in certs:
            data += _utf("X.509") + struct.pack(">I", len(cert)) + cert
    return data + hashlib.sha1(password.encode("utf-16-be") + b"Mighty Aphrodite" + data).digest()
