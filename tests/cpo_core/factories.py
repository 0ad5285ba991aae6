"""Seeding our charging network and tokens through hub services (no raw rows)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from decimal import Decimal

from hub.context import HubContext
from hub.db.base import transaction
from hub.domain import NotFound, PartyRef, TokenInfo
from hub.services import network, tokens

OWN_EMSP = PartyRef("LV", "BIE", "EMSP")
PASSWORD = "station-secret"


async def seed_station(
    ctx: HubContext,
    station_id: str = "RIGA-001",
    *,
    password: str | None = PASSWORD,
    location_id: str = "LOC-RIGA-1",
    connectors: int = 2,
) -> None:
    """A tariff, a location using it (created once) and a station at that location."""
    now = ctx.clock()
    async with transaction(ctx.sessionmaker) as session:
        try:
            await network.get_location(session, location_id)
        except NotFound:
            tariff = await network.upsert_simple_tariff(
                session, "AC-STANDARD", currency="EUR", energy_price=Decimal("0.30"),
                start_fee=Decimal("0.50"), now=now)
            await network.create_location(
                session, location_id, name="Riga centre", address="Brivibas iela 1",
                city="Riga", postal_code="LV-1010", country="LVA", latitude="56.949600",
                longitude="24.105200", time_zone="Europe/Riga", tariff=tariff, now=now)
        await network.add_station(session, station_id, password=password,
                                  location_id=location_id, connectors=connectors, now=now)


async def seed_token(ctx: HubContext, uid: str = "04A1B2C3D4", *, valid: bool = True) -> None:
    """A token of our own eMSP (decided locally, no real-time call)."""
    async with transaction(ctx.sessionmaker) as session:
        await tokens.upsert_token(session, TokenInfo(
            owner=OWN_EMSP, uid=uid, type="RFID", contract_id=f"LV-BIE-C{uid[-6:]}",
            issuer="Latvian charging network", valid=valid, whitelist="ALLOWED"), ctx.clock())


async def eventually(check: Callable[[], Awaitable[bool]], attempts: int = 1500) -> bool:
    """Polls an async condition (state that changes after a socket closes); no timing asserted."""
    for _ in range(attempts):
        if await check():
            return True
        await asyncio.sleep(0.02)
    return False
