"""Broadcast Push through the hub (issue 5, item 3; OCPI 2.2.1 transport_and_format, Message
Routing, Broadcast Push and "Party to Party Broadcast Push").

A CPO partner pushes a Location (or EVSE, Connector) or a Tariff, or an eMSP partner a Token,
to the hub with the hub's party in the OCPI-to headers (or, with
``settings.ocpi.broadcast_open_pushes``, without any OCPI-to header). The existing Receiver
stores it and answers; when it answered with success, the push is fanned out through the
outbox (kind ``ocpi_broadcast``): one message per eMSP party (roles EMSP, NSP, OTHER: "Other
is seen as an eMSP type of role"; CPO parties for tokens) of every other CONNECTED partner
whose roaming agreement allows the module and whose version details offer the module's
Receiver. Each leg is addressed with the receiver's own OCPI-to headers and the hub's party in
OCPI-from (the original sender when no own party has the HUB role); the URL keeps the
original owner's country_code/party_id (Broadcast Push, NOTE); every leg keeps the
X-Correlation-ID of the original push. The body is sent as received: ``last_updated`` never
changes (Timestamps and Objects send via Hubs).

De-duplication (issue 5, item 7): a PUT or PATCH of a Location, EVSE or Connector that
changes nothing but ``last_updated`` compared with the stored object is stored as usual but
not fanned out (EVSE status updates repeated by chatty CPOs).
"""

from __future__ import annotations

import uuid
from typing import Any

import structlog
from fastapi import Request
from sqlalchemy import select

from hub.context import HubContext
from hub.db.base import transaction
from hub.db.models import PartnerRow
from hub.domain import PartyRef
from hub.outbox import enqueue
from hub.ports import DeliveryError, DeliveryHandler, OutboxMessage
from hub.services.partners import endpoint_url
from ocpi.agreements import allowed_in
from ocpi.auth import CONNECTED
from ocpi.client import OcpiUnreachable, ocpi_request, routing_headers
from ocpi.delivery import check_reply, receiver_target
from ocpi.encoding import loads
from ocpi.journal import CORRELATION_ID
from ocpi.object_store import partner_location

log = structlog.get_logger("ocpi.broadcast")

KIND = "ocpi_broadcast"
MODULES = frozenset({"locations", "tariffs", "tokens"})
EMSP_TYPE = frozenset({"EMSP", "NSP", "OTHER"})
# Who receives a broadcast of each module: CPO objects go to eMSP-type parties, eMSP tokens to
# CPOs (Broadcast Push: "eMSP pushing information to all CPOs").
RECEIVER_ROLES: dict[str, frozenset[str]] = {
    "locations": EMSP_TYPE, "tariffs": EMSP_TYPE, "tokens": frozenset({"CPO"})}

Json = dict[str, Any]


def _strip(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if k != "last_updated"}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def _find(items: Any, key: str, value: str) -> Json | None:
    for item in items or []:
        if isinstance(item, dict) and str(item.get(key, "")).upper() == value.upper():
            return item
    return None


async def snapshot(ctx: HubContext, request: Request, module: str) -> Json | None:
    """The stored object a location push addresses (None: nothing stored, or a tariff)."""
    p = request.path_params
    if module != "locations" or "location_id" not in p:
        return None
    cpo = PartyRef(str(p["country_code"]), str(p["party_id"]), "CPO")
    async with transaction(ctx.sessionmaker) as session:
        current = await partner_location(session, cpo, str(p["location_id"]))
    if current is None or "evse_uid" not in p:
        return current
    evse = _find(current.get("evses"), "uid", str(p["evse_uid"]))
    if evse is None or "connector_id" not in p:
        return evse
    return _find(evse.get("connectors"), "id", str(p["connector_id"]))


def unchanged(stored: Json | None, body: Any, method: str) -> bool:
    """True when the push changes nothing but ``last_updated`` (then it is not fanned out)."""
    if stored is None or not isinstance(body, dict):
        return False
    if method == "PATCH":
        return all(_strip(stored.get(k)) == _strip(v) for k, v in body.items()
                   if k != "last_updated")
    return bool(_strip(stored) == _strip(body))


async def fan_out(ctx: HubContext, sender_partner_id: int, sender: PartyRef | None,
                  module: str, method: str, suffix: str, query: str, body: bytes) -> int:
    """Enqueue one ``ocpi_broadcast`` message per receiving party; returns how many."""
    hub = ctx.settings.own_party("HUB")
    origin = [hub.country_code, hub.party_id] if hub is not None else (
        [sender.country_code, sender.party_id] if sender is not None else None)
    count = 0
    async with transaction(ctx.sessionmaker) as session:
        partners = (await session.scalars(select(PartnerRow).where(
            PartnerRow.status == CONNECTED, PartnerRow.id != sender_partner_id)
            .order_by(PartnerRow.id))).all()
        for partner in partners:
            if endpoint_url(partner, module, "RECEIVER") is None \
                    or not await allowed_in(session, partner.id, module):
                continue
            for party in partner.parties:
                if party.is_own or party.role not in RECEIVER_ROLES[module]:
                    continue
                enqueue(session, KIND, f"{module}{suffix}"[:128], partner_id=partner.id,
                        payload={"module": module, "method": method, "suffix": suffix,
                                 "query": query, "body": body.decode(), "from": origin,
                                 "correlation_id": CORRELATION_ID.get(),
                                 "to": [party.country_code, party.party_id, party.role]},
                        now=ctx.clock())
                count += 1
    if count:
        ctx.outbox_written()
    log.info("ocpi.broadcast.enqueued", module=module, receivers=count)
    return count


def broadcast_handler(ctx: HubContext) -> DeliveryHandler:
    async def deliver_broadcast(message: OutboxMessage) -> None:
        p = message.payload
        module = str(p.get("module", ""))
        async with transaction(ctx.sessionmaker) as db:
            partner = await db.get(PartnerRow, message.partner_id) \
                if message.partner_id is not None else None
            target = await receiver_target(ctx, db, partner, module)
        origin, to = p.get("from"), p.get("to")
        sender = PartyRef(origin[0], origin[1], "HUB") if origin else None
        receiver = PartyRef(to[0], to[1], to[2]) if to else None
        url = target.url + str(p.get("suffix", ""))
        if p.get("query"):
            url += "?" + str(p["query"])
        body = loads(p["body"]) if p.get("body") else None
        try:
            reply = await ocpi_request(
                ctx.http, str(p.get("method", "PUT")), url, token=target.token,
                use_base64=target.use_base64, body=body,
                headers=routing_headers(sender, receiver),
                timeout_s=ctx.settings.ocpi.request_timeout,
                correlation_id=p.get("correlation_id") or str(uuid.uuid4()),
                partner_id=target.partner_id)
        except OcpiUnreachable as exc:
            raise DeliveryError(str(exc), retryable=True) from exc
        check_reply(reply, f"{p.get('method')} {module} broadcast")
        log.info("ocpi.broadcast.delivered", partner_id=target.partner_id, module=module)

    return deliver_broadcast
