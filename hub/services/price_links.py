"""Where contract-level price models apply (issue 4): links from a price model to a location,
a station, a token group or a token contract, and the choice for one of our sessions.

Most specific wins: CONTRACT (the token's contract_id) > GROUP (the token's group_id) >
STATION > LOCATION. No link: the session is priced by its location's OCPI tariff as before.
Persistence only: the model's validation and pricing live in clearing (the kernel calls the
CdrPricer with the chosen model in ``SessionFacts.price_model``).
"""

from __future__ import annotations

import copy
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.db.changes import track
from hub.db.models import (
    ChargingSessionRow,
    LocationRow,
    MeterValueRow,
    PriceModelLinkRow,
    PriceModelRow,
    StationRow,
    TokenRow,
)
from hub.db.refcache import cached
from hub.domain import InvalidInput, NotFound, PriceModelRef
from hub.services.parties import own_party

CONTRACT, GROUP, STATION, LOCATION = "CONTRACT", "GROUP", "STATION", "LOCATION"
SCOPES = (CONTRACT, GROUP, STATION, LOCATION)  # most specific first
ENERGY_REGISTER = "Energy.Active.Import.Register"


async def _model(session: AsyncSession, model_id: str) -> PriceModelRow:
    row = (await session.scalars(select(PriceModelRow).where(
        PriceModelRow.model_id == model_id))).first()
    if row is None:
        raise NotFound(f"unknown price model {model_id}")
    return row


async def _check_target(session: AsyncSession, scope: str, target: str) -> None:
    if scope == LOCATION:
        cpo = await own_party(session, "CPO")
        found = (await session.scalars(select(LocationRow.id).where(
            LocationRow.party_pk == cpo.id, LocationRow.location_id == target))).first()
        if found is None:
            raise NotFound(f"unknown location {target}")
    elif scope == STATION and await session.get(StationRow, target) is None:
        raise NotFound(f"unknown station {target}")


async def attach(session: AsyncSession, model_id: str, scope: str, target: str,
                 now: datetime) -> PriceModelLinkRow:
    """Attach a model to a target; a target has one model (attaching replaces the link)."""
    scope = scope.upper()
    if scope not in SCOPES:
        raise InvalidInput(f"scope: must be one of {', '.join(SCOPES)}, got {scope!r}")
    if not target or len(target) > 64:
        raise InvalidInput("target: must be 1 to 64 characters")
    model = await _model(session, model_id)
    await _check_target(session, scope, target)
    row = (await session.scalars(select(PriceModelLinkRow).where(
        PriceModelLinkRow.scope == scope, PriceModelLinkRow.target == target))).first()
    if row is None:
        row = PriceModelLinkRow(scope=scope, target=target)
        session.add(row)
    row.model_pk, row.created_at = model.id, now
    await session.flush()
    return row


async def detach(session: AsyncSession, scope: str, target: str) -> None:
    row = (await session.scalars(select(PriceModelLinkRow).where(
        PriceModelLinkRow.scope == scope.upper(), PriceModelLinkRow.target == target))).first()
    if row is None:
        raise NotFound(f"no price model attached to {scope.lower()} {target}")
    await session.delete(row)
    await session.flush()


async def detach_model(session: AsyncSession, model_pk: int) -> None:
    """Before a model is deleted (SQLite may not enforce the cascade)."""
    for row in (await session.scalars(select(PriceModelLinkRow).where(
            PriceModelLinkRow.model_pk == model_pk))).all():
        await session.delete(row)
    await session.flush()


async def list_links(session: AsyncSession) -> list[dict[str, Any]]:
    rows = (await session.execute(
        select(PriceModelLinkRow, PriceModelRow.model_id)
        .join(PriceModelRow, PriceModelRow.id == PriceModelLinkRow.model_pk)
        .order_by(PriceModelLinkRow.id))).all()
    return [{"model_id": model_id, "scope": link.scope, "target": link.target}
            for link, model_id in rows]


_LINK_TABLES = (PriceModelLinkRow.__tablename__, PriceModelRow.__tablename__)
track(_LINK_TABLES)  # other processes' writes reach this process's cache (hub.db.changes)


async def _all_links(session: AsyncSession) -> dict[tuple[str, str], tuple[str, dict[str, Any]]]:
    """(scope, target) -> (model id, model JSON) of every link: reference data, read on every
    session stop, so cached (hub.db.refcache). Callers copy the JSON before handing it out."""
    async def load() -> dict[tuple[str, str], tuple[str, dict[str, Any]]]:
        rows = (await session.execute(
            select(PriceModelLinkRow.scope, PriceModelLinkRow.target, PriceModelRow.model_id,
                   PriceModelRow.data)
            .join(PriceModelRow, PriceModelRow.id == PriceModelLinkRow.model_pk))).all()
        return {(scope, str(target)): (model_id, dict(data))
                for scope, target, model_id, data in rows}
    return await cached(session, "price_model_links", _LINK_TABLES, load)


async def price_model_for(session: AsyncSession, targets: dict[str, str | None]
                          ) -> PriceModelRef | None:
    """The most specific model linked to one of ``targets`` (scope -> id)."""
    wanted = [(s, t) for s in SCOPES if (t := targets.get(s))]
    if not wanted:
        return None
    links = await _all_links(session)
    for scope, target in wanted:
        found = links.get((scope, str(target)))
        if found is not None:
            return PriceModelRef(found[0], copy.deepcopy(found[1]), scope, str(target))
    return None


async def session_pricing(session: AsyncSession, row: ChargingSessionRow) -> dict[str, Any]:
    """What contract-level pricing needs beyond the tariff, as SessionFacts fields:
    the applicable model, the token's group, whether the user is registered (the token
    belongs to a known eMSP) and when the energy stopped flowing (car full)."""
    if not await _all_links(session):
        return {}  # no price model linked anywhere: the tariff prices every session
    token = None
    if row.emsp_party_pk is not None:
        token = (await session.scalars(select(TokenRow).where(
            TokenRow.party_pk == row.emsp_party_pk, TokenRow.uid == row.token_uid))).first()
    group = token.group_id if token else None
    location_id = None
    if row.location_pk is not None:
        loc = await session.get(LocationRow, row.location_pk)
        location_id = loc.location_id if loc else None
    ref = await price_model_for(session, {
        CONTRACT: row.contract_id or None, GROUP: group, STATION: row.station_id,
        LOCATION: location_id})
    if ref is None:
        return {}
    return {"price_model": ref, "token_group": group,
            "registered": row.emsp_party_pk is not None,
            "charging_end": await charging_end(session, row)}


async def charging_end(session: AsyncSession, row: ChargingSessionRow) -> datetime | None:
    """The first energy-register sample at the final register value (meter_stop): from then
    on the car took no more energy. None when no sample shows it."""
    if row.meter_stop is None:
        return None
    samples = (await session.scalars(select(MeterValueRow).where(
        MeterValueRow.session_pk == row.id, MeterValueRow.measurand == ENERGY_REGISTER,
        MeterValueRow.phase.is_(None)).order_by(MeterValueRow.timestamp))).all()
    for s in samples:
        wh = s.value * 1000 if s.unit.lower() == "kwh" else s.value
        if wh >= row.meter_stop - Decimal("0.5"):
            return s.timestamp
    return None
