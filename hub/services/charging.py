"""Charging sessions of our own stations: start, meter values, stop -> session + priced CDR.

Station data is not trusted blindly (PROTOCOL_NOTES, OCPP): retransmitted starts/stops are
idempotent, a meterStop below meterStart yields 0 kWh and a flag, meter values for unknown
transactions are kept aside with a flag. Partners hear of sessions and CDRs through the outbox,
written in the same transaction (kinds ``session`` and ``cdr``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, cast

import structlog
from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.ext.asyncio import AsyncSession

from hub import outbox
from hub.db.changes import track
from hub.db.groupcommit import Statement, Write
from hub.db.models import (
    CdrRow,
    ChargingSessionRow,
    ConnectorRow,
    EvseRow,
    LocationRow,
    MeterValueRow,
    OutboxRow,
)
from hub.db.refcache import cached
from hub.domain import (
    AuthorizationResult,
    LocationFacts,
    NotFound,
    SessionFacts,
    Tariff,
    TariffElement,
)
from hub.domain.countries import ALPHA2, ALPHA3
from hub.ports import CdrPricer
from hub.services.access import FREE_VEND_FLAG
from hub.services.network import (
    evse_ref,
    station_facts,
    tariff_elements_to_json,
    tariff_for_location,
)
from hub.services.parties import own_party_pk, party_facts, party_facts_for
from hub.services.price_links import session_pricing

log = structlog.get_logger("hub.charging")

SESSION, CDR = "session", "cdr"
STALE_CLOSED_FLAG = "stale_closed"
# OCPI 2.2.1 mod_sessions: the CPO should not flood the eMSP with kWh updates.
SESSION_UPDATE_MIN_INTERVAL = timedelta(seconds=60)
# Core tables of the hot path (OpenTransaction).
_METER_VALUES = cast(Table, MeterValueRow.__table__)
_SESSIONS = cast(Table, ChargingSessionRow.__table__)


@dataclass(frozen=True, slots=True)
class MeterSample:
    timestamp: datetime
    measurand: str
    value: Decimal
    unit: str
    phase: str | None = None
    context: str | None = None

    def energy_wh(self) -> Decimal | None:
        """Energy register in Wh, whatever unit the station used (Wh or kWh)."""
        if self.measurand != "Energy.Active.Import.Register":
            return None
        return self.value * 1000 if self.unit.lower() == "kwh" else self.value


@dataclass(slots=True)
class OpenTransaction:
    """What the hot path needs of an open OCPP 1.6 transaction, kept in memory by the
    station's connection (docs/ocpp.md "Performance"): MeterValues for it are two Core
    statements instead of ORM loads. The database stays the truth: the kWh update only
    applies while the row is still ACTIVE (the stale sweeper or an operator may close it)."""

    pk: int
    station_id: str
    meter_start: Decimal | None
    active: bool
    emsp_partner_id: int | None  # outbox routing of session updates; None: nobody to tell
    notified_at: datetime | None  # last session message enqueued by this connection
    # The row as inserted, when the start was group-committed (``plan_start``): the stop then
    # needs no read of it (``stop_open``).
    values: dict[str, Any] | None = None


async def open_transaction(session: AsyncSession, row: ChargingSessionRow,
                           now: datetime) -> OpenTransaction:
    """The in-memory view of a session just started (or found again) in this unit."""
    partner_id = None
    if row.emsp_party_pk is not None:
        emsp = await party_facts(session, row.emsp_party_pk)
        partner_id = emsp.partner_to_tell if emsp is not None else None
    assert row.station_id is not None
    # The start enqueued a session message (or, retransmitted, did so before): throttle from now.
    return OpenTransaction(pk=row.id, station_id=row.station_id, meter_start=row.meter_start,
                           active=row.status == "ACTIVE", emsp_partner_id=partner_id,
                           notified_at=now)


_METER_INSERT = Statement(insert(_METER_VALUES), rank=50)
_SESSION_KWH = Statement(
    update(_SESSIONS).where(_SESSIONS.c.id == bindparam("b_pk"), _SESSIONS.c.status == "ACTIVE")
    .values(kwh=bindparam("b_kwh", type_=_SESSIONS.c.kwh.type),
            last_updated=bindparam("b_now", type_=_SESSIONS.c.last_updated.type)), rank=60)


def meter_writes(tx: OpenTransaction, samples: list[MeterSample], now: datetime
                 ) -> list[Write] | None:
    """``add_meter_values_open`` as group-committed writes (hub.db.groupcommit), or None when
    the update may have to tell a partner eMSP (that needs the row count: use the unit)."""
    latest: Decimal | None = None
    for s in samples:
        wh = s.energy_wh()
        if wh is not None and s.phase is None:
            latest = wh
    update_kwh = latest is not None and tx.active and tx.meter_start is not None
    if update_kwh and tx.emsp_partner_id is not None:
        return None
    writes = [Write(_METER_INSERT, {
        "session_pk": tx.pk, "timestamp": s.timestamp, "measurand": s.measurand,
        "value": s.value, "unit": s.unit, "phase": s.phase, "context": s.context})
        for s in samples]
    if update_kwh:
        assert latest is not None and tx.meter_start is not None
        writes.append(Write(_SESSION_KWH, {
            "b_pk": tx.pk, "b_kwh": max(Decimal(0), (latest - tx.meter_start) / 1000),
            "b_now": now}))
    return writes


async def add_meter_values_open(
    session: AsyncSession, tx: OpenTransaction, samples: list[MeterSample], now: datetime
) -> None:
    """``add_meter_values`` for a transaction known to be this station's: Core INSERT of the
    samples and, for an energy register, one Core UPDATE of the session's kWh (only while
    ACTIVE). The session message to the eMSP is throttled as in ``add_meter_values``."""
    conn = await session.connection()
    if samples:
        await conn.execute(insert(_METER_VALUES), [
            {"session_pk": tx.pk, "timestamp": s.timestamp, "measurand": s.measurand,
             "value": s.value, "unit": s.unit, "phase": s.phase, "context": s.context}
            for s in samples])
    latest: Decimal | None = None
    for s in samples:
        wh = s.energy_wh()
        if wh is not None and s.phase is None:
            latest = wh
    if latest is None or not tx.active or tx.meter_start is None:
        return
    result = await conn.execute(
        update(_SESSIONS).where(_SESSIONS.c.id == tx.pk, _SESSIONS.c.status == "ACTIVE")
        .values(kwh=max(Decimal(0), (latest - tx.meter_start) / 1000), last_updated=now))
    if result.rowcount == 0:  # closed meanwhile (sweeper, operator): values kept, no kWh
        tx.active = False
        return
    if tx.emsp_partner_id is not None and (
            tx.notified_at is None or now - tx.notified_at >= SESSION_UPDATE_MIN_INTERVAL):
        outbox.enqueue(session, SESSION, str(tx.pk), partner_id=tx.emsp_partner_id, now=now)
        tx.notified_at = now


async def start_transaction(
    session: AsyncSession,
    *,
    station_id: str,
    connector: int,
    id_tag: str,
    meter_start_wh: Decimal,
    timestamp: datetime,
    authorization: AuthorizationResult,
    now: datetime,
) -> ChargingSessionRow:
    """Idempotent on retransmission: same station, connector, tag, meter and time -> same row."""
    row, _ = await start_transaction_once(
        session, station_id=station_id, connector=connector, id_tag=id_tag,
        meter_start_wh=meter_start_wh, timestamp=timestamp, authorization=authorization,
        now=now)
    return row


async def start_transaction_once(
    session: AsyncSession,
    *,
    station_id: str,
    connector: int,
    id_tag: str,
    meter_start_wh: Decimal,
    timestamp: datetime,
    authorization: AuthorizationResult,
    now: datetime,
) -> tuple[ChargingSessionRow, bool]:
    """``start_transaction``, and whether the row is new (False: a retransmission)."""
    # The row keeps the token's uid as stored, which a station may send in another case.
    token_uid = authorization.token.uid if authorization.token is not None else id_tag
    existing = (await session.scalars(select(ChargingSessionRow).where(
        ChargingSessionRow.station_id == station_id,
        ChargingSessionRow.ocpp_connector_id == connector,
        ChargingSessionRow.token_uid == token_uid,
        ChargingSessionRow.start_date_time == timestamp,
    ))).first()
    if existing is not None and existing.meter_start == meter_start_wh:
        return existing, False
    plan = await plan_start(session, station_id=station_id, connector=connector, id_tag=id_tag,
                            meter_start_wh=meter_start_wh, timestamp=timestamp,
                            authorization=authorization, now=now)
    row = ChargingSessionRow(**plan.values)
    session.add(row)
    await session.flush()
    await _notify_emsp(session, row, SESSION, now)
    log.info("session.started", station=station_id, connector=connector,
             transaction_id=row.id, id_tag=id_tag, status=row.status)
    return row, True


@dataclass(frozen=True, slots=True)
class StartPlan:
    """A new OCPP 1.6 session's row, computed from cached reference data (no SQL when nothing
    changed), for the ORM unit (``start_transaction_once``) or the group commit
    (``start_write``)."""

    values: dict[str, Any]
    emsp_partner_id: int | None  # a partner eMSP to tell: the start needs a unit (outbox)


async def plan_start(
    session: AsyncSession, *, station_id: str, connector: int, id_tag: str,
    meter_start_wh: Decimal, timestamp: datetime, authorization: AuthorizationResult,
    now: datetime,
) -> StartPlan:
    # Reference data from hub.db.refcache (docs/ocpp.md "Performance").
    cpo_pk = await own_party_pk(session, "CPO")
    station = await station_facts(session, station_id)
    evse = await evse_ref(session, station_id, connector)
    emsp = None
    token = authorization.token
    if token is not None:
        emsp = await party_facts_for(session, token.owner.country_code, token.owner.party_id,
                                     "EMSP")
    tariff = await tariff_for_location(session, evse.location_pk if evse else None)
    flags = [] if authorization.is_allowed else ["not_authorized"]
    if station is not None and station.free_vend_id_tag == id_tag:
        flags.append(FREE_VEND_FLAG)  # billed to the outlet owner's tag
    values: dict[str, Any] = {
        "session_id": str(uuid.uuid4()),
        "cpo_party_pk": cpo_pk,
        "emsp_party_pk": emsp.pk if emsp else None,
        # The token's uid as stored (a station may send the idTag in another case); the
        # retransmission check compares this value.
        "token_uid": token.uid if token else id_tag,
        "token_type": token.type if token else "RFID",
        "contract_id": token.contract_id if token else id_tag,
        "auth_method": "AUTH_REQUEST" if authorization.source == "realtime" else "WHITELIST",
        "authorization_reference": authorization.authorization_reference,
        "location_pk": evse.location_pk if evse else (station.location_pk if station else None),
        "evse_pk": evse.pk if evse else None,
        "connector_id": "1" if evse else None,
        "station_id": station_id,
        "ocpp_connector_id": connector,
        "meter_start": meter_start_wh,
        "kwh": Decimal(0),
        "start_date_time": timestamp,
        "status": "ACTIVE" if authorization.is_allowed else "INVALID",
        "currency": tariff.currency if tariff else "EUR",
        "flags": flags,
        "last_updated": now,
    }
    return StartPlan(values, emsp.partner_to_tell if emsp is not None else None)


# The session's INSERT unless a session with the same station, connector, idTag and start time
# exists - the retransmission check ``start_transaction_once`` makes, folded into the batch
# (hub.db.groupcommit ``unless_exists``: one SELECT of the batch's keys, then one batched
# INSERT; docs/ocpp.md "Performance"). No unique key: the meter may differ (then the unit of
# work inserts a new session), and 2.0.1 and OCPI sessions share the table.
_SESSION_INSERT = Statement(
    insert(_SESSIONS).returning(_SESSIONS.c.id, sort_by_parameter_order=True), rank=10,
    returning=True, unless_exists=(_SESSIONS.c.station_id, _SESSIONS.c.ocpp_connector_id,
                                   _SESSIONS.c.token_uid, _SESSIONS.c.start_date_time))


def start_write(plan: StartPlan) -> Write:
    """The new session's INSERT for the group commit (hub.db.groupcommit); its result row
    carries the id (the OCPP transactionId), None if a session with the same station,
    connector, idTag and start time exists (a retransmission, probably: the unit of work,
    ``start_transaction_once``, sorts it out)."""
    return Write(_SESSION_INSERT, plan.values)


def opened(plan: StartPlan, pk: int, now: datetime) -> OpenTransaction:
    """The in-memory view of a session inserted from ``plan``."""
    values = plan.values
    return OpenTransaction(pk=pk, station_id=values["station_id"],
                           meter_start=values["meter_start"],
                           active=values["status"] == "ACTIVE",
                           emsp_partner_id=plan.emsp_partner_id, notified_at=now,
                           values=values)


async def add_meter_values(
    session: AsyncSession,
    *,
    station_id: str,
    connector: int,
    transaction_id: int | None,
    samples: list[MeterSample],
    now: datetime,
) -> ChargingSessionRow | None:
    row = await _session_for_transaction(session, station_id, transaction_id) \
        if transaction_id is not None else None
    if row is None:
        if transaction_id is not None:
            log.warning("meter_values.unknown_transaction", station=station_id,
                        transaction_id=transaction_id)
        return None
    latest: Decimal | None = None
    for s in samples:
        session.add(MeterValueRow(session_pk=row.id, timestamp=s.timestamp,
                                  measurand=s.measurand, value=s.value, unit=s.unit,
                                  phase=s.phase, context=s.context))
        wh = s.energy_wh()
        if wh is not None and s.phase is None:
            latest = wh
    if latest is not None and row.status == "ACTIVE" and row.meter_start is not None:
        row.kwh = max(Decimal(0), (latest - row.meter_start) / 1000)
        row.last_updated = now
        await _notify_emsp(session, row, SESSION, now, throttle=True)
    return row


async def stop_transaction(
    session: AsyncSession,
    *,
    station_id: str,
    transaction_id: int,
    meter_stop_wh: Decimal,
    timestamp: datetime,
    reason: str | None,
    pricer: CdrPricer,
    now: datetime,
) -> ChargingSessionRow:
    row = await _session_for_transaction(session, station_id, transaction_id)
    if row is None:
        raise NotFound(f"unknown transaction {transaction_id}")
    if row.status == "COMPLETED":
        return row  # retransmitted StopTransaction: nothing more to do
    was_invalid = row.status == "INVALID"
    _apply_stop(row, meter_stop_wh, timestamp, reason, now)
    # The eMSP hears of the completed session before its CDR (same transaction, in order).
    # No autoflush in between: the session's changes and its price go in one UPDATE (flushed
    # with the CDR's INSERT), not two.
    with session.no_autoflush:
        await _notify_emsp(session, row, SESSION, now)
        if not was_invalid:
            await _create_cdr(session, row, pricer, now)
    log.info("session.stopped", station=station_id, transaction_id=transaction_id,
             kwh=str(row.kwh), flags=row.flags)
    return row


def _apply_stop(row: ChargingSessionRow, meter_stop_wh: Decimal, timestamp: datetime,
                reason: str | None, now: datetime) -> None:
    """The stop's own figures and flags on ``row`` (status COMPLETED)."""
    flags = list(row.flags or [])
    start = row.meter_start or Decimal(0)
    if meter_stop_wh < start:
        flags.append("meter_stop_below_start")
        kwh = Decimal(0)
    else:
        kwh = (meter_stop_wh - start) / 1000
    end = timestamp
    if end < row.start_date_time:
        flags.append("stop_before_start")
        end = row.start_date_time
    row.meter_stop, row.kwh, row.end_date_time = meter_stop_wh, kwh, end
    row.stop_reason, row.flags = reason, flags
    row.status = "COMPLETED"
    row.last_updated = now


_CDRS = cast(Table, CdrRow.__table__)
_CDR_COLUMNS = {attr.key: attr.columns[0].key for attr in sa_inspect(CdrRow).column_attrs}
_STOP_COLUMNS = ("meter_stop", "kwh", "end_date_time", "stop_reason", "flags", "status",
                 "last_updated", "total_cost_excl_vat", "total_cost_incl_vat", "currency")
# Built once with bind parameters: building a statement with literal values per call costs
# more than running it.
_STOP_UPDATE = update(_SESSIONS).where(
    _SESSIONS.c.id == bindparam("w_pk"), _SESSIONS.c.status == bindparam("w_status"),
).values({name: bindparam(f"b_{name}", type_=_SESSIONS.c[name].type) for name in _STOP_COLUMNS})
_CDR_INSERT = insert(_CDRS)


_STOP_WRITE = Statement(_STOP_UPDATE, rank=20)
_CDR_WRITE = Statement(_CDR_INSERT, rank=30)


async def stop_writes(
    session: AsyncSession, tx: OpenTransaction, *, meter_stop_wh: Decimal, timestamp: datetime,
    reason: str | None, pricer: CdrPricer, now: datetime,
) -> list[Write]:
    """``stop_transaction`` for a session whose start was group-committed on this connection
    (``tx.values``) and that has no partner eMSP to tell, as group-committed writes
    (hub.db.groupcommit; docs/ocpp.md "Performance"): no read of the row, the session's UPDATE
    guarded by the status it was started with, and the priced CDR's INSERT. ``session`` only
    serves the (cached) reference data of the price.

    If the session was closed meanwhile, the UPDATE changes nothing and the CDR's INSERT fails
    on its unique id (the sweeper, the only other closer, made one): the caller then takes
    ``stop_transaction``. An INVALID session gets no CDR, as there."""
    assert tx.values is not None and tx.emsp_partner_id is None
    row = ChargingSessionRow(**tx.values)  # transient: never added to the session
    row.id = tx.pk
    started_as = row.status
    _apply_stop(row, meter_stop_wh, timestamp, reason, now)
    cdr = await _build_cdr(session, row, pricer, now) if started_as != "INVALID" else None
    # After the price: _build_cdr sets the session's total cost and currency.
    writes = [Write(_STOP_WRITE, {"w_pk": tx.pk, "w_status": started_as,
                                  **{f"b_{name}": getattr(row, name) for name in _STOP_COLUMNS}})]
    if cdr is not None:
        writes.append(Write(_CDR_WRITE, {_CDR_COLUMNS[key]: value
                                         for key, value in vars(cdr).items()
                                         if key in _CDR_COLUMNS}))
    return writes


async def close_stale_transactions(
    session: AsyncSession, *, silent_since: datetime, pricer: CdrPricer, now: datetime,
    limit: int = 200,
) -> list[int]:
    """Close our stations' transactions with no message since ``silent_since`` (a station that
    never sent StopTransaction; PROTOCOL_NOTES, OCPP): stopped at the last energy register
    stored (or the start), flagged ``stale_closed``, CDR created. Returns the transaction ids."""
    rows = (await session.scalars(select(ChargingSessionRow).where(
        ChargingSessionRow.status.in_(("ACTIVE", "INVALID")),
        ChargingSessionRow.station_id.is_not(None),
        ChargingSessionRow.last_updated < silent_since,
    ).order_by(ChargingSessionRow.id).limit(limit))).all()
    closed = []
    for row in rows:
        samples = (await session.scalars(select(MeterValueRow).where(
            MeterValueRow.session_pk == row.id).order_by(
            MeterValueRow.timestamp.desc(), MeterValueRow.id.desc()))).all()
        if samples and samples[0].timestamp >= silent_since:
            continue  # meter values without an energy register still prove it is alive
        last = next((MeterSample(v.timestamp, v.measurand, v.value, v.unit) for v in samples
                     if v.phase is None and v.measurand == "Energy.Active.Import.Register"),
                    None)
        meter_stop = (last.energy_wh() if last else None) or row.meter_start or Decimal(0)
        row.flags = [*(row.flags or []), STALE_CLOSED_FLAG]
        assert row.station_id is not None
        await stop_transaction(
            session, station_id=row.station_id, transaction_id=row.id, meter_stop_wh=meter_stop,
            timestamp=last.timestamp if last else row.start_date_time, reason="Other",
            pricer=pricer, now=now)
        log.warning("session.stale_closed", station=row.station_id, transaction_id=row.id)
        closed.append(row.id)
    return closed


async def _session_for_transaction(
    session: AsyncSession, station_id: str, transaction_id: int
) -> ChargingSessionRow | None:
    row = await session.get(ChargingSessionRow, transaction_id)
    if row is None or row.station_id != station_id:
        return None
    return row


_LOCATION_TABLES = (LocationRow.__tablename__, EvseRow.__tablename__,
                    ConnectorRow.__tablename__)
track(_LOCATION_TABLES)  # other processes' writes reach this process's cache (hub.db.changes)


async def location_facts(session: AsyncSession, row: ChargingSessionRow) -> LocationFacts | None:
    """The session's location, EVSE and connector (cached: hub.db.refcache)."""
    if row.location_pk is None or row.evse_pk is None:
        return None
    location_pk, evse_pk = row.location_pk, row.evse_pk
    return await cached(session, ("location_facts", location_pk, evse_pk), _LOCATION_TABLES,
                        lambda: _location_facts(session, location_pk, evse_pk))


async def _location_facts(session: AsyncSession, location_pk: int, evse_pk: int
                          ) -> LocationFacts | None:
    loc = await session.get(LocationRow, location_pk)
    evse = await session.get(EvseRow, evse_pk)
    if loc is None or evse is None:
        return None
    conn = (await session.scalars(select(ConnectorRow).where(
        ConnectorRow.evse_pk == evse.id).order_by(ConnectorRow.id))).first()
    return LocationFacts(
        location_id=loc.location_id, name=loc.name, address=loc.address, city=loc.city,
        postal_code=loc.postal_code, country=loc.country,
        country_code=ALPHA2.get(loc.country, loc.country[:2]), latitude=loc.latitude,
        longitude=loc.longitude, time_zone=loc.time_zone, evse_uid=evse.uid,
        evse_id=evse.evse_id, connector_id=conn.connector_id if conn else "1",
        connector_standard=conn.standard if conn else "IEC_62196_T2",
        connector_format=conn.format if conn else "SOCKET",
        connector_power_type=conn.power_type if conn else "AC_3_PHASE",
    )


def cdr_location_json(facts: LocationFacts | None, fallback_country: str) -> dict[str, Any]:
    """OCPI 2.2.1 mod_cdrs CdrLocation snapshot (the location as it was at the session)."""
    if facts is None:
        return {"id": "UNKNOWN", "address": "unknown", "city": "unknown",
                "country": ALPHA3.get(fallback_country, fallback_country),
                "coordinates": {"latitude": "0.000000", "longitude": "0.000000"},
                "evse_uid": "UNKNOWN", "evse_id": "UNKNOWN", "connector_id": "1",
                "connector_standard": "IEC_62196_T2", "connector_format": "SOCKET",
                "connector_power_type": "AC_3_PHASE"}
    out: dict[str, Any] = {
        "id": facts.location_id, "name": facts.name, "address": facts.address,
        "city": facts.city, "postal_code": facts.postal_code, "country": facts.country,
        "coordinates": {"latitude": facts.latitude, "longitude": facts.longitude},
        "evse_uid": facts.evse_uid, "evse_id": facts.evse_id or facts.evse_uid,
        "connector_id": facts.connector_id, "connector_standard": facts.connector_standard,
        "connector_format": facts.connector_format,
        "connector_power_type": facts.connector_power_type,
    }
    return {k: v for k, v in out.items() if v is not None}


def tariff_snapshot(tariff: Tariff, vat_rate: Decimal, now: datetime) -> dict[str, Any]:
    """The tariff as applied to a CDR (OCPI 2.2.1 mod_cdrs CDR.tariffs): a full Tariff object,
    each component's ``vat`` set to the rate charged unless the tariff fixed its own."""
    elements = [
        TariffElement(tuple(replace(pc, vat=pc.vat if pc.vat is not None else vat_rate)
                            for pc in e.price_components), e.restrictions)
        for e in tariff.elements
    ]
    return {
        "country_code": tariff.owner.country_code, "party_id": tariff.owner.party_id,
        "id": tariff.id, "currency": tariff.currency,
        "elements": tariff_elements_to_json(tuple(elements)),
        **({"type": tariff.type} if tariff.type else {}),
        **{name: {"excl_vat": str(limit.excl_vat),
                  **({"incl_vat": str(limit.incl_vat)} if limit.incl_vat is not None else {})}
           for name, limit in (("min_price", tariff.min_price), ("max_price", tariff.max_price))
           if limit is not None},
        "last_updated": (tariff.last_updated or now).isoformat(),
    }


async def _create_cdr(
    session: AsyncSession, row: ChargingSessionRow, pricer: CdrPricer, now: datetime
) -> CdrRow:
    # Called once per session: stop_transaction returns early for a COMPLETED session, and
    # the CDR id is the session id (unique per CPO), so a race could not store a second one.
    cdr = await _build_cdr(session, row, pricer, now)
    session.add(cdr)
    await session.flush()
    await _notify_emsp(session, row, CDR, now, subject=str(cdr.id))
    return cdr


async def _build_cdr(
    session: AsyncSession, row: ChargingSessionRow, pricer: CdrPricer, now: datetime
) -> CdrRow:
    """The priced CDR of a stopped session (not added to the session); sets the session's
    total cost and currency."""
    facts = await location_facts(session, row)
    assert row.end_date_time is not None
    if facts is not None:
        country = facts.country_code
    else:
        cpo = await party_facts(session, row.cpo_party_pk)
        assert cpo is not None
        country = cpo.country_code
    tariff = await tariff_for_location(session, row.location_pk)
    price = pricer(
        SessionFacts(session_id=row.session_id, start=row.start_date_time,
                     end=row.end_date_time, kwh=row.kwh, country_code=country,
                     time_zone=facts.time_zone if facts else "UTC",
                     **await session_pricing(session, row)),  # a linked price model (issue 4)
        tariff,
    )
    if price.price_model_id is not None:
        tariff = None  # priced by the contract-level model: no OCPI tariff applied
    row.total_cost_excl_vat = price.total_cost_excl_vat
    row.total_cost_incl_vat = price.total_cost_incl_vat
    row.currency = price.currency
    cdr = CdrRow(
        cdr_id=row.session_id, cpo_party_pk=row.cpo_party_pk, emsp_party_pk=row.emsp_party_pk,
        session_pk=row.id, session_id=row.session_id, source="own",
        start_date_time=row.start_date_time, end_date_time=row.end_date_time,
        token_uid=row.token_uid, token_type=row.token_type, contract_id=row.contract_id,
        auth_method=row.auth_method, authorization_reference=row.authorization_reference,
        currency=price.currency, total_energy=price.total_energy, total_time=price.total_time,
        total_cost_excl_vat=price.total_cost_excl_vat,
        total_cost_incl_vat=price.total_cost_incl_vat, vat_rate=price.vat_rate,
        vat_country=price.vat_country, location=cdr_location_json(facts, country),
        tariffs=[tariff_snapshot(tariff, price.vat_rate, now)] if tariff else [],
        charging_periods=[
            {"start_date_time": p.start_date_time.isoformat(),
             "dimensions": [{"type": t, "volume": str(v)} for t, v in p.dimensions],
             **({"tariff_id": p.tariff_id} if p.tariff_id else {})}
            for p in price.periods
        ],
        breakdown=[
            {"component": ln.component, "volume": str(ln.volume), "unit": ln.unit,
             "unit_price": str(ln.unit_price), "amount_excl_vat": str(ln.amount_excl_vat),
             "vat_rate": str(ln.vat_rate), "note": ln.note}
            for ln in price.lines
        ],
        raw={"price_model": price.price_model_id} if price.price_model_id else None,
        last_updated=now, created_at=now,
    )
    return cdr


async def _notify_emsp(
    session: AsyncSession, row: ChargingSessionRow, kind: str, now: datetime,
    subject: str | None = None, *, throttle: bool = False,
) -> None:
    """Route to the eMSP owning the token: an outbox row if it is a partner's party.

    Every change of state enqueues its own message (the handler sends the session as it is
    then, so messages are idempotent). Only meter-value updates are throttled: at most one
    per SESSION_UPDATE_MIN_INTERVAL per session, since start and stop always enqueue and
    the eMSP never misses the final state.
    """
    if row.emsp_party_pk is None:
        return
    emsp = await party_facts(session, row.emsp_party_pk)
    partner_id = emsp.partner_to_tell if emsp is not None else None
    if partner_id is None:
        return
    subject = subject or str(row.id)
    if throttle:
        recent = (await session.scalars(select(OutboxRow.id).where(
            OutboxRow.kind == kind, OutboxRow.subject == subject,
            OutboxRow.partner_id == partner_id,
            OutboxRow.created_at > now - SESSION_UPDATE_MIN_INTERVAL).limit(1))).first()
        if recent is not None:
            return
    outbox.enqueue(session, kind, subject, partner_id=partner_id, now=now)


# -- OCPP 2.0.1: transactions named by the station's string transactionId ---------------------
# (OCPP 2.0.1 part 2 E01-E07: TransactionEvent Started/Updated/Ended.) Idempotent: a
# retransmitted Started finds its row by reference, retransmitted meter values are skipped,
# a retransmitted Ended finds the session COMPLETED.


async def session_for_ref(
    session: AsyncSession, station_id: str, transaction_ref: str
) -> ChargingSessionRow | None:
    return (await session.scalars(select(ChargingSessionRow).where(
        ChargingSessionRow.station_id == station_id,
        ChargingSessionRow.ocpp_transaction_ref == transaction_ref,
    ).order_by(ChargingSessionRow.id))).first()


async def start_transaction_ref(
    session: AsyncSession,
    *,
    station_id: str,
    transaction_ref: str,
    connector: int,
    id_tag: str,
    meter_start_wh: Decimal | None,
    timestamp: datetime,
    authorization: AuthorizationResult,
    now: datetime,
) -> ChargingSessionRow:
    """``meter_start_wh`` None (no Transaction.Begin register sent): taken from the first
    energy register value that arrives, and the session is flagged."""
    existing = await session_for_ref(session, station_id, transaction_ref)
    if existing is not None:
        return existing
    row = await start_transaction(
        session, station_id=station_id, connector=connector, id_tag=id_tag,
        meter_start_wh=meter_start_wh if meter_start_wh is not None else Decimal(0),
        timestamp=timestamp, authorization=authorization, now=now)
    if row.ocpp_transaction_ref is None:
        row.ocpp_transaction_ref = transaction_ref
    if meter_start_wh is None:
        row.meter_start = None
        row.flags = [*(row.flags or []), "meter_start_unknown"]
    await session.flush()
    return row


async def add_meter_values_ref(
    session: AsyncSession,
    *,
    station_id: str,
    transaction_ref: str,
    samples: list[MeterSample],
    now: datetime,
) -> ChargingSessionRow | None:
    row = await session_for_ref(session, station_id, transaction_ref)
    if row is None:
        log.warning("meter_values.unknown_transaction", station=station_id,
                    transaction_ref=transaction_ref)
        return None
    # Only the stored samples at the incoming timestamps can be repeats (retransmission after
    # a reconnect): look those up, not the whole history of a long transaction.
    stamps = {s.timestamp for s in samples}
    stored = {(v.timestamp, v.measurand, v.phase, v.context) for v in (await session.scalars(
        select(MeterValueRow).where(MeterValueRow.session_pk == row.id,
                                    MeterValueRow.timestamp.in_(stamps)))).all()} \
        if stamps else set()
    fresh = [s for s in samples if (s.timestamp, s.measurand, s.phase, s.context) not in stored]
    if row.meter_start is None:
        energies = [wh for s in fresh if s.phase is None and (wh := s.energy_wh()) is not None]
        if energies:
            row.meter_start = min(energies)
    return await add_meter_values(session, station_id=station_id,
                                  connector=row.ocpp_connector_id or 0, transaction_id=row.id,
                                  samples=fresh, now=now)


async def stop_transaction_ref(
    session: AsyncSession,
    *,
    station_id: str,
    transaction_ref: str,
    meter_stop_wh: Decimal | None,
    timestamp: datetime,
    reason: str | None,
    pricer: CdrPricer,
    now: datetime,
) -> ChargingSessionRow:
    """``meter_stop_wh`` None: the last energy register stored for the session, else no
    energy at all (flagged)."""
    row = await session_for_ref(session, station_id, transaction_ref)
    if row is None:
        raise NotFound(f"unknown transaction {transaction_ref}")
    if meter_stop_wh is None and row.status != "COMPLETED":
        last = (await session.scalars(select(MeterValueRow).where(
            MeterValueRow.session_pk == row.id,
            MeterValueRow.measurand == "Energy.Active.Import.Register",
            MeterValueRow.phase.is_(None),
        ).order_by(MeterValueRow.timestamp.desc(), MeterValueRow.id.desc()))).first()
        if last is not None:
            meter_stop_wh = MeterSample(last.timestamp, last.measurand, last.value,
                                        last.unit).energy_wh()
        if meter_stop_wh is None:
            meter_stop_wh = row.meter_start or Decimal(0)
            row.flags = [*(row.flags or []), "meter_stop_unknown"]
    return await stop_transaction(
        session, station_id=station_id, transaction_id=row.id,
        meter_stop_wh=meter_stop_wh or Decimal(0), timestamp=timestamp, reason=reason,
        pricer=pricer, now=now)
