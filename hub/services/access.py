"""Access and vend modes of our stations (docs/ocpp.md, "Access and vend modes").

- ``PUBLIC`` (default): any token the normal rules allow.
- ``PRIVATE``: only tokens whose ``group_id`` (OCPI 2.2.1 mod_tokens Token.group_id) is in the
  station's ``allowed_groups``; every other token is NOT_ALLOWED before any real-time call.
- Access code: an idTag equal to the station's code (keypad stations send the code as the
  idTag) is allowed; only its SHA-256 is stored.
- Free vend / autostart: the station's ``free_vend_id_tag`` is always allowed there. The OCPP
  edge starts a transaction with it when a car is plugged in; the session is billed to that
  tag, i.e. to the outlet owner who holds it (a token of the owner's contract).
- Idle standby stop: ``idle_stop_minutes`` set -> an active session whose energy register has
  not grown for that long (by the station's meter timestamps) is stopped remotely.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.db.models import ChargingSessionRow, MeterValueRow, StationRow
from hub.domain import AllowedType, AuthorizationResult, InvalidInput, NotFound, TokenInfo

PUBLIC, PRIVATE = "PUBLIC", "PRIVATE"
ENERGY = "Energy.Active.Import.Register"
IDLE_STOP_FLAG = "idle_stop_requested"
FREE_VEND_FLAG = "free_vend"


def hash_access_code(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


async def set_station_access(
    session: AsyncSession, station_id: str, *, mode: str = PUBLIC,
    allowed_groups: list[str] | None = None, access_code: str | None = None,
    free_vend_id_tag: str | None = None, idle_stop_minutes: int | None = None,
) -> StationRow:
    """Replace the station's access and vend settings (None clears a setting)."""
    row = await session.get(StationRow, station_id)
    if row is None:
        raise NotFound(f"unknown station {station_id}")
    mode = mode.upper()
    if mode not in (PUBLIC, PRIVATE):
        raise InvalidInput("access mode is PUBLIC or PRIVATE")
    if idle_stop_minutes is not None and idle_stop_minutes < 1:
        raise InvalidInput("idle_stop_minutes is at least 1")
    if free_vend_id_tag is not None and not 0 < len(free_vend_id_tag) <= 20:
        raise InvalidInput("free_vend_id_tag is 1-20 characters (OCPP 1.6 IdToken)")
    row.access_mode, row.allowed_groups = mode, list(allowed_groups or [])
    row.access_code_hash = hash_access_code(access_code) if access_code else None
    row.free_vend_id_tag, row.idle_stop_minutes = free_vend_id_tag, idle_stop_minutes
    return row


def access_json(row: StationRow) -> dict[str, object]:
    return {"station_id": row.id, "mode": row.access_mode,
            "allowed_groups": list(row.allowed_groups or []),
            "access_code": row.access_code_hash is not None,
            "free_vend_id_tag": row.free_vend_id_tag,
            "idle_stop_minutes": row.idle_stop_minutes}


class StationAccess(Protocol):
    """A station's access settings (a StationRow, or hub.services.network.StationFacts)."""

    @property
    def free_vend_id_tag(self) -> str | None: ...
    @property
    def access_code_hash(self) -> str | None: ...
    @property
    def access_mode(self) -> str: ...
    @property
    def allowed_groups(self) -> Sequence[str] | None: ...


def station_verdict(station: StationAccess, uid: str, token: TokenInfo | None
                    ) -> AuthorizationResult | None:
    """The station's own say on ``uid``, or None to decide as usual (tokens.authorize)."""
    if station.free_vend_id_tag and uid == station.free_vend_id_tag:
        return AuthorizationResult(AllowedType.ALLOWED, token, source="local",
                                   info="free vend: billed to the outlet owner")
    if station.access_code_hash and hmac.compare_digest(
            hash_access_code(uid), station.access_code_hash):
        return AuthorizationResult(AllowedType.ALLOWED, token, source="local",
                                   info="station access code")
    if station.access_mode == PRIVATE and (
            token is None or token.group_id not in (station.allowed_groups or [])):
        return AuthorizationResult(AllowedType.NOT_ALLOWED, token, source="local",
                                   info="private station: token not in an allowed group")
    return None


def is_free_vend(station: StationRow | None, id_tag: str) -> bool:
    return bool(station is not None and station.free_vend_id_tag
                and station.free_vend_id_tag == id_tag)


def _wh(row: MeterValueRow) -> Decimal:
    return row.value * 1000 if row.unit.lower() == "kwh" else row.value


async def idle_sessions(session: AsyncSession) -> list[ChargingSessionRow]:
    """Active sessions on stations with idle stop whose energy register has not grown for the
    station's ``idle_stop_minutes`` (measured between the station's own meter timestamps, from
    the last increase - or the start - to the latest sample)."""
    candidates = (await session.execute(
        select(ChargingSessionRow, StationRow.idle_stop_minutes)
        .join(StationRow, StationRow.id == ChargingSessionRow.station_id)
        .where(ChargingSessionRow.status == "ACTIVE", StationRow.idle_stop_minutes.is_not(None))
    )).all()
    idle = []
    for row, minutes in candidates:
        if IDLE_STOP_FLAG in (row.flags or []):
            continue
        samples = (await session.scalars(select(MeterValueRow).where(
            MeterValueRow.session_pk == row.id, MeterValueRow.measurand == ENERGY,
            MeterValueRow.phase.is_(None)).order_by(MeterValueRow.timestamp))).all()
        if not samples:
            continue
        top, since = row.meter_start, row.start_date_time
        for s in samples:
            wh = _wh(s)
            if top is None or wh > top:
                top, since = wh, s.timestamp
        if samples[-1].timestamp - since >= timedelta(minutes=minutes or 0):
            idle.append(row)
    return idle


def flag_session(row: ChargingSessionRow, flag: str, now: datetime) -> None:
    if flag not in (row.flags or []):
        row.flags = [*(row.flags or []), flag]
        row.last_updated = now
