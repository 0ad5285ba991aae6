"""What the operator queries about our PKI, in the database: issued station certificates and
revoked serials (checked at every profile-3 connection, before the WebSocket upgrade)."""

from __future__ import annotations

import asyncio
from datetime import datetime

from cryptography import x509
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cpo_core import pki
from cpo_core.pki import cert_pem, common_name, normalize_serial, serial_hex
from hub.context import HubContext
from hub.db.base import transaction
from hub.db.models import IssuedCertificateRow, RevokedSerialRow


async def record_issued(session: AsyncSession, cert: x509.Certificate, *, kind: str,
                        station_id: str | None, now: datetime) -> IssuedCertificateRow:
    row = IssuedCertificateRow(
        serial=serial_hex(cert), kind=kind, station_id=station_id,
        subject=common_name(cert.subject) or "", issuer=common_name(cert.issuer) or "",
        not_before=cert.not_valid_before_utc, not_after=cert.not_valid_after_utc,
        pem=cert_pem(cert).decode(), created_at=now)
    session.add(row)
    await session.flush()
    return row


async def revoke(session: AsyncSession, serial: str, now: datetime,
                 reason: str | None = None) -> bool:
    """Revoke a serial (ours or not). Returns False if it was already revoked."""
    serial = normalize_serial(serial)
    if await session.get(RevokedSerialRow, serial) is not None:
        return False
    session.add(RevokedSerialRow(serial=serial, reason=reason, revoked_at=now))
    issued = (await session.scalars(select(IssuedCertificateRow).where(
        IssuedCertificateRow.serial == serial))).first()
    if issued is not None:
        issued.revoked_at = now
    await session.flush()
    return True


async def is_revoked(session: AsyncSession, serial: str) -> bool:
    return await session.get(RevokedSerialRow, normalize_serial(serial)) is not None


async def station_certificates(session: AsyncSession, station_id: str
                               ) -> list[IssuedCertificateRow]:
    return list(await session.scalars(
        select(IssuedCertificateRow).where(IssuedCertificateRow.station_id == station_id)
        .order_by(IssuedCertificateRow.id)))


async def issue_station_certificate(ctx: HubContext, station_id: str, csr: str
                                    ) -> x509.Certificate:
    """Sign a station's (already checked) CSR with our CA and record the certificate: the
    common part of OCPP 1.6 and 2.0.1 SignCertificate handling."""
    now = ctx.clock()
    ca = await asyncio.to_thread(pki.ensure_ca, pki.pki_dir(ctx.settings.data_dir), now)
    cert = pki.sign_csr(ca, csr, station_id, now)
    async with transaction(ctx.sessionmaker) as session:
        await record_issued(session, cert, kind="station", station_id=station_id, now=now)
    return cert
