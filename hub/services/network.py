"""Our charging network: locations, EVSEs, connectors, stations and tariffs."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, bindparam, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hub.db.changes import track
from hub.db.groupcommit import Statement, Write, execute_writes
from hub.db.models import (
    ConnectorRow,
    EvseRow,
    LocationRow,
    PartyRow,
    StationRow,
    StationStatusRow,
    TariffRow,
)
from hub.db.refcache import cached, prime
from hub.domain import (
    Conflict,
    Connector,
    Evse,
    InvalidInput,
    Location,
    NotFound,
    PriceComponent,
    Tariff,
    TariffElement,
    TariffPrice,
)
from hub.security import hash_password, verify_password
from hub.services.parties import own_party, party_ref

# OCPP 1.6 ChargePointStatus -> OCPI 2.2.1 mod_locations Status (EVSE level).
OCPP16_TO_OCPI_STATUS = {
    "Available": "AVAILABLE",
    "Preparing": "AVAILABLE",
    "Charging": "CHARGING",
    "SuspendedEVSE": "CHARGING",
    "SuspendedEV": "CHARGING",
    "Finishing": "CHARGING",
    "Reserved": "RESERVED",
    "Unavailable": "INOPERATIVE",
    "Faulted": "OUTOFORDER",
    "Occupied": "CHARGING",  # OCPP 2.0.1 ConnectorStatusEnumType (the others are shared)
}


def evse_id_for(party: PartyRow, station_id: str, connector: int) -> str:
    """eMI3 EVSE id (OCPI types: EVSE ID), e.g. ``LV*BIM*ERIGA0011``."""
    clean = re.sub(r"[^A-Za-z0-9]", "", station_id).upper()
    return f"{party.country_code}*{party.party_id}*E{clean}{connector}"


# -- tariffs -----------------------------------------------------------------------------------


def tariff_from_row(row: TariffRow, party: PartyRow) -> Tariff:
    elements = tuple(
        TariffElement(
            price_components=tuple(
                PriceComponent(
                    type=c["type"],
                    price=Decimal(str(c["price"])),
                    step_size=int(c.get("step_size", 1)),
                    vat=Decimal(str(c["vat"])) if c.get("vat") is not None else None,
                )
                for c in e["price_components"]
            ),
            restrictions=e.get("restrictions"),
        )
        for e in row.elements
    )
    return Tariff(party_ref(party), row.tariff_id, row.currency, elements, row.alt_text,
                  row.last_updated, type=row.type,
                  min_price=_limit(row.min_price_excl_vat, row.min_price_incl_vat),
                  max_price=_limit(row.max_price_excl_vat, row.max_price_incl_vat),
                  start_date_time=row.start_date_time, end_date_time=row.end_date_time)


def _limit(excl: Decimal | None, incl: Decimal | None) -> TariffPrice | None:
    return None if excl is None else TariffPrice(excl, incl)


def tariff_elements_to_json(elements: tuple[TariffElement, ...]) -> list[dict[str, Any]]:
    out = []
    for e in elements:
        item: dict[str, Any] = {
            "price_components": [
                {"type": c.type, "price": str(c.price), "step_size": c.step_size,
                 **({"vat": str(c.vat)} if c.vat is not None else {})}
                for c in e.price_components
            ]
        }
        if e.restrictions:
            item["restrictions"] = e.restrictions
        out.append(item)
    return out


async def upsert_simple_tariff(
    session: AsyncSession,
    tariff_id: str,
    *,
    currency: str,
    energy_price: Decimal,
    start_fee: Decimal,
    now: datetime,
) -> TariffRow:
    """The skeleton's tariff: a price per kWh and a start fee, both excluding VAT."""
    if energy_price < 0 or start_fee < 0:
        raise InvalidInput("tariff prices must not be negative")
    party = await own_party(session, "CPO")
    components = [PriceComponent("ENERGY", energy_price, 1)]
    elements = [TariffElement((PriceComponent("FLAT", start_fee, 1),))] if start_fee else []
    elements.append(TariffElement(tuple(components)))
    row = (await session.scalars(select(TariffRow).where(
        TariffRow.party_pk == party.id, TariffRow.tariff_id == tariff_id))).first()
    if row is None:
        row = TariffRow(party_pk=party.id, tariff_id=tariff_id)
        session.add(row)
    row.currency = currency
    row.elements = tariff_elements_to_json(tuple(elements))
    row.last_updated = now
    await session.flush()
    return row


_TARIFF_TABLES = (TariffRow.__tablename__, LocationRow.__tablename__, PartyRow.__tablename__)
# Other processes' writes of what this module caches reach this process (hub.db.changes).
track((*_TARIFF_TABLES, StationRow.__tablename__, EvseRow.__tablename__))


async def tariff_for_location(session: AsyncSession, location_pk: int | None) -> Tariff | None:
    """The location's tariff, else the first tariff of our own CPO (cached: hub.db.refcache)."""
    return await cached(session, ("tariff_for_location", location_pk), _TARIFF_TABLES,
                        lambda: _tariff_for_location(session, location_pk))


async def _tariff_for_location(session: AsyncSession, location_pk: int | None) -> Tariff | None:
    row: TariffRow | None = None
    if location_pk is not None:
        loc = await session.get(LocationRow, location_pk)
        if loc is not None and loc.tariff_pk is not None:
            row = await session.get(TariffRow, loc.tariff_pk)
    if row is None:
        party = await own_party(session, "CPO")
        row = (await session.scalars(select(TariffRow).where(TariffRow.party_pk == party.id)
                                     .order_by(TariffRow.id))).first()
    if row is None:
        return None
    party_row = await session.get(PartyRow, row.party_pk)
    assert party_row is not None
    return tariff_from_row(row, party_row)


async def list_tariffs(session: AsyncSession) -> list[Tariff]:
    rows = (await session.execute(select(TariffRow, PartyRow).join(
        PartyRow, PartyRow.id == TariffRow.party_pk).order_by(TariffRow.id))).all()
    return [tariff_from_row(t, p) for t, p in rows]


# -- locations ---------------------------------------------------------------------------------


async def create_location(
    session: AsyncSession,
    location_id: str,
    *,
    name: str,
    address: str,
    city: str,
    postal_code: str | None,
    country: str,
    latitude: str,
    longitude: str,
    time_zone: str,
    tariff: TariffRow | None,
    now: datetime,
) -> LocationRow:
    party = await own_party(session, "CPO")
    exists = (await session.scalars(select(LocationRow).where(
        LocationRow.party_pk == party.id, LocationRow.location_id == location_id))).first()
    if exists is not None:
        raise Conflict(f"location {location_id} exists")
    row = LocationRow(
        party_pk=party.id, location_id=location_id, name=name, address=address, city=city,
        postal_code=postal_code, country=country, latitude=latitude, longitude=longitude,
        time_zone=time_zone, tariff_pk=tariff.id if tariff else None, last_updated=now,
    )
    session.add(row)
    await session.flush()
    return row


def location_from_row(row: LocationRow, party: PartyRow, tariff_id: str | None) -> Location:
    tariff_ids = (tariff_id,) if tariff_id else ()
    return Location(
        owner=party_ref(party), id=row.location_id, publish=row.publish, name=row.name,
        address=row.address, city=row.city, postal_code=row.postal_code, country=row.country,
        latitude=row.latitude, longitude=row.longitude, time_zone=row.time_zone,
        evses=tuple(
            Evse(
                uid=e.uid, evse_id=e.evse_id, status=e.status, last_updated=e.last_updated,
                connectors=tuple(
                    Connector(c.connector_id, c.standard, c.format, c.power_type, c.max_voltage,
                              c.max_amperage, c.max_electric_power, tariff_ids, c.last_updated)
                    for c in e.connectors
                ),
            )
            for e in row.evses
        ),
        last_updated=row.last_updated,
    )


async def page_locations(
    session: AsyncSession,
    *,
    date_from: datetime | None,
    date_to: datetime | None,
    offset: int,
    limit: int,
) -> tuple[list[Location], int]:
    """Our published locations, ordered by last_updated then id (OCPI pagination, stable)."""
    conds: list[ColumnElement[bool]] = [LocationRow.publish.is_(True),
                                        PartyRow.is_own.is_(True)]
    if date_from is not None:
        conds.append(LocationRow.last_updated >= date_from)  # inclusive
    if date_to is not None:
        conds.append(LocationRow.last_updated < date_to)  # exclusive
    base = select(LocationRow, PartyRow).join(PartyRow, PartyRow.id == LocationRow.party_pk)
    total = await session.scalar(
        select(func.count()).select_from(LocationRow)
        .join(PartyRow, PartyRow.id == LocationRow.party_pk).where(*conds)
    )
    rows = (await session.execute(
        base.where(*conds).order_by(LocationRow.last_updated, LocationRow.id)
        .offset(offset).limit(limit)
    )).all()
    return [await _with_tariff(session, loc, party) for loc, party in rows], int(total or 0)


async def get_location(session: AsyncSession, location_id: str) -> Location:
    row = (await session.execute(
        select(LocationRow, PartyRow).join(PartyRow, PartyRow.id == LocationRow.party_pk)
        .where(LocationRow.location_id == location_id, PartyRow.is_own.is_(True))
    )).first()
    if row is None:
        raise NotFound(f"unknown location {location_id}")
    return await _with_tariff(session, row[0], row[1])


async def _with_tariff(session: AsyncSession, loc: LocationRow, party: PartyRow) -> Location:
    tariff_id = None
    if loc.tariff_pk is not None:
        t = await session.get(TariffRow, loc.tariff_pk)
        tariff_id = t.tariff_id if t else None
    return location_from_row(loc, party, tariff_id)


# -- stations ----------------------------------------------------------------------------------


async def add_station(
    session: AsyncSession,
    station_id: str,
    *,
    password: str | None,
    location_id: str | None,
    connectors: int,
    now: datetime,
    power_type: str = "AC_3_PHASE",
    max_amperage: int = 32,
    max_voltage: int = 230,
) -> StationRow:
    if not re.fullmatch(r"[A-Za-z0-9._\-:]{1,64}", station_id):
        raise InvalidInput("station id: 1-64 characters of letters, digits, . _ - :")
    if await session.get(StationRow, station_id) is not None:
        raise Conflict(f"station {station_id} exists")
    if connectors < 1:
        raise InvalidInput("a station has at least one connector")
    location: LocationRow | None = None
    if location_id is not None:
        location = (await session.scalars(
            select(LocationRow).where(LocationRow.location_id == location_id))).first()
        if location is None:
            raise NotFound(f"unknown location {location_id}")
    row = StationRow(id=station_id, password_hash=hash_password(password) if password else None,
                     location_pk=location.id if location else None, created_at=now)
    session.add(row)
    await session.flush()
    if location is not None:
        party = await own_party(session, "CPO")
        for n in range(1, connectors + 1):
            await _add_evse(session, location, party, row, n, now, power_type, max_amperage,
                            max_voltage)
        location.last_updated = now
    return row


async def _add_evse(
    session: AsyncSession, location: LocationRow, party: PartyRow, station: StationRow,
    n: int, now: datetime, power_type: str = "AC_3_PHASE", max_amperage: int = 32,
    max_voltage: int = 230,
) -> EvseRow:
    evse = EvseRow(location_pk=location.id, uid=f"{station.id}-{n}",
                   evse_id=evse_id_for(party, station.id, n), status="UNKNOWN",
                   station_id=station.id, ocpp_connector_id=n, last_updated=now)
    session.add(evse)
    await session.flush()
    session.add(ConnectorRow(evse_pk=evse.id, connector_id="1", power_type=power_type,
                             max_amperage=max_amperage, max_voltage=max_voltage,
                             last_updated=now))
    await session.flush()
    return evse


async def check_station_credentials(
    session: AsyncSession, station_id: str, password: str | None
) -> str:
    """Returns "ok", "unknown" or "unauthorized" (OCPP security profile 1: Basic auth).
    Reads the cached station facts: a reconnect storm after a restart costs no SQL per
    station; a password set through the admin API is used by the very next connect."""
    facts = await station_facts(session, station_id)
    if facts is None:
        return "unknown"
    if facts.password_hash is None:
        return "ok"
    # scrypt costs ~50 ms of CPU: keep it off the event loop that serves every station.
    if password is None or not await asyncio.to_thread(verify_password, password,
                                                        facts.password_hash):
        return "unauthorized"
    return "ok"


async def auto_register_station(session: AsyncSession, station_id: str, now: datetime) -> None:
    if await session.get(StationRow, station_id) is None:
        session.add(StationRow(id=station_id, created_at=now))
        await session.flush()


async def record_boot(
    session: AsyncSession, station_id: str, *, vendor: str, model: str,
    serial_number: str | None, firmware_version: str | None, ocpp_version: str, now: datetime,
) -> StationRow:
    row = await session.get(StationRow, station_id)
    if row is None:
        raise NotFound(f"unknown station {station_id}")
    row.vendor, row.model = vendor, model
    row.serial_number, row.firmware_version = serial_number, firmware_version
    row.ocpp_version, row.last_boot_at, row.last_seen_at = ocpp_version, now, now
    row.connected = True
    return row


# -- group-committed writes of the hot path (hub.db.groupcommit) ------------------------------
_STATIONS, _EVSES, _LOCATIONS = (cast(Table, r.__table__) for r in (StationRow, EvseRow,
                                                                  LocationRow))
_STATUS_HISTORY = Statement(insert(cast(Table, StationStatusRow.__table__)), rank=10)
_EVSE_STATUS = Statement(
    update(_EVSES).where(_EVSES.c.id == bindparam("b_evse"),
                         _EVSES.c.status != bindparam("b_status"))
    .values(status=bindparam("b_status"),
            last_updated=bindparam("b_now", type_=_EVSES.c.last_updated.type)), rank=20)
# The location's last_updated moves with its EVSE's status, only when that changed: the EVSE
# row carries this very timestamp only if the statement above just updated it.
_LOCATION_BUMP = Statement(
    update(_LOCATIONS).where(_LOCATIONS.c.id == select(_EVSES.c.location_pk).where(
        _EVSES.c.id == bindparam("b_evse"),
        _EVSES.c.last_updated == bindparam("b_now", type_=_EVSES.c.last_updated.type))
        .scalar_subquery())
    .values(last_updated=bindparam("b_now", type_=_LOCATIONS.c.last_updated.type)), rank=30)
_SEEN = Statement(
    update(_STATIONS).where(_STATIONS.c.id == bindparam("b_station"))
    .values(last_seen_at=bindparam("b_now", type_=_STATIONS.c.last_seen_at.type),
            connected=bindparam("b_connected")), rank=40)


_BOOT = Statement(
    update(_STATIONS).where(_STATIONS.c.id == bindparam("b_station"))
    .values(vendor=bindparam("b_vendor"), model=bindparam("b_model"),
            serial_number=bindparam("b_serial"), firmware_version=bindparam("b_firmware"),
            ocpp_version=bindparam("b_version"),
            last_boot_at=bindparam("b_now", type_=_STATIONS.c.last_boot_at.type),
            last_seen_at=bindparam("b_now", type_=_STATIONS.c.last_seen_at.type),
            connected=True), rank=45)


def boot_write(station_id: str, *, vendor: str, model: str, serial_number: str | None,
               firmware_version: str | None, ocpp_version: str, now: datetime) -> Write:
    """``record_boot`` as a group-committed write (the caller checked that the station exists;
    none of these columns is cached reference data)."""
    return Write(_BOOT, {"b_station": station_id, "b_vendor": vendor, "b_model": model,
                         "b_serial": serial_number, "b_firmware": firmware_version,
                         "b_version": ocpp_version, "b_now": now})


def seen_write(station_id: str, now: datetime, connected: bool = True) -> Write:
    """``mark_seen`` as a group-committed write."""
    return Write(_SEEN, {"b_station": station_id, "b_now": now, "b_connected": connected})


def status_writes(station_id: str, *, connector: int, status: str, error_code: str | None,
                  info: str | None, timestamp: datetime, now: datetime,
                  evse: EvseRef | None) -> list[Write]:
    """``record_status`` as group-committed writes; ``evse`` from ``evse_ref`` (cached)."""
    writes = [Write(_STATUS_HISTORY, {
        "station_id": station_id, "ocpp_connector_id": connector, "status": status,
        "error_code": error_code, "info": info, "timestamp": timestamp, "received_at": now})]
    if connector != 0 and evse is not None:
        new = OCPP16_TO_OCPI_STATUS.get(status, "UNKNOWN")
        key = {"b_evse": evse.pk, "b_status": new, "b_now": now}
        writes += [Write(_EVSE_STATUS, key),
                   Write(_LOCATION_BUMP, {"b_evse": evse.pk, "b_now": now})]
    return writes


async def mark_seen(session: AsyncSession, station_id: str, now: datetime,
                    connected: bool = True) -> None:
    """``seen_write`` in the caller's unit of work."""
    await execute_writes(session, [seen_write(station_id, now, connected)])


async def record_status(
    session: AsyncSession, station_id: str, *, connector: int, status: str,
    error_code: str | None, info: str | None, timestamp: datetime, now: datetime,
) -> None:
    """``status_writes`` in the caller's unit of work: history row + EVSE status; the EVSE
    and its location are only written when the status changes."""
    evse = await evse_ref(session, station_id, connector) if connector != 0 else None
    await execute_writes(session, status_writes(
        station_id, connector=connector, status=status, error_code=error_code, info=info,
        timestamp=timestamp, now=now, evse=evse))


@dataclass(frozen=True, slots=True)
class EvseRef:
    pk: int
    location_pk: int | None


_EVSE_TABLES = (EvseRow.__tablename__,)
# Built once with bind parameters (no statement construction per lookup).
_STATION_EVSES = select(EvseRow.ocpp_connector_id, EvseRow.id, EvseRow.location_pk).where(
    EvseRow.station_id == bindparam("b_station")).order_by(EvseRow.id)
_ALL_EVSES = select(EvseRow.station_id, EvseRow.ocpp_connector_id, EvseRow.id,
                    EvseRow.location_pk).where(EvseRow.station_id.is_not(None)) \
    .order_by(EvseRow.id)


def _evse_map(rows: Iterable[Any]) -> dict[int, EvseRef]:
    """OCPP connector -> its EVSE (the first by id)."""
    refs: dict[int, EvseRef] = {}
    for connector, pk, location_pk in rows:
        if connector is not None and connector not in refs:
            refs[connector] = EvseRef(pk, location_pk)
    return refs


async def evse_ref(session: AsyncSession, station_id: str, connector: int) -> EvseRef | None:
    """The EVSE of a station's OCPP connector (the first by id), cached per station
    (hub.db.refcache): one read covers all the station's connectors."""
    async def load() -> dict[int, EvseRef]:
        return _evse_map((await session.execute(_STATION_EVSES,
                                                {"b_station": station_id})).all())
    refs = await cached(session, ("evse_refs", station_id), _EVSE_TABLES, load)
    return refs.get(connector)


@dataclass(frozen=True, slots=True)
class StationFacts:
    """What authorizing and starting a session need of its station (rarely changed: cached;
    hub.services.access.station_verdict reads the access fields)."""

    location_pk: int | None
    location_id: str | None  # our OCPI location id (a hint for real-time authorization)
    free_vend_id_tag: str | None
    access_mode: str
    allowed_groups: tuple[str, ...]
    access_code_hash: str | None
    # The connect's credential check (security profiles 1 and 2) and the vendor profile of a
    # new connection (cpo_core.vendors). vendor/model as of the last BootNotification known
    # here: a boot writes them without bumping the cache (hub.db.groupcommit), so they may be
    # older than the last boot (refcache.MAX_AGE_SECONDS at most); a BootNotification always
    # uses what it carries.
    password_hash: str | None
    vendor: str | None
    model: str | None
    vendor_profile: str | None


_STATION_TABLES = (StationRow.__tablename__, LocationRow.__tablename__)
_FACTS = select(StationRow.id, StationRow.location_pk, LocationRow.location_id,
                StationRow.free_vend_id_tag, StationRow.access_mode, StationRow.allowed_groups,
                StationRow.access_code_hash, StationRow.password_hash, StationRow.vendor,
                StationRow.model, StationRow.vendor_profile) \
    .outerjoin(LocationRow, LocationRow.id == StationRow.location_pk)
_ONE_STATION_FACTS = _FACTS.where(StationRow.id == bindparam("b_station"))


def _facts(found: Any) -> StationFacts:
    return StationFacts(found[1], found[2], found[3], found[4], tuple(found[5] or ()),
                        found[6], found[7], found[8], found[9], found[10])


async def station_facts(session: AsyncSession, station_id: str) -> StationFacts | None:
    async def load() -> StationFacts | None:
        found = (await session.execute(_ONE_STATION_FACTS, {"b_station": station_id})).first()
        return _facts(found) if found is not None else None
    return await cached(session, ("station_facts", station_id), _STATION_TABLES, load)


async def prime_station_caches(session: AsyncSession) -> int:
    """Every station's facts and EVSEs, read in two statements into the cache that
    ``station_facts`` and ``evse_ref`` use: a hub restart's reconnect storm then costs no read
    per station (docs/ocpp.md "Performance"). Returns the number of stations."""
    ids: list[str] = []

    async def facts() -> list[tuple[Hashable, Any]]:
        rows = (await session.execute(_FACTS)).all()
        ids.extend(row[0] for row in rows)
        return [(("station_facts", row[0]), _facts(row)) for row in rows]

    stations = await prime(session, _STATION_TABLES, facts)

    async def evses() -> list[tuple[Hashable, Any]]:
        # Every station read above gets an entry, an empty one if it has no EVSE.
        by_station: dict[str | None, list[Any]] = {}
        for row in (await session.execute(_ALL_EVSES)).all():
            by_station.setdefault(row[0], []).append(row[1:])
        return [(("evse_refs", sid), _evse_map(by_station.get(sid, ()))) for sid in ids]

    await prime(session, _EVSE_TABLES, evses)
    return stations


async def evse_for(session: AsyncSession, station_id: str, connector: int) -> EvseRow | None:
    return (await session.scalars(select(EvseRow).where(
        EvseRow.station_id == station_id, EvseRow.ocpp_connector_id == connector))).first()


async def list_stations(session: AsyncSession) -> list[StationRow]:
    return list((await session.scalars(select(StationRow).order_by(StationRow.id))).all())
