"""Tariffs as the admin edits them (full OCPI 2.2.1 tariffs, ours and partners'), roaming
agreements, re-pricing results and price models: persistence only.

The validation and the pricing live in ``clearing`` (the admin router there calls these
functions with values it has already validated): the kernel never imports clearing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.db.models import (
    CdrRepricingRow,
    CdrRow,
    LocationRow,
    PartyRow,
    PriceModelRow,
    RoamingAgreementRow,
    TariffRow,
)
from hub.db.models_ocpi_commands import OcpiTariffTombstoneRow
from hub.domain import Conflict, InvalidInput, NotFound, TariffPrice
from hub.services.parties import find_party
from hub.services.price_links import detach_model

OWN, PARTNER = "own", "partner"


@dataclass(frozen=True, slots=True)
class TariffFields:
    """What the row keeps beside the OCPI JSON (already validated by the caller)."""

    currency: str
    type: str | None = None
    min_price: TariffPrice | None = None
    max_price: TariffPrice | None = None
    start_date_time: datetime | None = None
    end_date_time: datetime | None = None
    alt_text: str | None = None


async def tariff_party(session: AsyncSession, country_code: str, party_id: str,
                       source: str) -> PartyRow:
    """Our own CPO for our tariffs; a known partner CPO (not ours) for a partner's tariff."""
    row = await find_party(session, country_code, party_id, "CPO")
    if row is None:
        raise NotFound(f"unknown CPO {country_code}*{party_id}")
    if (source == OWN) != row.is_own:
        raise InvalidInput(f"country_code/party_id: {country_code}*{party_id} is "
                           f"{'not ' if source == OWN else ''}one of our own CPOs")
    return row


async def find_tariff_row(session: AsyncSession, tariff_id: str, *, source: str = OWN,
                          party_pk: int | None = None) -> TariffRow | None:
    stmt = select(TariffRow).where(TariffRow.tariff_id == tariff_id, TariffRow.source == source)
    if party_pk is not None:
        stmt = stmt.where(TariffRow.party_pk == party_pk)
    return (await session.scalars(stmt.order_by(TariffRow.id))).first()


async def save_tariff(session: AsyncSession, party: PartyRow, tariff_id: str,
                      ocpi: dict[str, Any], fields: TariffFields, *, source: str,
                      now: datetime, create_only: bool = False) -> tuple[TariffRow, bool]:
    """Insert or replace a tariff (unique per party and id). Returns (row, created)."""
    if source == OWN:  # issue 5: saved again: no longer deleted at our partners
        await session.execute(delete(OcpiTariffTombstoneRow).where(
            OcpiTariffTombstoneRow.country_code == party.country_code,
            OcpiTariffTombstoneRow.party_id == party.party_id,
            OcpiTariffTombstoneRow.tariff_id == tariff_id))
    row = (await session.scalars(select(TariffRow).where(
        TariffRow.party_pk == party.id, TariffRow.tariff_id == tariff_id))).first()
    created = row is None
    if row is None:
        row = TariffRow(party_pk=party.id, tariff_id=tariff_id, source=source)
        session.add(row)
    elif create_only:
        raise Conflict(f"tariff {tariff_id} exists; PUT /admin/tariffs/{tariff_id} replaces it")
    elif row.source != source:
        raise Conflict(f"tariff {tariff_id} of {party.country_code}*{party.party_id} is a "
                       f"{row.source} tariff")
    row.currency, row.type, row.alt_text = fields.currency, fields.type, fields.alt_text
    row.elements = list(ocpi.get("elements") or [])
    row.ocpi = {**ocpi, "last_updated": now.isoformat()}
    row.min_price_excl_vat = fields.min_price.excl_vat if fields.min_price else None
    row.min_price_incl_vat = fields.min_price.incl_vat if fields.min_price else None
    row.max_price_excl_vat = fields.max_price.excl_vat if fields.max_price else None
    row.max_price_incl_vat = fields.max_price.incl_vat if fields.max_price else None
    row.start_date_time, row.end_date_time = fields.start_date_time, fields.end_date_time
    row.last_updated = now
    await session.flush()
    return row, created


async def list_tariff_rows(session: AsyncSession, source: str | None = None
                           ) -> list[tuple[TariffRow, PartyRow]]:
    stmt = select(TariffRow, PartyRow).join(PartyRow, PartyRow.id == TariffRow.party_pk)
    if source is not None:
        stmt = stmt.where(TariffRow.source == source)
    return [(t, p) for t, p in (await session.execute(stmt.order_by(TariffRow.id))).all()]


async def delete_tariff(session: AsyncSession, row: TariffRow,
                        now: datetime | None = None) -> None:
    """Delete a tariff; one of our own leaves a tombstone (issue 5: ``ocpi.push_own`` sends
    OCPI mod_tariffs Receiver DELETE to the partners that receive our tariffs)."""
    used = (await session.scalars(select(LocationRow.location_id).where(
        LocationRow.tariff_pk == row.id))).first()
    if used is not None:
        raise Conflict(f"tariff {row.tariff_id} is used by location {used}")
    party = await session.get(PartyRow, row.party_pk)
    if row.source == OWN and party is not None and party.is_own:
        await _tombstone(session, party, row.tariff_id, now or datetime.now(UTC))
    for rep in (await session.scalars(select(CdrRepricingRow).where(
            CdrRepricingRow.tariff_pk == row.id))).all():
        rep.tariff_pk = None
    await session.delete(row)
    await session.flush()


async def _tombstone(session: AsyncSession, party: PartyRow, tariff_id: str,
                     now: datetime) -> None:
    stone = (await session.scalars(select(OcpiTariffTombstoneRow).where(
        OcpiTariffTombstoneRow.country_code == party.country_code,
        OcpiTariffTombstoneRow.party_id == party.party_id,
        OcpiTariffTombstoneRow.tariff_id == tariff_id))).first()
    if stone is None:
        session.add(OcpiTariffTombstoneRow(country_code=party.country_code,
                                           party_id=party.party_id, tariff_id=tariff_id,
                                           deleted_at=now))
    else:
        stone.deleted_at = now


# -- CDRs by their OCPI id -----------------------------------------------------------------------


async def find_cdr_row(session: AsyncSession, cdr_id: str, cpo: str | None = None) -> CdrRow:
    """A CDR by its OCPI id; ``cpo`` ("CC*PID") when several CPOs used the same id."""
    stmt = select(CdrRow).where(CdrRow.cdr_id == cdr_id)
    if cpo:
        country, _, party = cpo.replace("-", "*").partition("*")
        row = await find_party(session, country, party, "CPO")
        stmt = stmt.where(CdrRow.cpo_party_pk == (row.id if row else -1))
    rows = (await session.scalars(stmt.order_by(CdrRow.id))).all()
    if not rows:
        raise NotFound(f"unknown CDR {cdr_id}")
    if len(rows) > 1:
        raise Conflict(f"several CPOs have a CDR {cdr_id}: add ?cpo=CC*PID")
    return rows[0]


async def location_time_zone(session: AsyncSession, cpo_party_pk: int,
                             location_id: str | None) -> str | None:
    if not location_id:
        return None
    return (await session.scalars(select(LocationRow.time_zone).where(
        LocationRow.party_pk == cpo_party_pk, LocationRow.location_id == location_id))).first()


# -- roaming agreements and re-pricing results ---------------------------------------------------


async def set_agreement(session: AsyncSession, partner_id: int, tolerance: Decimal,
                        time_zone: str | None, now: datetime) -> RoamingAgreementRow:
    if tolerance < 0:
        raise InvalidInput("tolerance: must not be negative")
    row = (await session.scalars(select(RoamingAgreementRow).where(
        RoamingAgreementRow.partner_id == partner_id))).first()
    if row is None:
        row = RoamingAgreementRow(partner_id=partner_id)
        session.add(row)
    row.tolerance, row.time_zone, row.updated_at = tolerance, time_zone, now
    await session.flush()
    return row


async def agreement_for(session: AsyncSession, partner_id: int | None
                        ) -> RoamingAgreementRow | None:
    if partner_id is None:
        return None
    return (await session.scalars(select(RoamingAgreementRow).where(
        RoamingAgreementRow.partner_id == partner_id))).first()


async def list_agreements(session: AsyncSession) -> list[RoamingAgreementRow]:
    return list((await session.scalars(select(RoamingAgreementRow)
                                       .order_by(RoamingAgreementRow.partner_id))).all())


async def received_cdr_rows(session: AsyncSession, *, only_new: bool,
                            cdr_pks: list[int] | None = None) -> list[CdrRow]:
    stmt = select(CdrRow).where(CdrRow.source == "received")
    if cdr_pks is not None:
        stmt = stmt.where(CdrRow.id.in_(cdr_pks))
    if only_new:
        stmt = stmt.where(CdrRow.id.not_in(select(CdrRepricingRow.cdr_pk)))
    return list((await session.scalars(stmt.order_by(CdrRow.id))).all())


async def partner_tariffs(session: AsyncSession, party_pk: int) -> dict[str, TariffRow]:
    rows = (await session.scalars(select(TariffRow).where(
        TariffRow.party_pk == party_pk, TariffRow.source == PARTNER))).all()
    return {r.tariff_id: r for r in rows}


async def store_repricing(session: AsyncSession, cdr_pk: int, values: dict[str, Any]
                          ) -> CdrRepricingRow:
    """Keep the last re-pricing of a CDR (a re-run replaces it)."""
    row = (await session.scalars(select(CdrRepricingRow).where(
        CdrRepricingRow.cdr_pk == cdr_pk))).first()
    if row is None:
        row = CdrRepricingRow(cdr_pk=cdr_pk)
        session.add(row)
    for key, value in values.items():
        setattr(row, key, value)
    await session.flush()
    return row


async def repricing_for(session: AsyncSession, cdr_pk: int) -> CdrRepricingRow | None:
    return (await session.scalars(select(CdrRepricingRow).where(
        CdrRepricingRow.cdr_pk == cdr_pk))).first()


async def list_repricings(session: AsyncSession, status: str | None = None, limit: int = 100
                          ) -> list[tuple[CdrRepricingRow, CdrRow]]:
    stmt = select(CdrRepricingRow, CdrRow).join(CdrRow, CdrRow.id == CdrRepricingRow.cdr_pk)
    if status:
        stmt = stmt.where(CdrRepricingRow.status == status.upper())
    stmt = stmt.order_by(CdrRepricingRow.id.desc()).limit(min(limit, 1000))
    return [(r, c) for r, c in (await session.execute(stmt)).all()]


# -- price models ---------------------------------------------------------------------------------


async def save_price_model(session: AsyncSession, model_id: str, kind: str,
                           data: dict[str, Any], now: datetime) -> tuple[PriceModelRow, bool]:
    row = (await session.scalars(select(PriceModelRow).where(
        PriceModelRow.model_id == model_id))).first()
    created = row is None
    if row is None:
        row = PriceModelRow(model_id=model_id, created_at=now)
        session.add(row)
    row.kind, row.data, row.updated_at = kind, data, now
    await session.flush()
    return row, created


async def get_price_model(session: AsyncSession, model_id: str) -> PriceModelRow:
    row = (await session.scalars(select(PriceModelRow).where(
        PriceModelRow.model_id == model_id))).first()
    if row is None:
        raise NotFound(f"unknown price model {model_id}")
    return row


async def list_price_models(session: AsyncSession) -> list[PriceModelRow]:
    return list((await session.scalars(select(PriceModelRow).order_by(PriceModelRow.id))).all())


async def delete_price_model(session: AsyncSession, model_id: str) -> None:
    row = await get_price_model(session, model_id)
    await detach_model(session, row.id)
    await session.delete(row)
    await session.flush()
