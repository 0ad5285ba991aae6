"""OCPP 1.6 security extension, central system -> station (OCPP 1.6 security whitepaper,
edition 2): CertificateSigned, InstallCertificate, GetInstalledCertificateIds,
DeleteCertificate (section 3.2 / use cases M03-M05), ExtendedTriggerMessage (section 6.1) and
SignedUpdateFirmware (section 5.2). Errors as in ``cpo_core.commands.StationCommands.send``.

    cmds = SecurityCommands(ctx)
    await cmds.install_our_root("ST-1")          # before switching a station to profile 2/3
    await cmds.request_certificate_renewal("ST-1")  # -> SignCertificate -> CertificateSigned
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from ocpp.v16 import call
from sqlalchemy import func, select

from cpo_core import pki
from cpo_core.base import format_timestamp
from cpo_core.commands import StationCommands
from hub.context import HubContext
from hub.db.base import transaction
from hub.db.models import SignedFirmwareUpdateRow

CENTRAL_SYSTEM_ROOT = "CentralSystemRootCertificate"
MANUFACTURER_ROOT = "ManufacturerRootCertificate"


class SecurityCommands:
    def __init__(self, ctx: HubContext) -> None:
        self.ctx = ctx
        self.commands = StationCommands(ctx)

    async def certificate_signed(self, station_id: str, chain_pem: str) -> dict[str, Any]:
        return await self.commands.send(station_id, call.CertificateSigned(
            certificate_chain=chain_pem))

    async def install_certificate(self, station_id: str, certificate_type: str,
                                  certificate_pem: str) -> dict[str, Any]:
        return await self.commands.send(station_id, call.InstallCertificate(
            certificate_type=certificate_type, certificate=certificate_pem))

    async def install_our_root(self, station_id: str) -> dict[str, Any]:
        """Installs our current CA as the station's CentralSystemRootCertificate."""
        ca = await asyncio.to_thread(pki.ensure_ca, pki.pki_dir(self.ctx.settings.data_dir),
                                     self.ctx.clock())
        return await self.install_certificate(station_id, CENTRAL_SYSTEM_ROOT, ca.pem.decode())

    async def installed_certificate_ids(self, station_id: str, certificate_type: str
                                        ) -> dict[str, Any]:
        return await self.commands.send(station_id, call.GetInstalledCertificateIds(
            certificate_type=certificate_type))

    async def delete_certificate(self, station_id: str, hash_data: dict[str, str]
                                 ) -> dict[str, Any]:
        """``hash_data``: CertificateHashDataType, e.g. from ``pki.certificate_hash_data`` or
        from a GetInstalledCertificateIds answer."""
        return await self.commands.send(station_id, call.DeleteCertificate(
            certificate_hash_data=hash_data))

    async def extended_trigger(self, station_id: str, requested_message: str,
                               connector_id: int | None = None) -> dict[str, Any]:
        return await self.commands.send(station_id, call.ExtendedTriggerMessage(
            requested_message=requested_message,
            connector_id=connector_id))

    async def request_certificate_renewal(self, station_id: str) -> dict[str, Any]:
        """The station sends SignCertificate with a new CSR (whitepaper use case A02)."""
        return await self.extended_trigger(station_id, "SignChargePointCertificate")

    async def signed_update_firmware(
            self, station_id: str, *, location: str, retrieve_at: datetime,
            signing_certificate: str, signature: str, install_at: datetime | None = None,
            retries: int | None = None, retry_interval: int | None = None,
            request_id: int | None = None) -> dict[str, Any]:
        """SignedUpdateFirmware; the request is recorded first (status "Sent") so status
        notifications arriving right after the answer find it."""
        now = self.ctx.clock()
        async with transaction(self.ctx.sessionmaker) as session:
            if request_id is None:
                top = await session.scalar(select(func.max(SignedFirmwareUpdateRow.request_id))
                                           .where(SignedFirmwareUpdateRow.station_id
                                                  == station_id))
                request_id = (top or 0) + 1
            row = SignedFirmwareUpdateRow(station_id=station_id, request_id=request_id,
                                          location=location, status="Sent",
                                          requested_at=now, updated_at=now)
            session.add(row)
            await session.flush()
            row_pk = row.id
        firmware: dict[str, str] = {
            "location": location, "retrieveDateTime": format_timestamp(retrieve_at),
            "signingCertificate": signing_certificate, "signature": signature}
        if install_at is not None:
            firmware["installDateTime"] = format_timestamp(install_at)
        try:
            answer = await self.commands.send(station_id, call.SignedUpdateFirmware(
                request_id=request_id, firmware=firmware, retries=retries,
                retry_interval=retry_interval))
        except Exception:
            await self._settle(row_pk, "NotSent")
            raise
        await self._settle(row_pk, str(answer.get("status")))
        return {**answer, "requestId": request_id}

    async def _settle(self, row_pk: int, status: str) -> None:
        """The answer's status, unless a status notification got there first."""
        async with transaction(self.ctx.sessionmaker) as session:
            row = await session.get(SignedFirmwareUpdateRow, row_pk)
            if row is not None and row.status == "Sent":
                row.status, row.updated_at = status, self.ctx.clock()
