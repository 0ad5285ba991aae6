"""OCPP 1.6 security extension, station -> central system messages (OCPP 1.6 security
whitepaper, edition 2): SecurityEventNotification (section 4.3, stored), SignCertificate
(section 3.1 use case A02: the CSR is checked in ``@on`` and answered Accepted/Rejected; the
certificate is signed by our CA and sent with CertificateSigned only once the reply is on the
wire, PROTOCOL_NOTES OCPP), SignedFirmwareStatusNotification (section 5.3, stored on the
SignedUpdateFirmware request it belongs to).

Central system -> station messages of the extension are in ``cpo_core.security_commands``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import structlog
from ocpp.routing import on
from ocpp.v16 import call, call_result
from ocpp.v16.enums import Action, GenericStatus
from sqlalchemy import select

from cpo_core import pki, pki_store
from cpo_core.base import parse_timestamp
from hub.context import HubContext
from hub.db.base import transaction
from hub.db.models import SecurityEventRow, SignedFirmwareUpdateRow

if TYPE_CHECKING:
    from cpo_core.base import OcppChargePoint as _Base
else:
    _Base = object

log = structlog.get_logger("cpo_core.security")

MAX_TECH_INFO = 255  # SecurityEventNotification.techInfo is string(255)


class SecurityHandlers16(_Base):
    """Mixin of ``cpo_core.central.StationConnection``."""

    id: str
    ctx: HubContext

    @on(Action.security_event_notification)
    async def on_security_event_notification(
            self, type: str, timestamp: str, tech_info: str | None = None, **_: Any
    ) -> call_result.SecurityEventNotification:
        ts = parse_timestamp(timestamp, "timestamp", station_id=self.id)
        async with transaction(self.ctx.sessionmaker) as session:
            session.add(SecurityEventRow(
                station_id=self.id, type=type[:50], timestamp=ts,
                tech_info=tech_info[:MAX_TECH_INFO] if tech_info else None,
                received_at=self.ctx.clock()))
        # techInfo is free text from the station: stored, not logged.
        log.warning("ocpp.security_event", station=self.id, event_type=type)
        return call_result.SecurityEventNotification()

    @on(Action.sign_certificate)
    async def on_sign_certificate(self, csr: str, **_: Any) -> call_result.SignCertificate:
        try:
            pki.check_csr(csr, self.id)
        except pki.CsrRejected as exc:
            log.warning("ocpp.sign_certificate.rejected", station=self.id, reason=str(exc))
            return call_result.SignCertificate(status=GenericStatus.rejected)
        self.after_reply(lambda: self._send_signed_certificate(csr))
        return call_result.SignCertificate(status=GenericStatus.accepted)

    async def _send_signed_certificate(self, csr: str) -> None:
        """Signs the CSR with our CA, records the certificate, sends CertificateSigned."""
        cert = await pki_store.issue_station_certificate(self.ctx, self.id, csr)
        # Whitepaper section 3.1.2: the chain may hold sub-CA certificates; ours has none, and
        # the root reaches the station with InstallCertificate.
        result = await self.call(call.CertificateSigned(
            certificate_chain=pki.cert_pem(cert).decode()))
        log.info("ocpp.certificate_signed", station=self.id, serial=pki.serial_hex(cert),
                 status=str(result.status))

    @on(Action.signed_firmware_status_notification)
    async def on_signed_firmware_status_notification(
            self, status: str, request_id: int | None = None, **_: Any
    ) -> call_result.SignedFirmwareStatusNotification:
        now = self.ctx.clock()
        async with transaction(self.ctx.sessionmaker) as session:
            query = select(SignedFirmwareUpdateRow).where(
                SignedFirmwareUpdateRow.station_id == self.id)
            if request_id is not None:
                query = query.where(SignedFirmwareUpdateRow.request_id == request_id)
            row = (await session.scalars(
                query.order_by(SignedFirmwareUpdateRow.id.desc()).limit(1))).first()
            if row is None and request_id is not None:  # a request made outside the hub
                row = SignedFirmwareUpdateRow(station_id=self.id, request_id=request_id,
                                              location="", status=status, requested_at=now)
                session.add(row)
            if row is not None:
                row.status, row.updated_at = status, now
        log.info("ocpp.signed_firmware_status", station=self.id, status=status,
                 request_id=request_id)
        return call_result.SignedFirmwareStatusNotification()
