"""The hub's own certificate authority for OCPP security profiles 2 and 3 (``cryptography``).

OCPP 1.6 security whitepaper (edition 2): profile 2 = TLS with a server certificate, profile 3 =
TLS with client certificates whose subject CN is the charge point identity; stations get their
certificate through SignCertificate (a CSR) -> CertificateSigned (section 3.1 / use case A02).

Storage. The CA key and certificate live as PEM files under ``settings.data_dir/pki`` (keys
mode 0600), not in the database: the database is backed up, replicated and readable by every
component and reporting tool, while the key only needs to be readable by the OCPP listener
process; the TLS stack loads files anyway, and the directory can be replaced by a mounted
secret or an HSM later without a schema change. What the operator queries - certificates we
issued to stations and revoked serials - is in the database (``cpo_core.pki_store``).

Layout of ``pki/``: ``ca.key``, ``ca.pem`` (the current CA), ``previous/ca-<serial>.pem`` (CAs
replaced by ``rotate``; still trusted for station certificates until they expire),
``cross-<serial>.pem`` (the current CA's key certified by the previous CA, served in the chain
so stations that trust only the old root accept the new server certificate), ``server.key``,
``server.pem`` (server certificate + cross certificate, if any).

Keys are EC P-256 (the whitepaper's minimum is ECDSA 224 bits or RSA 2048; P-256 is fast).
"""

from __future__ import annotations

import ipaddress
import os
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_DAYS = 3650
SERVER_DAYS = 397
STATION_DAYS = 365
RENEW_BEFORE = timedelta(days=30)
ORGANIZATION = "EV charging hub"
BACKDATE = timedelta(minutes=5)  # tolerate stations whose clock is a little behind
# Creating the CA or the server certificate happens at most once per process at a time.
_FILES_LOCK = threading.Lock()


class CsrRejected(ValueError):
    """A CSR we will not sign (unparsable, bad signature, CN not the station id)."""


@dataclass(frozen=True)
class CertificateAuthority:
    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate

    @property
    def pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)


# -- small helpers ---------------------------------------------------------------------------


def pki_dir(data_dir: Path) -> Path:
    return data_dir / "pki"


def new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def serial_hex(cert: x509.Certificate) -> str:
    """Lower-case hex without leading zeros (the form OCPP's CertificateHashData uses)."""
    return format(cert.serial_number, "x")


def normalize_serial(serial: str) -> str:
    """Operator input (``0x``, colons, upper case, leading zeros) -> ``serial_hex`` form."""
    cleaned = serial.strip().lower().removeprefix("0x").replace(":", "")
    return format(int(cleaned, 16), "x")


def common_name(name: x509.Name) -> str | None:
    values = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(values[0].value) if values else None


def write_file(path: Path, data: bytes, *, private: bool = False) -> None:
    """Atomic write; private files are created 0600."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANIZATION),
                      x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _builder(subject: x509.Name, issuer: x509.Name, public_key: ec.EllipticCurvePublicKey
             | rsa.RSAPublicKey, now: datetime, days: int) -> x509.CertificateBuilder:
    return (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer)
            .public_key(public_key).serial_number(x509.random_serial_number())
            .not_valid_before(now - BACKDATE).not_valid_after(now + timedelta(days=days))
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key),
                           critical=False))


def _ca_extensions(builder: x509.CertificateBuilder) -> x509.CertificateBuilder:
    return (builder.add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True,
                crl_sign=True, encipher_only=False, decipher_only=False), critical=True))


def _leaf(builder: x509.CertificateBuilder, ca: CertificateAuthority,
          usage: x509.ObjectIdentifier) -> x509.Certificate:
    builder = (builder
               .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
               .add_extension(x509.KeyUsage(
                   digital_signature=True, content_commitment=False, key_encipherment=False,
                   data_encipherment=False, key_agreement=True, key_cert_sign=False,
                   crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
               .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                   ca.key.public_key()), critical=False))
    return builder.sign(ca.key, hashes.SHA256())


# -- the CA ----------------------------------------------------------------------------------


def create_ca(now: datetime, common_name: str = "EV charging hub OCPP CA") -> CertificateAuthority:
    key = new_key()
    name = _name(f"{common_name} {now:%Y-%m-%d}")
    cert = _ca_extensions(_builder(name, name, key.public_key(), now, CA_DAYS)).sign(
        key, hashes.SHA256())
    return CertificateAuthority(key, cert)


def load_ca(directory: Path) -> CertificateAuthority:
    key = serialization.load_pem_private_key((directory / "ca.key").read_bytes(), None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError("the CA key must be an EC key")
    return CertificateAuthority(key, x509.load_pem_x509_certificate(
        (directory / "ca.pem").read_bytes()))


def save_ca(directory: Path, ca: CertificateAuthority) -> None:
    write_file(directory / "ca.key", key_pem(ca.key), private=True)
    write_file(directory / "ca.pem", ca.pem)


def ca_exists(directory: Path) -> bool:
    return (directory / "ca.key").exists() and (directory / "ca.pem").exists()


def ensure_ca(directory: Path, now: datetime) -> CertificateAuthority:
    """The CA in ``directory``, created on first use."""
    with _FILES_LOCK:
        if ca_exists(directory):
            return load_ca(directory)
        ca = create_ca(now)
        save_ca(directory, ca)
        return ca


def previous_cas(directory: Path, now: datetime) -> list[x509.Certificate]:
    """CAs replaced by ``rotate`` that have not expired: still trusted for station certs."""
    found = []
    for path in sorted((directory / "previous").glob("ca-*.pem")):
        cert = x509.load_pem_x509_certificate(path.read_bytes())
        if cert.not_valid_after_utc > now:
            found.append(cert)
    return found


def trust_bundle(directory: Path, now: datetime) -> bytes:
    """PEM of every CA whose station certificates we accept (current first)."""
    current = load_ca(directory).cert
    return b"".join(cert_pem(c) for c in [current, *previous_cas(directory, now)])


def rotate_ca(directory: Path, now: datetime, names: list[str]) -> CertificateAuthority:
    """A new CA signs from now on; the old one stays trusted; the server cert is re-issued.

    The new CA's key is also certified by the old CA (a cross certificate served in the TLS
    chain), so stations that trust only the old root keep accepting the server until they get
    the new root with InstallCertificate(CentralSystemRootCertificate).
    """
    old = load_ca(directory)
    write_file(directory / "previous" / f"ca-{serial_hex(old.cert)}.pem", old.pem)
    new = create_ca(now)
    cross = _ca_extensions(_builder(new.cert.subject, old.cert.subject, new.key.public_key(),
                                    now, CA_DAYS))
    cross_cert = cross.add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
        old.key.public_key()), critical=False).sign(old.key, hashes.SHA256())
    for stale in directory.glob("cross-*.pem"):
        stale.unlink()
    save_ca(directory, new)
    write_file(directory / f"cross-{serial_hex(new.cert)}.pem", cert_pem(cross_cert))
    write_server_certificate(directory, new, names, now)
    return new


# -- certificates ----------------------------------------------------------------------------


def _san(names: list[str]) -> x509.SubjectAlternativeName:
    entries: list[x509.GeneralName] = []
    for name in dict.fromkeys(n for n in names if n):
        try:
            entries.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            entries.append(x509.DNSName(name))
    return x509.SubjectAlternativeName(entries)


def issue_server_certificate(ca: CertificateAuthority, names: list[str], now: datetime
                             ) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = new_key()
    builder = _builder(_name(names[0]), ca.cert.subject, key.public_key(), now, SERVER_DAYS)
    builder = builder.add_extension(_san(names), critical=False)
    return key, _leaf(builder, ca, ExtendedKeyUsageOID.SERVER_AUTH)


def write_server_certificate(directory: Path, ca: CertificateAuthority, names: list[str],
                             now: datetime) -> None:
    key, cert = issue_server_certificate(ca, names, now)
    chain = cert_pem(cert) + b"".join(p.read_bytes() for p in directory.glob("cross-*.pem"))
    write_file(directory / "server.key", key_pem(key), private=True)
    write_file(directory / "server.pem", chain)


def _server_certificate_usable(directory: Path, ca: CertificateAuthority, names: list[str],
                               now: datetime) -> bool:
    path = directory / "server.pem"
    if not path.exists() or not (directory / "server.key").exists():
        return False
    cert = x509.load_pem_x509_certificate(path.read_bytes())
    if cert.issuer != ca.cert.subject or cert.not_valid_after_utc - RENEW_BEFORE < now:
        return False
    have = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return set(_san(names)) <= set(have)


def ensure_server_certificate(directory: Path, names: list[str], now: datetime
                              ) -> tuple[Path, Path]:
    """(cert chain file, key file) for the OCPP listener; (re-)issued when missing, about to
    expire, issued by another CA or missing one of ``names``."""
    ca = ensure_ca(directory, now)
    with _FILES_LOCK:
        if not _server_certificate_usable(directory, ca, names, now):
            write_server_certificate(directory, ca, names, now)
    return directory / "server.pem", directory / "server.key"


def load_csr(csr_pem: str) -> x509.CertificateSigningRequest:
    try:
        csr = x509.load_pem_x509_csr(csr_pem.encode())
    except ValueError as exc:
        raise CsrRejected("not a PEM certificate signing request") from exc
    if not csr.is_signature_valid:
        raise CsrRejected("CSR signature does not verify")
    return csr


def check_csr(csr_pem: str, station_id: str) -> x509.CertificateSigningRequest:
    """A CSR we would sign for ``station_id``: valid, signed, CN = station id (whitepaper
    section 3.1.2: the CN is the charge point's identity), key EC >= 224 or RSA >= 2048 bits."""
    csr = load_csr(csr_pem)
    if common_name(csr.subject) != station_id:
        raise CsrRejected("CSR common name is not the station id")
    key = csr.public_key()
    if isinstance(key, ec.EllipticCurvePublicKey):
        if key.curve.key_size < 224:
            raise CsrRejected("EC key too short")
    elif isinstance(key, rsa.RSAPublicKey):
        if key.key_size < 2048:
            raise CsrRejected("RSA key too short")
    else:
        raise CsrRejected("unsupported key type")
    return csr


def sign_csr(ca: CertificateAuthority, csr_pem: str, station_id: str, now: datetime,
             days: int = STATION_DAYS) -> x509.Certificate:
    """A station (client) certificate for the CSR's key; the subject is ours, CN = station id."""
    csr = check_csr(csr_pem, station_id)
    key = csr.public_key()
    assert isinstance(key, ec.EllipticCurvePublicKey | rsa.RSAPublicKey)  # check_csr
    return _leaf(_builder(_name(station_id), ca.cert.subject, key, now, days), ca,
                 ExtendedKeyUsageOID.CLIENT_AUTH)


def issue_station_certificate(ca: CertificateAuthority, station_id: str, now: datetime
                              ) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """A key pair and certificate made here (commissioning without SignCertificate)."""
    key = new_key()
    csr = (x509.CertificateSigningRequestBuilder().subject_name(_name(station_id))
           .sign(key, hashes.SHA256()))
    pem = csr.public_bytes(serialization.Encoding.PEM).decode()
    return key, sign_csr(ca, pem, station_id, now)


def verify_issued_by(cert: x509.Certificate, issuers: list[x509.Certificate]) -> bool:
    for issuer in issuers:
        try:
            cert.verify_directly_issued_by(issuer)
            return True
        except (ValueError, TypeError, InvalidSignature):
            continue
    return False


def certificate_hash_data(cert: x509.Certificate, issuer: x509.Certificate) -> dict[str, str]:
    """OCPP 1.6 security CertificateHashDataType (SHA256) for DeleteCertificate."""
    public = issuer.public_key()
    if isinstance(public, ec.EllipticCurvePublicKey):
        key_bytes = public.public_bytes(serialization.Encoding.X962,
                                        serialization.PublicFormat.UncompressedPoint)
    else:
        key_bytes = public.public_bytes(serialization.Encoding.DER,
                                        serialization.PublicFormat.PKCS1)
    return {
        "hashAlgorithm": "SHA256",
        "issuerNameHash": _sha256_hex(cert.issuer.public_bytes()),
        "issuerKeyHash": _sha256_hex(key_bytes),
        "serialNumber": serial_hex(cert),
    }


def _sha256_hex(data: bytes) -> str:
    digest = hashes.Hash(hashes.SHA256())
    digest.update(data)
    return digest.finalize().hex()
