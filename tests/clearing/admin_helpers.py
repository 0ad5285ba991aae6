"""Helpers for the clearing admin API tests: a running hub with the demo network, a partner
eMSP/CPO, one of our sessions ended (a priced CDR), and received partner CDRs."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from clearing.pricing import price_session
from hub.context import HubContext
from hub.db.base import transaction
from hub.db.models import PartnerRow
from hub.domain import AllowedType, AuthorizationResult, Cdr, PartyRef, TokenInfo
from hub.seed import seed_demo_network
from hub.services import charging
from hub.services.parties import upsert_partner_party
from hub.services.records import store_received_cdr

EE_EMSP = PartyRef("EE", "ELM", "EMSP")
EE_CPO = PartyRef("EE", "ELM", "CPO")
T0 = datetime(2026, 11, 10, 8, 0, tzinfo=UTC)


def loads(text: str) -> Any:
    return json.loads(text, parse_float=Decimal)


async def seed_with_partner(ctx: HubContext) -> int:
    async with transaction(ctx.sessionmaker) as s:
        await seed_demo_network(s, ctx.settings, T0)
        partner = PartnerRow(name="Elmo", endpoints=[], status="CONNECTED")
        s.add(partner)
        await s.flush()
        await upsert_partner_party(s, EE_EMSP, partner.id)
        await upsert_partner_party(s, EE_CPO, partner.id)
        return partner.id


async def charge(ctx: HubContext, kwh: int = 20, minutes: int = 30) -> str:
    """One session of the partner's token at RIGA-001-A; returns the CDR id."""
    auth = AuthorizationResult(
        AllowedType.ALLOWED, TokenInfo(EE_EMSP, "EEELM01", "RFID", "EE-ELM-1", "Elmo"),
        source="realtime")
    async with transaction(ctx.sessionmaker) as s:
        row = await charging.start_transaction(
            s, station_id="RIGA-001-A", connector=1, id_tag="EEELM01",
            meter_start_wh=Decimal(1000), timestamp=T0, authorization=auth, now=T0)
        tx, session_id = row.id, row.session_id
    end = T0 + timedelta(minutes=minutes)
    async with transaction(ctx.sessionmaker) as s:
        await charging.stop_transaction(
            s, station_id="RIGA-001-A", transaction_id=tx,
            meter_stop_wh=Decimal(1000 + kwh * 1000), timestamp=end, reason="Local",
            pricer=price_session, now=end)
    return session_id


def received_cdr_json(cdr_id: str, total_excl: str, tariff_id: str = "EE-AC",
                      kwh: str = "10") -> dict[str, Any]:
    """A partner CPO's OCPI 2.2.1 CDR: 10 kWh in one hour, from 10:00 Tallinn time."""
    return {
        "country_code": "EE", "party_id": "ELM", "id": cdr_id,
        "start_date_time": "2026-11-10T08:00:00Z", "end_date_time": "2026-11-10T09:00:00Z",
        "cdr_token": {"uid": "LVBIE0000000001", "type": "RFID", "contract_id": "LV-BIE-1",
                      "country_code": "LV", "party_id": "BIE"},
        "auth_method": "WHITELIST",
        "cdr_location": {"id": "TLN-1", "address": "Narva mnt 1", "city": "Tallinn",
                         "country": "EST", "evse_uid": "1", "evse_id": "EE*ELM*E1",
                         "connector_id": "1"},
        "currency": "EUR",
        "charging_periods": [{"start_date_time": "2026-11-10T08:00:00Z", "tariff_id": tariff_id,
                              "dimensions": [{"type": "ENERGY", "volume": kwh},
                                             {"type": "TIME", "volume": "1"}]}],
        "total_cost": {"excl_vat": total_excl},
        "total_energy": kwh, "total_time": "1", "last_updated": "2026-11-10T09:00:00Z",
    }


async def store_received(ctx: HubContext, partner_id: int, raw: dict[str, Any]) -> None:
    cdr = Cdr(
        cpo=EE_CPO, id=raw["id"], start_date_time=T0, end_date_time=T0 + timedelta(hours=1),
        session_id=None, token_uid="LVBIE0000000001", token_type="RFID",
        contract_id="LV-BIE-1", token_owner=PartyRef("LV", "BIE", "EMSP"),
        auth_method="WHITELIST", authorization_reference=None, location=raw["cdr_location"],
        currency="EUR", total_energy=Decimal(raw["total_energy"]), total_time=Decimal(1),
        total_parking_time=None, total_cost_excl_vat=Decimal(raw["total_cost"]["excl_vat"]),
        total_cost_incl_vat=None, charging_periods=tuple(raw["charging_periods"]))
    async with transaction(ctx.sessionmaker) as s:
        await store_received_cdr(s, cdr, partner_id=partner_id, raw=raw, now=T0)
