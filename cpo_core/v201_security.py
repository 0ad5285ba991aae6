"""OCPP 2.0.1 security and certificate management (Part 2 blocks A and M), CSMS side.

Station -> CSMS (``SecurityHandlers201``, a mixin of ``StationConnection201``):

- SecurityEventNotification (A04): stored in ``ocpp_security_events`` like the 1.6 one (the
  health monitor raises ``security_event`` alarms from there); techInfo is stored, not logged.
- SignCertificate (A02/A03): ``ChargingStationCertificate`` (or no type) CSRs are checked with
  ``pki.check_csr`` and answered Accepted/Rejected; once the reply is on the wire our CA signs
  the CSR (``pki.sign_csr``), the certificate is recorded and CertificateSigned is sent.
  ``V2GCertificate`` CSRs are Rejected: they must be signed by a V2G (ISO 15118) CA, which the
  hub does not operate.
- Get15118EVCertificate (M01/M02): ``Failed`` with an empty exiResponse. Installing a contract
  certificate needs a Contract Certificate Pool / Mobility Operator backend speaking ISO 15118-2
  EXI; the hub has none, and Failed is the answer the use case defines when the CSMS cannot
  obtain one (the EV then uses external identification).
- GetCertificateStatus (M06): for certificates our current CA issued (looked up by serial in
  ``pki_certificates``), a real OCSP response (RFC 6960, signed by our CA: good / revoked per
  ``pki_revoked_serials``), base64 DER in ``ocspResult``; ``Failed`` for any other certificate
  (we are no OCSP proxy for V2G or manufacturer CAs).

CSMS -> station (``SecurityCommands201``): CertificateSigned, InstallCertificate,
GetInstalledCertificateIds, DeleteCertificate, and the renewal trigger
(TriggerMessage SignChargingStationCertificate, A02). Errors as in StationCommands.send.
"""

from __future__ import annotations

import asyncio
import base64
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import structlog
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509 import ocsp
from ocpp.routing import on
from ocpp.v201 import call, call_result
from ocpp.v201.enums import Action
from sqlalchemy import select

from cpo_core import pki, pki_store
from cpo_core.base import parse_timestamp
from cpo_core.commands201 import StationCommands201
from hub.context import HubContext
from hub.db.base import transaction
from hub.db.models import IssuedCertificateRow, SecurityEventRow

if TYPE_CHECKING:
    from cpo_core.base import OcppChargePoint201 as _Base
else:
    _Base = object

log = structlog.get_logger("cpo_core.v201")

MAX_TECH_INFO = 255
STATION_CERTIFICATE = "ChargingStationCertificate"
OCSP_VALIDITY = timedelta(hours=24)
# OCPP 1.6 security whitepaper certificate use -> 2.0.1 InstallCertificateUseEnumType.
CERTIFICATE_USES = {"CentralSystemRootCertificate": "CSMSRootCertificate",
                    "ManufacturerRootCertificate": "ManufacturerRootCertificate"}
_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "SHA256": hashes.SHA256, "SHA384": hashes.SHA384, "SHA512": hashes.SHA512}


class SecurityHandlers201(_Base):
    """Mixin of ``cpo_core.v201.StationConnection201``."""

    id: str
    ctx: HubContext

    @on(Action.security_event_notification)
    async def on_security_event(self, type: str, timestamp: str, tech_info: str | None = None,
                                **_: Any) -> call_result.SecurityEventNotification:
        ts = parse_timestamp(timestamp, "timestamp", station_id=self.id)
        async with transaction(self.ctx.sessionmaker) as session:
            session.add(SecurityEventRow(
                station_id=self.id, type=type[:50], timestamp=ts,
                tech_info=tech_info[:MAX_TECH_INFO] if tech_info else None,
                received_at=self.ctx.clock()))
        log.warning("ocpp.security_event", station=self.id, event_type=type[:50])
        return call_result.SecurityEventNotification()

    @on(Action.sign_certificate)
    async def on_sign_certificate(self, csr: str, certificate_type: str | None = None,
                                  **_: Any) -> call_result.SignCertificate:
        if certificate_type not in (None, STATION_CERTIFICATE):
            log.warning("ocpp.sign_certificate.rejected", station=self.id,
                        reason=f"no CA for {certificate_type}")
            return call_result.SignCertificate(status="Rejected")
        try:
            pki.check_csr(csr, self.id)
        except pki.CsrRejected as exc:
            log.warning("ocpp.sign_certificate.rejected", station=self.id, reason=str(exc))
            return call_result.SignCertificate(status="Rejected")
        self.after_reply(lambda: self._send_signed_certificate(csr))
        return call_result.SignCertificate(status="Accepted")

    async def _send_signed_certificate(self, csr: str) -> None:
        cert = await pki_store.issue_station_certificate(self.ctx, self.id, csr)
        result = await self.call(call.CertificateSigned(
            certificate_chain=pki.cert_pem(cert).decode(), certificate_type=STATION_CERTIFICATE))
        log.info("ocpp.certificate_signed", station=self.id, serial=pki.serial_hex(cert),
                 status=str(result.status))

    @on(Action.get_15118_ev_certificate)
    async def on_get_15118_ev_certificate(self, **kw: Any
                                          ) -> call_result.Get15118EVCertificate:
        log.info("ocpp.15118_ev_certificate.failed", station=self.id,
                 action=kw.get("action"), reason="no contract certificate backend")
        return call_result.Get15118EVCertificate(
            status="Failed", exi_response="",
            status_info={"reason_code": "NoCertificateBackend"})

    @on(Action.get_certificate_status)
    async def on_get_certificate_status(self, ocsp_request_data: dict[str, Any], **_: Any
                                        ) -> call_result.GetCertificateStatus:
        now = self.ctx.clock()
        result = await self._ocsp_response(ocsp_request_data, now)
        if result is None:
            return call_result.GetCertificateStatus(
                status="Failed", status_info={"reason_code": "UnknownCertificate"})
        return call_result.GetCertificateStatus(status="Accepted", ocsp_result=result)

    async def _ocsp_response(self, request: dict[str, Any], now: datetime) -> str | None:
        algorithm = _HASHES.get(str(request.get("hash_algorithm")))
        if algorithm is None:
            return None
        async with self.ctx.sessionmaker() as session:
            row = (await session.scalars(select(IssuedCertificateRow).where(
                IssuedCertificateRow.serial == pki.normalize_serial(
                    str(request.get("serial_number", "")))))).first()
            revoked = row is not None and await pki_store.is_revoked(session, row.serial)
        if row is None:
            return None
        ca = await asyncio.to_thread(pki.ensure_ca, pki.pki_dir(self.ctx.settings.data_dir),
                                     now)
        cert = x509.load_pem_x509_certificate(row.pem.encode())
        if _key_hash(ca.cert, algorithm()) != str(request.get("issuer_key_hash", "")).lower() \
                or not pki.verify_issued_by(cert, [ca.cert]):
            return None
        return ocsp_response(ca, cert, revoked=revoked, revoked_at=row.revoked_at or now,
                             now=now)


def _key_hash(issuer: x509.Certificate, algorithm: hashes.HashAlgorithm) -> str:
    """OCSP issuerKeyHash: the hash of the issuer's subjectPublicKey bits (RFC 6960 4.1.1)."""
    public = issuer.public_key()
    if isinstance(public, ec.EllipticCurvePublicKey):
        data = public.public_bytes(serialization.Encoding.X962,
                                   serialization.PublicFormat.UncompressedPoint)
    else:
        data = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1)
    digest = hashes.Hash(algorithm)
    digest.update(data)
    return digest.finalize().hex()


def ocsp_response(ca: pki.CertificateAuthority, cert: x509.Certificate, *, revoked: bool,
                  revoked_at: datetime, now: datetime) -> str:
    """A basic OCSP response for ``cert`` signed by our CA, base64 DER (ocspResult)."""
    builder = ocsp.OCSPResponseBuilder().add_response(
        cert=cert, issuer=ca.cert, algorithm=hashes.SHA256(),
        cert_status=ocsp.OCSPCertStatus.REVOKED if revoked else ocsp.OCSPCertStatus.GOOD,
        this_update=now, next_update=now + OCSP_VALIDITY,
        revocation_time=revoked_at if revoked else None, revocation_reason=None,
    ).responder_id(ocsp.OCSPResponderEncoding.HASH, ca.cert)
    response = builder.sign(ca.key, hashes.SHA256())
    return base64.b64encode(response.public_bytes(serialization.Encoding.DER)).decode()


class SecurityCommands201:
    """CSMS -> station certificate management (M03-M05, A02) through the admin adapter."""

    def __init__(self, ctx: HubContext) -> None:
        self.ctx = ctx
        self.commands = StationCommands201(ctx)

    async def certificate_signed(self, station_id: str, chain_pem: str) -> dict[str, Any]:
        return await self.commands.send(station_id, call.CertificateSigned(
            certificate_chain=chain_pem, certificate_type=STATION_CERTIFICATE))

    async def install_certificate(self, station_id: str, certificate_type: str,
                                  certificate_pem: str) -> dict[str, Any]:
        """``certificate_type``: InstallCertificateUseEnumType (1.6 names are translated)."""
        return await self.commands.send(station_id, call.InstallCertificate(
            certificate_type=CERTIFICATE_USES.get(certificate_type, certificate_type),
            certificate=certificate_pem))

    async def install_our_root(self, station_id: str) -> dict[str, Any]:
        ca = await asyncio.to_thread(pki.ensure_ca, pki.pki_dir(self.ctx.settings.data_dir),
                                     self.ctx.clock())
        return await self.install_certificate(station_id, "CSMSRootCertificate",
                                              ca.pem.decode())

    async def installed_certificate_ids(self, station_id: str,
                                        certificate_types: list[str] | None = None
                                        ) -> dict[str, Any]:
        return await self.commands.send(station_id, call.GetInstalledCertificateIds(
            certificate_type=certificate_types or None))

    async def delete_certificate(self, station_id: str, hash_data: dict[str, str]
                                 ) -> dict[str, Any]:
        return await self.commands.send(station_id, call.DeleteCertificate(
            certificate_hash_data=hash_data))

    async def request_certificate_renewal(self, station_id: str) -> dict[str, Any]:
        """The station sends SignCertificate with a new CSR (A02)."""
        return await self.commands.trigger(station_id, "SignChargingStationCertificate")
