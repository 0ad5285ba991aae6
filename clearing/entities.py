"""Legal entities, the party -> entity mapping and station/location owners (issue 6).

A legal entity issues and receives invoices and payments (``legal_entities``). Each roaming
party belongs to one (``party_entities``). Owners of locations and stations are dated
assignments (``owner_assignments``): the latest at or before a date wins, and a station's own
assignment beats its location's. Services never commit (the caller's unit of work does).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from clearing.finance.documents import LegalParty
from clearing.money import MINOR_UNITS
from clearing.tax import TaxParty
from hub.db.models import LocationRow, PartyRow, StationRow
from hub.db.models_clearing_ref import LegalEntityRow, OwnerAssignmentRow, PartyEntityRow
from hub.domain import Conflict, InvalidInput, NotFound

OwnerScope = Literal["LOCATION", "STATION"]
OWNER_SCOPES: tuple[str, ...] = ("LOCATION", "STATION")
# Fields a caller may set, with their maximum length (the column's).
ENTITY_FIELDS: dict[str, int] = {
    "name": 255, "country": 2, "vat_id": 32, "registration_id": 32, "street": 255,
    "city": 128, "postal_code": 16, "email": 255, "iban": 34, "bic": 11, "peppol_id": 64,
    "currency": 3}
REQUIRED = ("name", "country")


def legal_party(row: LegalEntityRow) -> LegalParty:
    return LegalParty(
        name=row.name, country=row.country, vat_id=row.vat_id,
        registration_id=row.registration_id, street=row.street, city=row.city,
        postal_code=row.postal_code, email=row.email, iban=row.iban, bic=row.bic,
        peppol_id=row.peppol_id)


def tax_party(row: LegalEntityRow) -> TaxParty:
    """The entity as a party of ``clearing.tax.determine`` (always a business)."""
    return TaxParty(row.country, row.vat_id, business=True)


def _clean(data: dict[str, Any], *, creating: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        if key in ("code", "is_own", "id", "created_at", "updated_at"):
            continue
        if key not in ENTITY_FIELDS:
            raise InvalidInput(f"{key}: unknown field")
        if value is not None and not isinstance(value, str):
            raise InvalidInput(f"{key}: must be a string")
        if value is not None and len(value) > ENTITY_FIELDS[key]:
            raise InvalidInput(f"{key}: at most {ENTITY_FIELDS[key]} characters")
        out[key] = value.strip() if isinstance(value, str) else None
    for key in REQUIRED:
        if (creating and not out.get(key)) or (key in out and not out[key]):
            raise InvalidInput(f"{key}: is required")
    if out.get("country") is not None:
        if len(out["country"]) != 2 or not out["country"].isalpha():
            raise InvalidInput("country: ISO 3166-1 alpha-2, e.g. LV")
        out["country"] = out["country"].upper()
    if "currency" in out:
        ccy = (out["currency"] or "").upper()
        if ccy not in MINOR_UNITS:
            raise InvalidInput(f"currency: one of {', '.join(MINOR_UNITS)}")
        out["currency"] = ccy
    if out.get("iban"):
        out["iban"] = out["iban"].replace(" ", "").upper()
    return out


async def get_entity(session: AsyncSession, code: str) -> LegalEntityRow:
    row = (await session.scalars(select(LegalEntityRow).where(
        LegalEntityRow.code == code))).first()
    if row is None:
        raise NotFound(f"unknown legal entity {code!r}")
    return row


async def create_entity(session: AsyncSession, code: str, data: dict[str, Any], *,
                        is_own: bool = False) -> LegalEntityRow:
    if not code or len(code) > 32:
        raise InvalidInput("code: 1 to 32 characters")
    if (await session.scalars(select(LegalEntityRow.id).where(
            LegalEntityRow.code == code))).first() is not None:
        raise Conflict(f"legal entity {code!r} exists")
    fields = _clean(data, creating=True)
    fields.setdefault("currency", "EUR")
    row = LegalEntityRow(code=code, is_own=is_own, **fields)
    session.add(row)
    await session.flush()
    return row


async def update_entity(session: AsyncSession, code: str, data: dict[str, Any], *,
                        is_own: bool | None = None) -> LegalEntityRow:
    row = await get_entity(session, code)
    for key, value in _clean(data, creating=False).items():
        setattr(row, key, value)
    if is_own is not None:
        row.is_own = is_own
    await session.flush()
    return row


async def list_entities(session: AsyncSession) -> list[LegalEntityRow]:
    return list((await session.scalars(select(LegalEntityRow).order_by(
        LegalEntityRow.code))).all())


async def delete_entity(session: AsyncSession, code: str) -> None:
    """Only an unreferenced entity can go (party mappings, owners and rules RESTRICT; ledger
    lines have no foreign key since migration 0017, so they are looked up here; clearing rows
    and entries between two entities also have their agreement, which RESTRICTs)."""
    from hub.db.models_clearing import JournalLineRow
    from hub.db.models_clearing_ref import SplitRuleRow

    row = await get_entity(session, code)
    for model, col in ((PartyEntityRow, PartyEntityRow.entity_pk),
                       (OwnerAssignmentRow, OwnerAssignmentRow.entity_pk),
                       (SplitRuleRow, SplitRuleRow.entity_pk),
                       (JournalLineRow, JournalLineRow.entity_pk)):
        if (await session.scalars(select(col).where(col == row.id).limit(1))).first():
            raise Conflict(f"legal entity {code!r} is still used ({model.__tablename__})")
    await session.delete(row)
    await session.flush()


# -- parties -> entities -------------------------------------------------------------------------


async def entity_of_party(session: AsyncSession, party_pk: int) -> LegalEntityRow | None:
    return (await session.scalars(
        select(LegalEntityRow).join(PartyEntityRow, PartyEntityRow.entity_pk == LegalEntityRow.id)
        .where(PartyEntityRow.party_pk == party_pk))).first()


async def find_party(session: AsyncSession, country_code: str, party_id: str, role: str
                     ) -> PartyRow:
    row = (await session.scalars(select(PartyRow).where(
        PartyRow.country_code == country_code.upper(), PartyRow.party_id == party_id.upper(),
        PartyRow.role == role.upper()))).first()
    if row is None:
        raise NotFound(f"unknown party {country_code}*{party_id} ({role})")
    return row


async def map_party(session: AsyncSession, party_pk: int, entity_code: str) -> PartyEntityRow:
    """Set (or change) the legal entity of a party."""
    entity = await get_entity(session, entity_code)
    if await session.get(PartyRow, party_pk) is None:
        raise NotFound(f"unknown party {party_pk}")
    row = await session.get(PartyEntityRow, party_pk)
    if row is None:
        row = PartyEntityRow(party_pk=party_pk, entity_pk=entity.id)
        session.add(row)
    else:
        row.entity_pk = entity.id
    await session.flush()
    return row


@dataclass(frozen=True)
class PartyMapping:
    party_pk: int
    party: str  # "EE*ELM (EMSP)"
    entity_code: str


async def list_party_mappings(session: AsyncSession) -> list[PartyMapping]:
    rows = (await session.execute(
        select(PartyRow, LegalEntityRow.code)
        .join(PartyEntityRow, PartyEntityRow.party_pk == PartyRow.id)
        .join(LegalEntityRow, LegalEntityRow.id == PartyEntityRow.entity_pk)
        .order_by(PartyRow.id))).all()
    return [PartyMapping(p.id, f"{p.country_code}*{p.party_id} ({p.role})", code)
            for p, code in rows]


# -- owners ---------------------------------------------------------------------------------------


async def assign_owner(session: AsyncSession, scope: str, target_id: str, entity_code: str,
                       valid_from: date) -> OwnerAssignmentRow:
    """Owner of a location or station from ``valid_from`` on (same date again: replaced)."""
    if scope not in OWNER_SCOPES:
        raise InvalidInput(f"scope: one of {', '.join(OWNER_SCOPES)}")
    if not target_id or len(target_id) > 64:
        raise InvalidInput("target_id: 1 to 64 characters")
    entity = await get_entity(session, entity_code)
    row = (await session.scalars(select(OwnerAssignmentRow).where(
        OwnerAssignmentRow.scope == scope, OwnerAssignmentRow.target_id == target_id,
        OwnerAssignmentRow.valid_from == valid_from))).first()
    if row is None:
        row = OwnerAssignmentRow(scope=scope, target_id=target_id, entity_pk=entity.id,
                                 valid_from=valid_from)
        session.add(row)
    else:
        row.entity_pk = entity.id
    await session.flush()
    return row


async def list_owner_assignments(session: AsyncSession
                                 ) -> list[tuple[OwnerAssignmentRow, str]]:
    rows = (await session.execute(
        select(OwnerAssignmentRow, LegalEntityRow.code)
        .join(LegalEntityRow, LegalEntityRow.id == OwnerAssignmentRow.entity_pk)
        .order_by(OwnerAssignmentRow.scope, OwnerAssignmentRow.target_id,
                  OwnerAssignmentRow.valid_from))).all()
    return [(row, code) for row, code in rows]


async def delete_owner_assignment(session: AsyncSession, assignment_id: int) -> None:
    row = await session.get(OwnerAssignmentRow, assignment_id)
    if row is None:
        raise NotFound(f"unknown owner assignment {assignment_id}")
    await session.delete(row)
    await session.flush()


async def _assigned(session: AsyncSession, scope: str, target_id: str, on: date | None
                    ) -> LegalEntityRow | None:
    q = (select(LegalEntityRow)
         .join(OwnerAssignmentRow, OwnerAssignmentRow.entity_pk == LegalEntityRow.id)
         .where(OwnerAssignmentRow.scope == scope, OwnerAssignmentRow.target_id == target_id)
         .order_by(OwnerAssignmentRow.valid_from.desc()).limit(1))
    if on is not None:
        q = q.where(OwnerAssignmentRow.valid_from <= on)
    return (await session.scalars(q)).first()


async def owner_of(session: AsyncSession, *, location_id: str | None, station_id: str | None,
                   on: date | None = None) -> LegalEntityRow | None:
    """The owner of a station (its own assignment) or else of its location, on ``on`` (None:
    the latest assignment). A station's location is looked up when not given."""
    if station_id:
        owner = await _assigned(session, "STATION", station_id, on)
        if owner is not None:
            return owner
        if location_id is None:
            location_id = (await session.scalars(
                select(LocationRow.location_id).join(
                    StationRow, StationRow.location_pk == LocationRow.id)
                .where(StationRow.id == station_id))).first()
    if location_id:
        return await _assigned(session, "LOCATION", location_id, on)
    return None
