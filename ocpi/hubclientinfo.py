"""HubClientInfo as the hub (OCPI 2.2.1 mod_hub_client_info) and the still-alive check.

- Push model (mod_hub_client_info, Flow: Push model): whenever a partner's status differs from
  the one we last announced (``ocpi_partner_state``), we PUT a ClientInfo for each of its
  parties (status CONNECTED / OFFLINE / PLANNED / SUSPENDED) to every other CONNECTED partner
  that lists a ``hubclientinfo`` RECEIVER endpoint, at ``{url}/{country_code}/{party_id}``.
  No routing headers (PROTOCOL_NOTES: never on hubclientinfo). A failed PUT is journaled and not
  retried: a party unsure of the state can ask again (GET of the hub interface: not yet).
- Still-alive (mod_hub_client_info, Still alive check): a CONNECTED or OFFLINE partner we have
  not heard from (no incoming journal entry) for ``HUB_OCPI__STILL_ALIVE_MINUTES`` (5) gets a
  GET of its versions endpoint: HTTP 2xx -> CONNECTED, anything else -> OFFLINE. A partner that
  calls us is alive without a GET. PLANNED and SUSPENDED partners are never touched.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import structlog
from sqlalchemy import func, select, update

from hub.context import HubContext
from hub.db.base import transaction
from hub.db.models import OcpiJournalRow, OcpiPartnerStateRow, PartnerRow
from hub.services.partners import endpoint_url
from ocpi.auth import CONNECTED, OFFLINE
from ocpi.client import OcpiUnreachable, ocpi_request
from ocpi.encoding import format_datetime
from ocpi.journal import runtime_for

log = structlog.get_logger("ocpi.hubclientinfo")

ROLES = ("CPO", "EMSP", "NSP", "NAP", "SCSP", "OTHER")


async def _ping(ctx: HubContext, url: str, token: str, use_base64: bool,
                partner_id: int) -> bool:
    try:
        reply = await ocpi_request(ctx.http, "GET", url, token=token, use_base64=use_base64,
                                   timeout_s=ctx.settings.ocpi.request_timeout,
                                   partner_id=partner_id)
    except OcpiUnreachable:
        return False
    return 200 <= reply.http_status < 300


async def still_alive(ctx: HubContext) -> dict[int, str]:
    """Check silent partners; returns {partner id: status} of those checked or heard from."""
    runtime = runtime_for(ctx.http)
    if runtime is not None:
        await runtime.journal.flush()
    now = ctx.clock()
    quiet_since = now - timedelta(minutes=ctx.settings.ocpi.still_alive_minutes)
    async with transaction(ctx.sessionmaker) as session:
        rows = (await session.scalars(select(PartnerRow).where(
            PartnerRow.protocol == "ocpi", PartnerRow.status.in_((CONNECTED, OFFLINE)))
            .order_by(PartnerRow.id))).all()
        heard = {pid: last for pid, last in (await session.execute(
            select(OcpiJournalRow.partner_id, func.max(OcpiJournalRow.created_at))
            .where(OcpiJournalRow.direction == "in", OcpiJournalRow.partner_id.is_not(None))
            .group_by(OcpiJournalRow.partner_id))).all()}
        partners = [(r.id, r.status, r.versions_url, r.token_out, r.token_out_base64)
                    for r in rows]
    result: dict[int, str] = {}
    for pid, status, url, token, b64 in partners:
        last = heard.get(pid)
        if last is not None and last >= quiet_since:
            alive = True
        elif url and token:
            alive = await _ping(ctx, url, token, b64, pid)
        else:
            continue
        new = CONNECTED if alive else OFFLINE
        result[pid] = new
        if new != status:
            async with transaction(ctx.sessionmaker) as session:
                await session.execute(update(PartnerRow).where(
                    PartnerRow.id == pid, PartnerRow.status == status).values(status=new))
            log.info("ocpi.partner.status", partner_id=pid, status=new)
    await announce_changes(ctx)
    return result


def _client_infos(partner: PartnerRow, now: str) -> list[dict[str, Any]]:
    # mod_hub_client_info (ClientInfo Object)
    return [{"party_id": p.party_id, "country_code": p.country_code, "role": p.role,
             "status": partner.status, "last_updated": now}
            for p in partner.parties if not p.is_own and p.role in ROLES]


async def announce_changes(ctx: HubContext) -> int:
    """PUT ClientInfo for every partner whose status changed; returns the PUTs attempted."""
    now = format_datetime(ctx.clock())
    async with transaction(ctx.sessionmaker) as session:
        partners = (await session.scalars(select(PartnerRow).where(
            PartnerRow.protocol == "ocpi").order_by(PartnerRow.id))).all()
        states = {s.partner_id: s for s in (await session.scalars(
            select(OcpiPartnerStateRow))).all()}
        changed: list[tuple[int, list[dict[str, Any]]]] = []
        for p in partners:
            state = states.get(p.id)
            if state is None:
                state = OcpiPartnerStateRow(partner_id=p.id)
                session.add(state)
            if state.announced_status != p.status:
                state.announced_status = p.status
                state.checked_at = ctx.clock()
                changed.append((p.id, _client_infos(p, now)))
        receivers = [(p.id, url.rstrip("/"), p.token_out, p.token_out_base64)
                     for p in partners
                     if p.status == CONNECTED and p.token_out
                     and (url := endpoint_url(p, "hubclientinfo", "RECEIVER"))]
    sent = 0
    for rid, url, token, b64 in receivers:
        for pid, infos in changed:
            if pid == rid:
                continue
            for info in infos:
                sent += 1
                try:
                    await ocpi_request(
                        ctx.http, "PUT", f"{url}/{info['country_code']}/{info['party_id']}",
                        token=token, use_base64=b64, body=info, partner_id=rid,
                        timeout_s=ctx.settings.ocpi.request_timeout)
                except OcpiUnreachable:
                    log.info("ocpi.clientinfo.unreachable", partner_id=rid)
    return sent
