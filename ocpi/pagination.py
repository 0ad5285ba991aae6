"""Pagination client: GET every object of a partner's Sender interface (issue 5, items 2 and
7; OCPI 2.2.1 transport_and_format, Paginated Response).

The ``Link: <url>; rel="next"`` header is followed when it is well-formed, on the same scheme,
host and port as the URL we started from (anything else could be an SSRF vector or a URL
only reachable inside the partner's network), and not a page we already fetched. Otherwise we
fall back to offset arithmetic from ``X-Total-Count`` and ``X-Limit`` (PROTOCOL_NOTES, OCPI:
"survive broken Link headers"). Objects are de-duplicated by (country_code, party_id, id/uid);
a page that brings nothing new, an empty page or ``max_pages`` ends the walk (no loops).

Deviations are journaled against the peer (``ocpi.journal``, shown by
``GET /admin/ocpi/deviations``): ``unusable_link`` (malformed, other host, relative),
``link_loop`` (a Link to a page already fetched, or no progress), ``missing_link`` (no Link
although ``X-Total-Count`` says more objects follow).

:func:`pull_locations` stores a partner CPO's Locations in the hub's store of partner objects
(what GET All via the hub answers from).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx
import structlog
from pydantic import ValidationError
from sqlalchemy import select

from hub.context import HubContext
from hub.db.base import transaction
from hub.db.models import PartnerRow
from hub.domain import PartyRef
from hub.services.parties import party_ref
from hub.services.partners import endpoint_url
from ocpi import quality
from ocpi.client import OcpiUnreachable, ocpi_request
from ocpi.journal import Entry, module_of, record, safe_path
from ocpi.object_store import save_partner_location
from ocpi.proxy import next_link
from ocpi.schemas_objects import Location

log = structlog.get_logger("ocpi.pagination")

MAX_PAGES = 10_000


class PullFailed(Exception):
    """The partner answered a page with an error or not at all (``upstream``), or cannot be
    pulled from (not registered, no locations Sender)."""

    def __init__(self, message: str, *, upstream: bool = False) -> None:
        super().__init__(message)
        self.upstream = upstream


@dataclass
class Pulled:
    items: list[dict[str, Any]] = field(default_factory=list)
    pages: int = 0
    deviations: set[str] = field(default_factory=set)


def _key(obj: Any) -> tuple[str, str, str] | None:
    if not isinstance(obj, dict):
        return None
    ident = obj.get("id", obj.get("uid"))
    return (str(obj.get("country_code", "")).upper(), str(obj.get("party_id", "")).upper(),
            str(ident))


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _url_key(url: str, params: dict[str, str]) -> str:
    parsed = httpx.URL(url)
    return str(parsed.copy_merge_params(params) if params else parsed)


def usable_link(link: str | None, origin: httpx.URL) -> bool:
    if not link:
        return False
    try:
        url = httpx.URL(link)
    except (httpx.InvalidURL, ValueError):
        return False
    return url.scheme == origin.scheme and url.host == origin.host \
        and url.port == origin.port and bool(url.host)


async def fetch_all(http: httpx.AsyncClient, url: str, *, token: str, use_base64: bool,
                    partner_id: int | None, params: dict[str, str] | None = None,
                    headers: dict[str, str] | None = None, timeout_s: float | None = None,
                    max_pages: int = MAX_PAGES) -> Pulled:
    origin = httpx.URL(url)
    base_params = dict(params or {})
    start = int(base_params.get("offset", "0"))
    out = Pulled()
    fetched: set[str] = set()
    seen: set[tuple[str, str, str]] = set()
    next_url, next_params = url, base_params
    while out.pages < max_pages:
        fetched.add(_url_key(next_url, next_params))
        try:
            reply = await ocpi_request(http, "GET", next_url, token=token,
                                       use_base64=use_base64, params=next_params or None,
                                       headers=headers, timeout_s=timeout_s,
                                       partner_id=partner_id)
        except OcpiUnreachable as exc:
            raise PullFailed(str(exc), upstream=True) from exc
        if not reply.ok:
            raise PullFailed(f"GET {safe_path(next_url)}: HTTP {reply.http_status}, "
                             f"status {reply.status_code}", upstream=True)
        out.pages += 1
        data = reply.data if isinstance(reply.data, list) else []
        new = 0
        for obj in data:
            key = _key(obj)
            if key is None or key in seen:
                continue
            seen.add(key)
            out.items.append(obj)
            new += 1
        offset = start + len(seen)  # stable order: the position after what we have
        if not data:
            break
        raw_link = reply.headers.get("link")
        link = next_link(raw_link)
        if raw_link and link is None:
            out.deviations.add("unusable_link")
        if link is not None:
            if not usable_link(link, origin):
                out.deviations.add("unusable_link")
            elif link in fetched or new == 0:
                out.deviations.add("link_loop")
            else:
                next_url, next_params = link, {}
                continue
        # Offset arithmetic (the Link was missing or unusable).
        total = _int(reply.headers.get("x-total-count"))
        if total is None or offset >= total:
            break
        if not raw_link:
            out.deviations.add("missing_link")
        limit = _int(reply.headers.get("x-limit")) or len(data)
        next_url = url
        next_params = {**base_params, "offset": str(offset), "limit": str(limit)}
        if _url_key(next_url, next_params) in fetched:
            out.deviations.add("link_loop")
            break
    if out.deviations:
        record(http, Entry("out", "GET", safe_path(url), partner_id,
                           module_of(origin.path), deviations=sorted(out.deviations)))
        log.info("ocpi.pagination.deviations", partner_id=partner_id,
                 deviations=sorted(out.deviations))
    return out


async def pull_locations(ctx: HubContext, partner_id: int) -> int:
    """GET all Locations of a partner's CPO parties into the hub's store; returns how many
    were stored (objects of parties that are not the partner's are skipped)."""
    async with transaction(ctx.sessionmaker) as session:
        partner = await session.get(PartnerRow, partner_id)
        if partner is None or not partner.token_out:
            raise PullFailed(f"partner {partner_id} is not registered")
        url = endpoint_url(partner, "locations", "SENDER")
        parties = [party_ref(p) for p in partner.parties if p.role == "CPO" and not p.is_own]
        token, use_base64 = partner.token_out, partner.token_out_base64
    if url is None:
        raise PullFailed(f"partner {partner_id} has no locations Sender endpoint")
    pulled = await fetch_all(ctx.http, url, token=token, use_base64=use_base64,
                             partner_id=partner_id, timeout_s=ctx.settings.ocpi.request_timeout)
    stored = 0
    async with transaction(ctx.sessionmaker) as session:
        for obj in pulled.items:
            try:
                loc = Location.model_validate(obj)
            except ValidationError:
                log.info("ocpi.pagination.invalid_location", partner_id=partner_id)
                continue
            cpo = next((p for p in parties if p.same_party(loc.country_code, loc.party_id)),
                       None)
            if cpo is None:
                continue
            await save_partner_location(session, PartyRef(cpo.country_code, cpo.party_id,
                                                          "CPO"),
                                        loc.model_dump(exclude_none=True), loc.last_updated,
                                        partner_id)
            await quality.record_findings(
                session, module="locations", partner_id=partner_id,
                object_key=quality.object_key(cpo.country_code, cpo.party_id, loc.id),
                findings=quality.check_location(loc, ctx.clock()), now=ctx.clock())
            stored += 1
    return stored


async def pull_all_partners(ctx: HubContext) -> dict[int, int | str]:
    """The scheduled pull (``HUB_OCPI__PULL_LOCATIONS_HOURS``): every CONNECTED partner with a
    CPO party and a locations Sender; per partner, how many were stored or why it failed.
    Catches what a partner never pushed (or pushed while we were down)."""
    async with transaction(ctx.sessionmaker) as session:
        partners = (await session.scalars(select(PartnerRow).where(
            PartnerRow.status == "CONNECTED").order_by(PartnerRow.id))).all()
        ids = [p.id for p in partners
               if endpoint_url(p, "locations", "SENDER") is not None
               and any(q.role == "CPO" and not q.is_own for q in p.parties)]
    results: dict[int, int | str] = {}
    for partner_id in ids:
        try:
            results[partner_id] = await pull_locations(ctx, partner_id)
        except PullFailed as exc:
            results[partner_id] = str(exc)
            log.warning("ocpi.pagination.pull_failed", partner_id=partner_id, error=str(exc))
    return results
