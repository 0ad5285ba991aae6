"""Real-time authorization with partner eMSPs (OCPI 2.2.1 mod_tokens, Sender POST authorize).

Implements ``hub.ports.RemoteAuthorizer``. With a known owner we ask that eMSP's platform and
raise ``PartnerUnavailable`` when it cannot be used (no connection, no answer in
``settings.ocpi.authorize_timeout``, a server error), so the caller can apply ALLOWED_OFFLINE.
Without an owner we ask every CONNECTED partner that has an eMSP party and a tokens Sender
endpoint, all at once: the first ALLOWED (in partner order) wins, else the first other verdict;
"unknown token" (HTTP 404 / 2004) and unreachable partners count as not knowing it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from urllib.parse import quote

import structlog
from pydantic import ValidationError
from sqlalchemy import select

from hub.context import HubContext
from hub.db.base import transaction
from hub.db.models import PartnerRow, PartyRow
from hub.domain import AuthorizationResult, PartnerUnavailable, PartyRef, TokenInfo
from hub.services.parties import find_party, party_ref
from hub.services.partners import endpoint_url
from ocpi import schemas
from ocpi.auth import CONNECTED
from ocpi.client import OcpiUnreachable, ocpi_request, routing_headers
from ocpi.errors import UNKNOWN_TOKEN
from ocpi.mappers import authorization_to_domain

log = structlog.get_logger("ocpi.authorize")


@dataclass(frozen=True)
class _Target:
    partner_id: int
    url: str
    token: str
    use_base64: bool
    emsp: PartyRef
    emsp_name: str


def _target(partner: PartnerRow, emsp: PartyRow) -> _Target | None:
    url = endpoint_url(partner, "tokens", "SENDER")
    if partner.status != CONNECTED or not partner.token_out or url is None:
        return None
    return _Target(partner.id, url.rstrip("/"), partner.token_out, partner.token_out_base64,
                   party_ref(emsp), emsp.name or str(party_ref(emsp)))


class OcpiRemoteAuthorizer:
    def __init__(self, ctx: HubContext) -> None:
        self.ctx = ctx

    async def authorize(self, token_uid: str, token_type: str | None, location_id: str | None,
                        owner: PartyRef | None) -> AuthorizationResult | None:
        if owner is not None:
            target = await self._owner_target(owner)
            if target is None:
                raise PartnerUnavailable(f"no usable OCPI connection to the eMSP {owner}")
            return await self._ask(target, token_uid, token_type, location_id)
        targets = await self._all_targets()
        answers = await asyncio.gather(
            *(self._ask_quietly(t, token_uid, token_type, location_id) for t in targets))
        known = [a for a in answers if a is not None]
        allowed = next((a for a in known if a.is_allowed), None)
        return allowed or (known[0] if known else None)

    async def _owner_target(self, owner: PartyRef) -> _Target | None:
        async with transaction(self.ctx.sessionmaker) as session:
            emsp = await find_party(session, owner.country_code, owner.party_id, "EMSP")
            if emsp is None or emsp.is_own or emsp.partner_id is None:
                return None
            partner = await session.get(PartnerRow, emsp.partner_id)
            return _target(partner, emsp) if partner is not None else None

    async def _all_targets(self) -> list[_Target]:
        async with transaction(self.ctx.sessionmaker) as session:
            partners = (await session.scalars(select(PartnerRow).where(
                PartnerRow.status == CONNECTED).order_by(PartnerRow.id))).all()
            targets = []
            for partner in partners:
                emsp = next((p for p in partner.parties if p.role == "EMSP" and not p.is_own),
                            None)
                target = _target(partner, emsp) if emsp is not None else None
                if target is not None:
                    targets.append(target)
            return targets

    async def _ask_quietly(self, target: _Target, uid: str, token_type: str | None,
                           location_id: str | None) -> AuthorizationResult | None:
        try:
            return await self._ask(target, uid, token_type, location_id)
        except PartnerUnavailable:
            return None

    async def _ask(self, target: _Target, uid: str, token_type: str | None,
                   location_id: str | None) -> AuthorizationResult | None:
        # mod_tokens (POST): {tokens_endpoint_url}{token_uid}/authorize[?type=], with an
        # optional LocationReferences body.
        url = f"{target.url}/{quote(uid, safe='')}/authorize"
        own_cpo = self.ctx.settings.own_party("CPO")
        sender = PartyRef(own_cpo.country_code, own_cpo.party_id, "CPO") if own_cpo else None
        try:
            reply = await ocpi_request(
                self.ctx.http, "POST", url, token=target.token, use_base64=target.use_base64,
                params={"type": token_type} if token_type else None,
                body={"location_id": location_id} if location_id else None,
                headers=routing_headers(sender, target.emsp),
                timeout_s=self.ctx.settings.ocpi.authorize_timeout,
                partner_id=target.partner_id, expect_object=True)
        except OcpiUnreachable as exc:
            raise PartnerUnavailable(f"eMSP {target.emsp} unreachable") from exc
        if reply.http_status == 404 or reply.status_code == UNKNOWN_TOKEN:
            log.info("ocpi.authorize.unknown", partner_id=target.partner_id)
            return None
        if not reply.ok:
            raise PartnerUnavailable(f"eMSP {target.emsp} answered HTTP {reply.http_status}, "
                                     f"status {reply.status_code}")
        try:
            info = schemas.AuthorizationInfo.model_validate(reply.data)
        except ValidationError as exc:
            raise PartnerUnavailable(f"eMSP {target.emsp} answered unreadable data") from exc
        fallback = TokenInfo(owner=target.emsp, uid=uid, type=token_type or "RFID",
                             contract_id=uid, issuer=target.emsp_name)
        result = authorization_to_domain(info, fallback)
        log.info("ocpi.authorize.answered", partner_id=target.partner_id,
                 allowed=result.allowed.value)
        return result
