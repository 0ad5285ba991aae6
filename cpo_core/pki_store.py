"""What the operator queries about our PKI, in the database: issued station certificates and
revoked serials (checked at every profile-3 connection, before the WebSocket upgrade)."""

from __future__ import annotations

from datetime import datetime

from cryptography import x509
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cpo_core.pki import cert_pem, common_name, normalize_serial, serial_hex
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
