"""Outbox delivery handlers: our sessions and CDRs to the eMSP owning the token.

- ``session`` (subject = ChargingSessionRow pk): PUT the Session to the partner's sessions
  Receiver at ``{url}/{country_code}/{party_id}/{session_id}`` (mod_sessions, PUT: always the
  whole object, so a retry or a coalesced update is safe).
- ``cdr`` (subject = CdrRow pk): POST the CDR to the partner's cdrs Receiver (mod_cdrs, POST).

What is retried (``DeliveryError.retryable``):
- retried: no answer (refused, timeout), HTTP 5xx, OCPI 3xxx/4xxx (server or hub trouble),
  HTTP 401/403 (credentials being rotated or fixed by an operator), HTTP 404/405 (a missing
  endpoint, e.g. a partner redeploying), 408/429, a partner not (yet) CONNECTED or without the
  endpoint in its version details (it can PUT new credentials). The outbox backs off and
  dead-letters after ``max_attempts``; the operator can retry from there.
- not retried (dead letter at once): another HTTP 4xx or an OCPI 2xxx answer (the partner
  refuses this content; sending it again won't change that), a session/CDR or partner row that
  no longer exists, a module the partner's roaming agreement denies (``ocpi.agreements``).

A partner without the Receiver endpoint is also journaled with the deviation
``missing_endpoint`` (PROTOCOL_NOTES: endpoints missing from version details).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from hub.context import HubContext
from hub.db.base import transaction
from hub.db.models import PartnerRow
from hub.domain import NotFound, PartyRef
from hub.ports import DeliveryError, DeliveryHandler, OutboxMessage
from hub.services.partners import endpoint_url
from hub.services.records import (
    ACTIVE_PROFILE_KIND,
    RESERVATION_SESSION_KIND,
    get_cdr_by_pk,
    get_session_by_pk,
)
from ocpi.agreements import allowed_in
from ocpi.auth import CONNECTED
from ocpi.client import OcpiReply, OcpiUnreachable, ocpi_request, routing_headers
from ocpi.journal import Entry, record
from ocpi.mappers import cdr_from_domain, session_from_domain

log = structlog.get_logger("ocpi.delivery")
T = TypeVar("T")

RETRYABLE_HTTP = {401, 403, 404, 405, 408, 425, 429}


@dataclass(frozen=True)
class Target:
    partner_id: int
    url: str
    token: str
    use_base64: bool


async def receiver_target(ctx: HubContext, db: AsyncSession, partner: PartnerRow | None,
                          module: str, role: str = "RECEIVER") -> Target:
    """Where ``partner`` receives ``module`` (its Receiver endpoint; ``role="SENDER"`` for the
    modules whose pushes go to the Sender interface, e.g. mod_charging_profiles PUT), checked
    against its roaming agreement and status; a DeliveryError says whether retrying can help."""
    if partner is None:
        raise DeliveryError("partner no longer exists", retryable=False)
    if not await allowed_in(db, partner.id, module):
        raise DeliveryError(f"{module} is denied by the roaming agreement with partner "
                            f"{partner.id}", retryable=False)
    if partner.status != CONNECTED or not partner.token_out:
        raise DeliveryError(f"partner {partner.id} is not connected ({partner.status})")
    url = endpoint_url(partner, module, role)
    if url is None:
        record(ctx.http, Entry("out", "-", f"({module} {role.title()})", partner.id, module,
                               deviations=["missing_endpoint"]))
        raise DeliveryError(f"partner {partner.id} has no {module} {role.title()} endpoint")
    return Target(partner.id, url.rstrip("/"), partner.token_out, partner.token_out_base64)


def check_reply(reply: OcpiReply, what: str) -> None:
    """Raise DeliveryError unless the partner accepted; see the module docstring."""
    http, code = reply.http_status, reply.status_code
    if 200 <= http < 300 and (code is None or 1000 <= code < 2000):
        return  # a 2xx without an envelope is a (deviating) success too
    detail = f"{what}: HTTP {http}, OCPI status {code}, {reply.message or ''}".strip(", ")
    if http >= 500 or http in RETRYABLE_HTTP:
        raise DeliveryError(detail, retryable=True)
    if 200 <= http < 300 and code is not None and code >= 3000:
        raise DeliveryError(detail, retryable=True)
    raise DeliveryError(detail, retryable=False)


async def send(ctx: HubContext, target: Target, method: str, url: str,
               body: dict[str, Any] | None, sender: PartyRef, receiver: PartyRef | None
               ) -> None:
    """One delivery call with routing headers (``body`` None: none, e.g. a DELETE); raises
    DeliveryError unless it was accepted."""
    try:
        reply = await ocpi_request(
            ctx.http, method, url, token=target.token, use_base64=target.use_base64, body=body,
            headers=routing_headers(sender, receiver),
            timeout_s=ctx.settings.ocpi.request_timeout,
            correlation_id=str(uuid.uuid4()), partner_id=target.partner_id)
    except OcpiUnreachable as exc:
        raise DeliveryError(str(exc), retryable=True) from exc
    check_reply(reply, f"{method} {url}")


def _pk(message: OutboxMessage) -> int:
    try:
        return int(message.subject)
    except ValueError as exc:
        raise DeliveryError(f"bad subject {message.subject!r}", retryable=False) from exc


async def _load(
    ctx: HubContext, message: OutboxMessage, module: str,
    loader: Callable[[AsyncSession, int], Awaitable[T]],
) -> tuple[T, Target]:
    """The message's subject (a session or CDR) and where the partner receives ``module``."""
    async with transaction(ctx.sessionmaker) as db:
        try:
            subject = await loader(db, _pk(message))
        except NotFound as exc:
            raise DeliveryError(exc.message, retryable=False) from exc
        partner = await db.get(PartnerRow, message.partner_id) \
            if message.partner_id is not None else None
        target = await receiver_target(ctx, db, partner, module)
    return subject, target


def session_handler(ctx: HubContext) -> DeliveryHandler:
    async def deliver_session(message: OutboxMessage) -> None:
        s, target = await _load(ctx, message, "sessions", get_session_by_pk)
        url = f"{target.url}/{s.cpo.country_code}/{s.cpo.party_id}/{s.id}"
        await send(ctx, target, "PUT", url, session_from_domain(s), s.cpo, s.token_owner)
        log.info("ocpi.session.delivered", partner_id=target.partner_id, session_id=s.id,
                 status=s.status)

    return deliver_session


def cdr_handler(ctx: HubContext) -> DeliveryHandler:
    async def deliver_cdr(message: OutboxMessage) -> None:
        cdr, target = await _load(ctx, message, "cdrs", get_cdr_by_pk)
        await send(ctx, target, "POST", target.url, cdr_from_domain(cdr), cdr.cpo,
                    cdr.token_owner)
        log.info("ocpi.cdr.delivered", partner_id=target.partner_id, cdr_id=cdr.id)

    return deliver_cdr


def delivery_handlers(ctx: HubContext) -> dict[str, DeliveryHandler]:
    from ocpi.chargingprofiles import active_profile_handler  # issue 5 (import cycle)
    from ocpi.commands import command_result_handler  # issue 5, commands (import cycle)
    from ocpi.reservation_sessions import reservation_session_handler  # issue 5 (cycle)

    return {"session": session_handler(ctx), "cdr": cdr_handler(ctx),
            "command_result": command_result_handler(ctx),
            ACTIVE_PROFILE_KIND: active_profile_handler(ctx),
            RESERVATION_SESSION_KIND: reservation_session_handler(ctx),
            **_routing_handlers(ctx), **_push_handlers(ctx)}


def _push_handlers(ctx: HubContext) -> dict[str, DeliveryHandler]:
    from ocpi.push_own import push_handlers  # issue 5, our objects pushed (import cycle)

    return push_handlers(ctx)


def _routing_handlers(ctx: HubContext) -> dict[str, DeliveryHandler]:
    from ocpi.broadcast import KIND, broadcast_handler  # issue 5, hub routing (import cycle)

    return {KIND: broadcast_handler(ctx)}
