"""The demo network: what `make run` and `hub demo` start from when the database is empty.

Our CPO (if we run one): tariff LV-STANDARD (0.30 EUR/kWh + 1.00 EUR start fee, excl. VAT),
a location in Riga with two stations. Our eMSP (if we run one): one driver token.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.db.models import LocationRow, TokenRow
from hub.domain import PartyRef, TokenInfo
from hub.services.network import add_station, create_location, upsert_simple_tariff
from hub.services.parties import ensure_own_parties
from hub.services.tokens import upsert_token
from hub.settings import Settings

DEMO_STATION_PASSWORD = "demo-secret"
DEMO_STATIONS = ("RIGA-001-A", "RIGA-001-B")


def demo_token_uid(country_code: str, party_id: str) -> str:
    """An idTag-sized (<= 20 chars) uid for the demo driver of an eMSP."""
    return f"{country_code}{party_id}0000000001".upper()


async def seed_demo_network(session: AsyncSession, settings: Settings, now: datetime) -> bool:
    """Seeds when there is nothing yet; returns whether it did."""
    await ensure_own_parties(session, settings)
    has_locations = await session.scalar(select(func.count()).select_from(LocationRow))
    has_tokens = await session.scalar(select(func.count()).select_from(TokenRow))
    if has_locations or has_tokens:
        return False
    if settings.own_party("CPO") is not None:
        tariff = await upsert_simple_tariff(session, "LV-STANDARD", currency="EUR",
                                            energy_price=Decimal("0.30"),
                                            start_fee=Decimal("1.00"), now=now)
        await create_location(
            session, "RIGA-001", name="Riga, Brivibas iela 1", address="Brivibas iela 1",
            city="Riga", postal_code="LV-1010", country="LVA", latitude="56.951000",
            longitude="24.113000", time_zone="Europe/Riga", tariff=tariff, now=now)
        for station_id in DEMO_STATIONS:
            await add_station(session, station_id, password=DEMO_STATION_PASSWORD,
                              location_id="RIGA-001", connectors=2, now=now)
    emsp = settings.own_party("EMSP")
    if emsp is not None:
        uid = demo_token_uid(emsp.country_code, emsp.party_id)
        await upsert_token(session, TokenInfo(
            owner=PartyRef(emsp.country_code, emsp.party_id, "EMSP"), uid=uid, type="RFID",
            contract_id=f"{emsp.country_code}-{emsp.party_id}-C00000001",
            issuer=emsp.name, valid=True, whitelist="ALLOWED"), now)
    return True
