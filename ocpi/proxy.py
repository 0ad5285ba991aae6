"""URL proxy table of the hub (issue 5, item 3; PROTOCOL_NOTES, OCPI: "a forwarding hub ...
rewrites every URL that points into a system the other side can't reach").

When the hub forwards a request or an answer between two partners, three kinds of URL point
into one partner's system and are handed to the other: a command's ``response_url``
(mod_commands, the eMSP's URL given to the CPO), the pagination ``Link`` header
(transport_and_format, Paginated Response) and the ``Location`` header of a CDR POST
(mod_cdrs, POST). Each is replaced by ``{public_url}/ocpi/proxy/{opaque id}``; a row maps the
id to the original URL, the partner whose system it is (the hub calls it with that partner's
token) and the only partner allowed to use it, until ``expires_at``
(``settings.ocpi.proxy_ttl_minutes``). Expired rows are deleted lazily on use and by
:func:`purge_expired` (a scheduler job, ``ocpi.runtime``).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.db.base import transaction
from hub.db.models_ocpi_routing import OcpiProxyRow
from hub.settings import Settings
from ocpi.urls import ocpi_url

PROXY_PATH = "/proxy"
RESPONSE_URL, LINK, LOCATION = "response_url", "link", "location"
_LINK = re.compile(r'^\s*<([^>]+)>\s*;\s*rel\s*=\s*"?next"?\s*$', re.IGNORECASE)


@dataclass(frozen=True)
class ProxyTarget:
    target_url: str
    target_partner_id: int | None
    user_partner_id: int | None


def proxy_url(settings: Settings, proxy_id: str) -> str:
    return ocpi_url(settings, f"{PROXY_PATH}/{proxy_id}")


async def make_proxy(session: AsyncSession, settings: Settings, kind: str, target_url: str, *,
                     target_partner_id: int | None, user_partner_id: int | None,
                     now: datetime) -> str:
    """A new hub URL standing for ``target_url``; returns the URL to hand out."""
    proxy_id = secrets.token_urlsafe(24)
    session.add(OcpiProxyRow(
        proxy_id=proxy_id, kind=kind, target_url=target_url,
        target_partner_id=target_partner_id, user_partner_id=user_partner_id, created_at=now,
        expires_at=now + timedelta(minutes=settings.ocpi.proxy_ttl_minutes)))
    await session.flush()
    return proxy_url(settings, proxy_id)


async def resolve(session: AsyncSession, proxy_id: str, now: datetime) -> ProxyTarget | None:
    """The target of a live proxy id; an expired one is deleted and gives None."""
    row = (await session.scalars(select(OcpiProxyRow).where(
        OcpiProxyRow.proxy_id == proxy_id))).first()
    if row is None:
        return None
    if row.expires_at <= now:
        await session.delete(row)
        return None
    return ProxyTarget(row.target_url, row.target_partner_id, row.user_partner_id)


async def purge_expired(sessionmaker: async_sessionmaker[AsyncSession], now: datetime) -> int:
    async with transaction(sessionmaker) as session:
        result = await session.execute(
            delete(OcpiProxyRow).where(OcpiProxyRow.expires_at <= now))
        return int(getattr(result, "rowcount", 0) or 0)


def next_link(header: str | None) -> str | None:
    """The URL of a ``Link: <url>; rel="next"`` header (several links: the "next" one)."""
    if not header:
        return None
    for part in header.split(","):
        match = _LINK.match(part)
        if match:
            return match.group(1).strip()
    return None
