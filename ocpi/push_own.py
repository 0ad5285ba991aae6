"""Our own locations and tariffs pushed to partners' Receivers when they change (issue 5 items 4
and 6; OCPI 2.2.1 mod_locations and mod_tariffs, Receiver interface, PUT).

A scan every ``HUB_OCPI__PUSH_INTERVAL_SECONDS`` finds our published locations and our tariffs
whose ``last_updated`` moved past each partner's watermark and queues one outbox message per
object and partner. The message names the object, not its content: the handler PUTs the object
*as it is when sent*, so any number of changes while a message waits become one PUT.

- **De-duplication before fan-out.** An EVSE's status is written (and its location's
  ``last_updated`` moved) only when the status changes (``hub.services.network.record_status``);
  a StatusNotification repeating the same status pushes nothing. A message that has not been
  tried yet is never queued twice for the same object and partner.
- **Offline receivers are re-synced, not flooded.** While a partner is not CONNECTED (OFFLINE
  after the still-alive check, SUSPENDED, PLANNED) nothing is queued and its watermark stays
  put; the partner is marked ``resync_pending``. When it is CONNECTED again, the next scan
  queues one PUT per object changed since: the re-sync. A partner that is CONNECTED but failing
  holds at most one message being retried plus one waiting per object.
- **New partners** start at the time they are first seen: the initial state is theirs to GET
  (mod_locations, Sender interface), as OCPI intends; afterwards they receive every change.
- **Deleted tariffs** leave a tombstone (``OcpiTariffTombstoneRow``, written by
  ``hub.services.tariffs.delete_tariff``) whose ``deleted_at`` moves past the watermark like a
  ``last_updated``: the same scan queues it, and the handler, finding the tariff gone, sends
  ``DELETE {tariffs}/{cc}/{pid}/{tariff_id}`` (mod_tariffs Receiver interface, DELETE) once per
  partner; a partner offline meanwhile gets the DELETE in its re-sync, never a PUT of the old
  tariff. A tariff saved again with the same id removes its tombstone and is PUT. Our
  locations are never deleted (OCPI retires EVSEs with status REMOVED).

The same scan ends our OCPI reservations that the CPO cancelled or that expired
(``ocpi.reservation_sessions.reservation_scan``).

Each PUT carries the object's own ``last_updated`` and routing headers from our CPO party to the
partner's eMSP party; the outbox retries, orders per partner and dead-letters as for sessions
(``ocpi.delivery``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.context import HubContext
from hub.db.base import transaction
from hub.db.models import (
    LocationRow,
    OcpiPushWatermarkRow,
    OutboxRow,
    PartnerRow,
    PartyRow,
    TariffRow,
)
from hub.db.models_ocpi_commands import OcpiTariffTombstoneRow
from hub.domain import NotFound, PartyRef
from hub.outbox import PENDING, enqueue
from hub.ports import DeliveryError, DeliveryHandler, OutboxMessage
from hub.services.network import get_location
from hub.services.parties import party_ref
from hub.services.partners import endpoint_url
from ocpi.agreements import allowed_in
from ocpi.auth import CONNECTED
from ocpi.delivery import receiver_target, send
from ocpi.mappers import location_from_domain
from ocpi.object_store import own_tariff
from ocpi.reservation_sessions import reservation_scan
from ocpi.tariffs import tariff_json

log = structlog.get_logger("ocpi.push_own")

LOCATION_KIND = "ocpi_push_location"
TARIFF_KIND = "ocpi_push_tariff"
KINDS = {"locations": LOCATION_KIND, "tariffs": TARIFF_KIND}
RECEIVER_ROLES = frozenset({"EMSP", "NSP", "OTHER"})
# The watermark never passes ``now - OVERLAP``: a unit of work stamps last_updated before it
# commits, so one that commits late is still seen. Repeated sightings are suppressed by the
# cache (per process; after a restart an object may be PUT once more, which is harmless).
OVERLAP = timedelta(seconds=10)
CACHE_KEY = "ocpi_push_own_cache"


def _receiver(partner: PartnerRow) -> PartyRef | None:
    for p in partner.parties:
        if not p.is_own and p.role in RECEIVER_ROLES:
            return party_ref(p)
    return None


async def _changed(db: AsyncSession, module: str, since: datetime) -> list[tuple[str, datetime]]:
    own = select(PartyRow.id).where(PartyRow.is_own.is_(True))
    if module == "locations":
        rows = await db.execute(
            select(LocationRow.location_id, LocationRow.last_updated)
            .where(LocationRow.publish.is_(True), LocationRow.party_pk.in_(own),
                   LocationRow.last_updated > since)
            .order_by(LocationRow.last_updated))
    else:
        rows = await db.execute(
            select(TariffRow.tariff_id, TariffRow.last_updated)
            .where(TariffRow.source == "own", TariffRow.party_pk.in_(own),
                   TariffRow.last_updated > since)
            .order_by(TariffRow.last_updated))
        deleted = await db.execute(  # tombstones: the handler DELETEs what is gone
            select(OcpiTariffTombstoneRow.tariff_id, OcpiTariffTombstoneRow.deleted_at)
            .where(OcpiTariffTombstoneRow.deleted_at > since))
        return sorted([*rows.all(), *deleted.all()], key=lambda r: r[1])
    return [(object_id, updated) for object_id, updated in rows.all()]


async def _waiting(db: AsyncSession, kind: str, subject: str, partner_id: int) -> bool:
    """A message for this object that no worker has picked up yet (it will send the latest)."""
    found = await db.scalar(select(OutboxRow.id).where(
        OutboxRow.kind == kind, OutboxRow.subject == subject,
        OutboxRow.partner_id == partner_id, OutboxRow.status == PENDING,
        OutboxRow.attempts == 0).limit(1))
    return found is not None


async def push_own_changes(ctx: HubContext) -> int:
    """One scan: queues pushes of changed objects; returns how many messages were queued."""
    now = ctx.clock()
    cache: dict[tuple[int, str, str], datetime] = ctx.components.setdefault(CACHE_KEY, {})
    queued = 0
    async with transaction(ctx.sessionmaker) as db:
        partners = (await db.scalars(select(PartnerRow).order_by(PartnerRow.id))).all()
        for partner in partners:
            if _receiver(partner) is None:
                continue
            for module, kind in KINDS.items():
                if endpoint_url(partner, module, "RECEIVER") is None or \
                        not await allowed_in(db, partner.id, module):
                    continue
                mark = await db.get(OcpiPushWatermarkRow, (partner.id, module))
                if mark is None:  # first seen: it GETs the initial state itself
                    db.add(OcpiPushWatermarkRow(partner_id=partner.id, module=module,
                                                watermark=now, resync_pending=False))
                    continue
                changed = await _changed(db, module, mark.watermark)
                if partner.status != CONNECTED:
                    if any(updated > mark.watermark for _, updated in changed) and \
                            not mark.resync_pending:
                        mark.resync_pending = True
                        log.info("ocpi.push_own.resync_pending", partner_id=partner.id,
                                 module=module, status=partner.status)
                    continue
                for object_id, updated in changed:
                    key = (partner.id, module, object_id)
                    if cache.get(key) == updated:
                        continue
                    cache[key] = updated
                    if not await _waiting(db, kind, object_id, partner.id):
                        enqueue(db, kind, object_id, partner_id=partner.id, now=now)
                        queued += 1
                if changed:
                    mark.watermark = max(mark.watermark, min(changed[-1][1], now - OVERLAP))
                if mark.resync_pending:
                    mark.resync_pending = False
                    log.info("ocpi.push_own.resynced", partner_id=partner.id, module=module,
                             objects=len(changed))
    await reservation_scan(ctx)  # issue 5: reservations cancelled by the CPO or expired
    return queued


async def _partner(db: AsyncSession, message: OutboxMessage) -> PartnerRow | None:
    return await db.get(PartnerRow, message.partner_id) if message.partner_id else None


def location_push_handler(ctx: HubContext) -> DeliveryHandler:
    async def push_location(message: OutboxMessage) -> None:
        async with transaction(ctx.sessionmaker) as db:
            try:
                loc = await get_location(db, message.subject)
            except NotFound as exc:
                raise DeliveryError(exc.message, retryable=False) from exc
            partner = await _partner(db, message)
            target = await receiver_target(ctx, db, partner, "locations")
            receiver = _receiver(partner) if partner else None
        body: dict[str, Any] = location_from_domain(loc)
        url = f"{target.url}/{loc.owner.country_code}/{loc.owner.party_id}/{loc.id}"
        await send(ctx, target, "PUT", url, body, loc.owner, receiver)
        log.info("ocpi.push_own.location", partner_id=target.partner_id, location_id=loc.id)

    return push_location


async def _tombstone(db: AsyncSession, tariff_id: str) -> OcpiTariffTombstoneRow | None:
    return (await db.scalars(select(OcpiTariffTombstoneRow).where(
        OcpiTariffTombstoneRow.tariff_id == tariff_id)
        .order_by(OcpiTariffTombstoneRow.deleted_at.desc()))).first()


async def _delete_tariff(ctx: HubContext, message: OutboxMessage) -> None:
    """OCPI 2.2.1 mod_tariffs, Receiver interface, DELETE
    ``{tariffs_endpoint_url}/{country_code}/{party_id}/{tariff_id}`` (no body)."""
    async with transaction(ctx.sessionmaker) as db:
        stone = await _tombstone(db, message.subject)
        if stone is None:
            raise DeliveryError(f"tariff {message.subject} no longer exists",
                                retryable=False)
        partner = await _partner(db, message)
        target = await receiver_target(ctx, db, partner, "tariffs")
        receiver = _receiver(partner) if partner else None
        sender = PartyRef(stone.country_code, stone.party_id, "CPO")
    url = f"{target.url}/{sender.country_code}/{sender.party_id}/{stone.tariff_id}"
    await send(ctx, target, "DELETE", url, None, sender, receiver)
    log.info("ocpi.push_own.tariff_deleted", partner_id=target.partner_id,
             tariff_id=stone.tariff_id)


def tariff_push_handler(ctx: HubContext) -> DeliveryHandler:
    async def push_tariff(message: OutboxMessage) -> None:
        async with ctx.sessionmaker() as db:
            found = await own_tariff(db, message.subject)
        if found is None:  # deleted: its tombstone says so
            await _delete_tariff(ctx, message)
            return
        async with transaction(ctx.sessionmaker) as db:
            found = await own_tariff(db, message.subject)
            if found is None:
                raise DeliveryError(f"tariff {message.subject} was deleted meanwhile")
            row, party = found
            body = tariff_json(row, party)
            partner = await _partner(db, message)
            target = await receiver_target(ctx, db, partner, "tariffs")
            receiver = _receiver(partner) if partner else None
            sender = party_ref(party)
        url = f"{target.url}/{sender.country_code}/{sender.party_id}/{row.tariff_id}"
        await send(ctx, target, "PUT", url, body, sender, receiver)
        log.info("ocpi.push_own.tariff", partner_id=target.partner_id, tariff_id=row.tariff_id)

    return push_tariff


def push_handlers(ctx: HubContext) -> dict[str, DeliveryHandler]:
    return {LOCATION_KIND: location_push_handler(ctx), TARIFF_KIND: tariff_push_handler(ctx)}
