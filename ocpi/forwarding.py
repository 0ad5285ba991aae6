"""One forwarded leg of a hub-routed request (issue 5, item 3).

transport_and_format (Unique message IDs): the request to the receiving party carries a NEW
X-Request-ID and the SAME X-Correlation-ID (``ocpi.client`` makes the first, takes the second
from ``ocpi.journal.CORRELATION_ID``, set by ``ocpi.errors.OcpiRoute`` from the incoming
request); both legs land in the journal. transport_and_format (Party to Party via Hub): the
routing headers are kept (FROM = the requesting party, TO = the receiving party); the answer
goes back with them swapped. Bodies are passed on as the bytes received, both ways (the
request's, unless the hub rewrites it: a command's ``response_url``; the answer's envelope), so
``last_updated`` and every number arrive unchanged (Timestamps and Objects send via Hubs) and
the hub spends no time decoding and re-encoding objects.

status_codes (4xxx: Hub errors), all with HTTP 200 (the request reached the hub's OCPI layer):
4001 unknown receiver, 4002 the receiver did not answer in ``settings.ocpi.request_timeout``,
4003 the receiver is not connected (not CONNECTED, no endpoint for the module, connection
refused, or its URL refused by the allow-list). The receiver's own 2xxx/3xxx answers are passed
back as they are (status_codes: "The Hub SHALL then forward this error").

The answer's ``Link`` and ``Location`` headers point into the receiver's system: they are
rewritten to hub proxy URLs (``ocpi.proxy``) usable only by the requesting partner.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import httpx
from fastapi import Request, Response

from hub.context import HubContext
from hub.db.base import transaction
from hub.db.models import PartnerRow
from hub.domain import PartyRef
from ocpi.auth import CONNECTED
from ocpi.client import OcpiUnreachable, ocpi_request, routing_headers
from ocpi.errors import CLIENT_API_UNUSABLE, OcpiError
from ocpi.journal import CORRELATION_ID
from ocpi.proxy import LINK, LOCATION, make_proxy, next_link
from ocpi.response import ocpi_response

UNKNOWN_RECEIVER = 4001
FORWARD_TIMEOUT = 4002
NOT_CONNECTED = 4003


def unknown_receiver(message: str) -> OcpiError:
    return OcpiError(UNKNOWN_RECEIVER, message)


def not_connected(message: str) -> OcpiError:
    return OcpiError(NOT_CONNECTED, message)


class Platform(Protocol):
    """What a leg needs of the receiving platform (a ``PartnerRow`` or a cached copy)."""

    @property
    def id(self) -> int: ...
    @property
    def status(self) -> str: ...
    @property
    def token_out(self) -> str | None: ...
    @property
    def token_out_base64(self) -> bool: ...


@dataclass(frozen=True)
class PlatformSnapshot:
    """The fields of a ``PartnerRow`` a leg needs, kept by ``ocpi.routing``'s route cache."""

    id: int
    status: str
    token_out: str | None
    token_out_base64: bool

    @classmethod
    def of(cls, row: PartnerRow) -> PlatformSnapshot:
        return cls(row.id, row.status, row.token_out, row.token_out_base64)


@dataclass(frozen=True)
class Leg:
    """Where a request goes: the receiving platform, the URL, and the parties addressed."""

    partner_id: int
    token: str
    use_base64: bool
    url: str
    sender: PartyRef | None  # OCPI-from-*: the requesting party
    receiver: PartyRef | None  # OCPI-to-*: the receiving party


def leg_to(partner: Platform | None, url: str | None, sender: PartyRef | None,
           receiver: PartyRef | None, what: str) -> Leg:
    """4003 unless the partner is CONNECTED, has a token for us and the endpoint."""
    if partner is None:
        raise unknown_receiver(f"unknown receiver for {what}")
    if partner.status != CONNECTED or not partner.token_out:
        raise not_connected(f"receiver {receiver or partner.id} is not connected "
                            f"({partner.status})")
    if url is None:
        raise not_connected(f"receiver {receiver or partner.id} has no endpoint for {what}")
    return Leg(partner.id, partner.token_out, partner.token_out_base64, url, sender, receiver)


def _swapped(leg: Leg) -> dict[str, str]:
    headers: dict[str, str] = {}
    if leg.receiver is not None:
        headers["OCPI-from-country-code"] = leg.receiver.country_code
        headers["OCPI-from-party-id"] = leg.receiver.party_id
    if leg.sender is not None:
        headers["OCPI-to-country-code"] = leg.sender.country_code
        headers["OCPI-to-party-id"] = leg.sender.party_id
    return headers


async def forward(ctx: HubContext, request: Request, content: bytes | None, leg: Leg,
                  user_partner_id: int, *, pass_query: bool = True) -> Response:
    """Send the request on to ``leg`` and turn the answer into ours (see module docstring).
    ``content``: the JSON body to send, as bytes (None: no body). The query string is passed
    on as received."""
    url = leg.url
    query = request.scope.get("query_string", b"") if pass_query else b""
    if query:
        url += ("&" if "?" in url else "?") + query.decode("latin-1")
    try:
        reply = await ocpi_request(
            ctx.http, request.method, url, token=leg.token, use_base64=leg.use_base64,
            content=content, headers=routing_headers(leg.sender, leg.receiver),
            timeout_s=ctx.settings.ocpi.request_timeout, correlation_id=CORRELATION_ID.get(),
            partner_id=leg.partner_id, decode=False, pooled=True)
    except OcpiUnreachable as exc:
        cause = exc.__cause__
        if isinstance(cause, httpx.TimeoutException) and not isinstance(
                cause, httpx.ConnectTimeout):
            raise OcpiError(FORWARD_TIMEOUT, f"receiver {leg.receiver} did not answer in "
                            f"{ctx.settings.ocpi.request_timeout} s") from exc
        raise not_connected(f"receiver {leg.receiver} is unreachable") from exc
    headers = _swapped(leg)
    for name in ("X-Total-Count", "X-Limit"):
        if name in reply.headers:
            headers[name] = reply.headers[name]
    link = next_link(reply.headers.get("link"))
    location = reply.headers.get("location")
    if link or location:
        async with transaction(ctx.sessionmaker) as session:
            if link:
                proxied = await make_proxy(session, ctx.settings, LINK, link,
                                           target_partner_id=leg.partner_id,
                                           user_partner_id=user_partner_id, now=ctx.clock())
                headers["Link"] = f'<{proxied}>; rel="next"'
            if location:
                headers["Location"] = await make_proxy(
                    session, ctx.settings, LOCATION, location, target_partner_id=leg.partner_id,
                    user_partner_id=user_partner_id, now=ctx.clock())
    if reply.status_code is None:
        return ocpi_response(status_code=CLIENT_API_UNUSABLE,
                             message=f"receiver answered HTTP {reply.http_status} without an "
                             "OCPI envelope", http_status=reply.http_status, headers=headers)
    # status_codes: the receiver's answer, errors included, goes back as it is.
    return Response(reply.content, status_code=reply.http_status,
                    media_type="application/json", headers=headers)
