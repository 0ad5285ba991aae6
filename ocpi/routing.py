"""Hub routing between third parties (issue 5, item 3; OCPI 2.2.1 transport_and_format,
Message Routing).

A dispatcher runs in front of every functional-module endpoint (:func:`install`, called where
``ocpi.ocpi_router`` is built) and decides from the routing headers where a request goes:

- OCPI-to names one of OUR parties (or is absent, for most requests): the existing handler
  answers, as before.
- OCPI-to names a party of another partner: direct routing (Party to Party via Hub), the
  request is forwarded to that partner's endpoint for the same module and interface
  (``ocpi.forwarding``). Unknown party -> 4001.
- OCPI-to names the hub (the own party with role HUB): a GET of the list of a Sender interface
  (locations, tariffs) is answered from the hub's store (``ocpi.get_all``); a PUT/PATCH/DELETE
  of a location, tariff or token is a Broadcast Push (``ocpi.broadcast``).
- No OCPI-to header (Open Routing Request): ``POST tokens/{uid}/authorize`` goes to the eMSP
  owning the token (index: tokens pushed to us, then the contract id / EMAID prefix of the
  uid); ``POST commands/{command}`` goes to the CPO owning the location (or session) named in
  the body. A push of a location, tariff or token is broadcast (``broadcast_open_pushes``).
  What the index does not know is answered by our own eMSP/CPO when we run one, else 4001.

Routed requests: the caller must be a CONNECTED partner whose agreement allows the module
(``ocpi.auth.partner_caller``: HTTP 403, 2000), the OCPI-from party must be one of the caller's
(HTTP 403, 2000; a partner with the HUB role may speak for others), and the receiver's
agreement must allow the module too (HTTP 403, 2000). A forwarded command's ``response_url``
is replaced by a hub proxy URL (``ocpi.proxy``) only the receiver may use.

The dispatcher is a route class (:class:`RoutingRoute`) swapped onto the module routers' routes,
sitting inside ``ocpi.errors.OcpiRoute``: the incoming leg is journaled and its errors become
OCPI envelopes exactly as for local requests.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import structlog
from fastapi import APIRouter, Request, Response
from fastapi.routing import APIRoute
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.context import HubContext
from hub.db.base import transaction
from hub.db.models import ChargingSessionRow, OcpiPartnerLocationRow, PartnerRow, PartyRow, TokenRow
from hub.domain import PartyRef
from hub.services.parties import find_party, party_ref
from hub.services.partners import endpoint_url
from ocpi.agreements import allowed_in
from ocpi.auth import Caller, Ctx, PartnerCaller, caches, hub_context, partner_caller
from ocpi.broadcast import MODULES as BROADCAST_MODULES
from ocpi.broadcast import fan_out, snapshot, unchanged
from ocpi.encoding import dumps, loads
from ocpi.errors import GENERIC_CLIENT_ERROR, INVALID_PARAMETERS, OcpiError, OcpiRoute
from ocpi.forwarding import Leg, PlatformSnapshot, forward, leg_to, unknown_receiver
from ocpi.get_all import MODULES as GET_ALL_MODULES
from ocpi.get_all import get_all
from ocpi.journal import module_of
from ocpi.parsing import json_body
from ocpi.proxy import PROXY_PATH, RESPONSE_URL, make_proxy, resolve
from ocpi.urls import ENDPOINTS

log = structlog.get_logger("ocpi.routing")

OCPI_PREFIX = "/ocpi"
NOT_ROUTED = frozenset({"versions", "credentials", "hubclientinfo"})
OPPOSITE = {"CPO": "EMSP", "EMSP": "CPO"}
_AUTHORIZE = re.compile(r"^/([^/]+)/authorize$")
_COMMAND = re.compile(r"^/([A-Z_]+)$")
_CONTRACT = re.compile(r"^([A-Za-z]{2})[-*]?([A-Za-z0-9]{3})")
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})

Handler = Callable[[Request], Coroutine[Any, Any, Response]]


# -- where a request is addressed ---------------------------------------------------------------


def interface_of(path: str) -> tuple[str, str, str, str, str] | None:
    """(own role, module, interface role, endpoint path, remainder) of a request path."""
    rel = path[len(OCPI_PREFIX):] if path.startswith(OCPI_PREFIX + "/") else path
    for own_role, module, interface, endpoint in ENDPOINTS:
        if rel == endpoint or rel.startswith(endpoint + "/"):
            return own_role, module, interface, endpoint, rel[len(endpoint):]
    return None


def header_party(request: Request, side: str) -> tuple[str, str] | None:
    cc = request.headers.get(f"ocpi-{side}-country-code")
    pid = request.headers.get(f"ocpi-{side}-party-id")
    return (cc.strip(), pid.strip()) if cc and pid else None


def _is_own(ctx: HubContext, cc: str, pid: str, role: str | None = None) -> bool:
    return any(p.country_code.upper() == cc.upper() and p.party_id.upper() == pid.upper()
               and (role is None or p.role == role) for p in ctx.settings.parties)


def _sender(caller: Caller, named: tuple[str, str] | None, receiver_role: str | None
            ) -> PartyRef | None:
    """The requesting party: the OCPI-from party (must be the caller's own unless the caller
    is a hub), or, without headers (deviation), the caller's party of the opposite role."""
    if named is not None:
        own = [p for p in caller.parties if p.same_party(*named)]
        if own:
            want = OPPOSITE.get(receiver_role or "")
            return next((p for p in own if p.role == want), own[0])
        if caller.is_hub:
            return PartyRef(named[0], named[1], OPPOSITE.get(receiver_role or "", "OTHER"))
        raise OcpiError(GENERIC_CLIENT_ERROR, f"OCPI-from {named[0]}*{named[1]} is not a "
                        "party of this connection", 403)
    want = OPPOSITE.get(receiver_role or "")
    return next((p for p in caller.parties if p.role == want),
                caller.parties[0] if caller.parties else None)


@dataclass(frozen=True)
class Route:
    """A receiving party as the database describes it: its platform, whether the platform's
    agreement allows the module, and the platform's endpoint for the module and interface.
    Kept in the route cache (``ocpi.auth.TableCache``: any committed change to partners,
    parties or agreements in this process is seen by the next request)."""

    receiver: PartyRef
    is_own: bool
    platform: PlatformSnapshot | None
    allowed: bool
    base_url: str | None

    def leg(self, module: str, interface: str, remainder: str, sender: PartyRef | None) -> Leg:
        if self.platform is not None and not self.allowed:
            raise OcpiError(GENERIC_CLIENT_ERROR, f"module {module} is not in the roaming "
                            f"agreement of the receiver {self.receiver}", 403)
        url = self.base_url.rstrip("/") + remainder if self.base_url else None
        return leg_to(self.platform, url, sender, self.receiver, f"{module} {interface}")


async def _route_in(session: AsyncSession, party: PartyRow, module: str, interface: str
                    ) -> Route:
    partner = await session.get(PartnerRow, party.partner_id) \
        if party.partner_id is not None else None
    allowed = partner is None or await allowed_in(session, partner.id, module)
    return Route(party_ref(party), party.is_own,
                 PlatformSnapshot.of(partner) if partner is not None else None, allowed,
                 endpoint_url(partner, module, interface) if partner is not None else None)


async def _receiver_leg(ctx: HubContext, party: PartyRow, module: str, interface: str,
                        remainder: str, sender: PartyRef | None) -> Leg:
    async with transaction(ctx.sessionmaker) as session:
        route = await _route_in(session, party, module, interface)
    return route.leg(module, interface, remainder, sender)


async def _direct_route(ctx: HubContext, request: Request, to: tuple[str, str], own_role: str,
                        module: str, interface: str) -> Route:
    """The receiving party named by OCPI-to (4001 when unknown or ours) with its platform and
    endpoint: from the route cache, else one unit of work."""
    cache = caches(request).routes
    ttl = ctx.settings.ocpi.caller_cache_seconds
    key = (to[0].upper(), to[1].upper(), own_role, module, interface)
    route: Route | None = cache.get(key) if ttl > 0 else None
    if route is None:
        seen = cache.mark()
        async with transaction(ctx.sessionmaker) as session:
            party = await find_party(session, to[0], to[1], own_role) \
                or await find_party(session, to[0], to[1])
            route = await _route_in(session, party, module, interface) \
                if party is not None else None
        if route is None or route.is_own:
            raise unknown_receiver(f"unknown receiver {to[0]}*{to[1]}")
        cache.put(key, route, seen, ttl)
    return route


async def _direct_leg(ctx: HubContext, request: Request, caller: Caller, to: tuple[str, str],
                      own_role: str, module: str, interface: str, remainder: str) -> Leg:
    """Direct routing: the receiving party named by OCPI-to and its endpoint."""
    route = await _direct_route(ctx, request, to, own_role, module, interface)
    sender = _sender(caller, header_party(request, "from"), route.receiver.role)
    return route.leg(module, interface, remainder, sender)


async def _rewrite_response_url(ctx: HubContext, body: Any, caller: Caller, leg: Leg) -> Any:
    """mod_commands: the CPO POSTs the CommandResult to ``response_url``; it gets a hub URL
    that forwards to the eMSP's (usable by the receiving platform only)."""
    if not isinstance(body, dict) or not isinstance(body.get("response_url"), str):
        return body
    async with transaction(ctx.sessionmaker) as session:
        url = await make_proxy(session, ctx.settings, RESPONSE_URL, body["response_url"],
                               target_partner_id=caller.partner_id,
                               user_partner_id=leg.partner_id, now=ctx.clock())
    return {**body, "response_url": url}


async def _raw_body(request: Request) -> bytes | None:
    """The request body to pass on as it is; status_codes: not valid JSON is HTTP 400."""
    if request.method not in _BODY_METHODS:
        return None
    raw = await request.body()
    if not raw:
        return None
    try:
        json.loads(raw)
    except ValueError as exc:
        raise OcpiError(INVALID_PARAMETERS, "request body is not valid JSON", 400) from exc
    return raw


async def _forward(ctx: HubContext, request: Request, caller: Caller, module: str,
                   leg: Leg) -> Response:
    if module == "commands" and request.method in _BODY_METHODS:
        body = await _rewrite_response_url(ctx, await json_body(request), caller, leg)
        content = dumps(body) if body is not None else None
    else:
        content = await _raw_body(request)
    log.info("ocpi.routing.forward", module=module, method=request.method,
             from_partner=caller.partner_id, to_partner=leg.partner_id)
    return await forward(ctx, request, content, leg, caller.partner_id)


# -- open routing (no OCPI-to headers) --------------------------------------------------------


async def token_owner(ctx: HubContext, uid: str, token_type: str | None) -> PartyRow | None:
    """The eMSP owning a token: tokens pushed to us (or our own), then its contract id, then
    the contract-id / EMAID prefix of the uid (``LV-ABC-C123...``, ``LVABC...``)."""
    async with transaction(ctx.sessionmaker) as session:
        conds = [func.upper(TokenRow.uid) == uid.upper()]
        if token_type:
            conds.append(TokenRow.type == token_type)
        row = (await session.scalars(select(TokenRow).where(*conds).order_by(TokenRow.id)
                                     )).first()
        if row is None:
            row = (await session.scalars(select(TokenRow).where(
                func.upper(TokenRow.contract_id) == uid.upper()).order_by(TokenRow.id))).first()
        if row is not None:
            return await session.get(PartyRow, row.party_pk)
        match = _CONTRACT.match(uid)
        if match is None:
            return None
        return await find_party(session, match.group(1), match.group(2), "EMSP")


async def command_owner(ctx: HubContext, body: Any) -> PartyRow | None:
    """The CPO a command is for: the owner of its ``location_id``, else of its
    ``session_id`` (STOP_SESSION), as stored by the hub."""
    if not isinstance(body, dict):
        return None
    async with transaction(ctx.sessionmaker) as session:
        location_id = body.get("location_id")
        if isinstance(location_id, str):
            row = (await session.scalars(select(OcpiPartnerLocationRow).where(
                func.upper(OcpiPartnerLocationRow.location_id) == location_id.upper())
                .order_by(OcpiPartnerLocationRow.id))).first()
            if row is not None:
                return await session.get(PartyRow, row.party_pk)
        session_id = body.get("session_id")
        if isinstance(session_id, str):
            srow = (await session.scalars(select(ChargingSessionRow).where(
                ChargingSessionRow.session_id == session_id)
                .order_by(ChargingSessionRow.id))).first()
            if srow is not None:
                return await session.get(PartyRow, srow.cpo_party_pk)
    return None


async def _open_route(ctx: HubContext, request: Request, module: str, interface: str,
                      remainder: str, own_role: str) -> Response | None:
    """Forwarded answer, or None when our own handler answers."""
    if request.method != "POST":
        return None
    if module == "tokens" and interface == "SENDER" and _AUTHORIZE.match(remainder):
        uid = _AUTHORIZE.match(remainder).group(1)  # type: ignore[union-attr]
        party = await token_owner(ctx, uid, request.query_params.get("type"))
    elif module == "commands" and _COMMAND.match(remainder):
        party = await command_owner(ctx, await json_body(request))
    else:
        return None
    if party is None or party.is_own:
        if party is None and ctx.settings.own_party(own_role) is None:
            raise unknown_receiver(f"no receiver known for this {module} request")
        return None  # ours, or unknown and we are the default receiver (2003/2004 there)
    caller = await partner_caller(request)
    sender = _sender(caller, header_party(request, "from"), party.role)
    leg = await _receiver_leg(ctx, party, module, interface, remainder, sender)
    return await _forward(ctx, request, caller, module, leg)


# -- the dispatcher ----------------------------------------------------------------------------


async def _broadcast(ctx: HubContext, request: Request, local: Handler, module: str,
                     endpoint: str, remainder: str) -> Response:
    caller = await partner_caller(request)
    body_raw = await request.body()
    stored = await snapshot(ctx, request, module)
    response = await local(request)
    if not 200 <= response.status_code < 300:
        return response
    try:
        answer = loads(bytes(response.body))
    except ValueError:
        return response
    if answer.get("status_code") != 1000:
        return response
    body = loads(body_raw) if body_raw else None
    if request.method in ("PUT", "PATCH") and unchanged(stored, body, request.method):
        log.info("ocpi.broadcast.unchanged", module=module)  # de-duplicated (issue 5, item 7)
        return response
    sender = _sender(caller, header_party(request, "from"),
                     "CPO" if module == "tokens" else "EMSP")
    await fan_out(ctx, caller.partner_id, sender, module, request.method, remainder,
                  request.url.query, body_raw)
    return response


async def dispatch(request: Request, local: Handler) -> Response:
    ctx = hub_context(request)
    found = interface_of(request.url.path)
    if found is None:
        return await local(request)
    own_role, module, interface, endpoint, remainder = found
    to = header_party(request, "to")
    hub = ctx.settings.own_party("HUB")
    to_hub = to is not None and hub is not None and _is_own(ctx, *to, role="HUB")
    pushes = request.method in ("PUT", "PATCH", "DELETE") and interface == "RECEIVER" \
        and module in BROADCAST_MODULES
    if to_hub:
        if request.method == "GET" and interface == "SENDER" and remainder in ("", "/") \
                and module in GET_ALL_MODULES:
            await partner_caller(request)
            return await get_all(ctx, request, module, endpoint)
        if pushes:
            return await _broadcast(ctx, request, local, module, endpoint, remainder)
        return await local(request)
    if to is None:
        if pushes and ctx.settings.ocpi.broadcast_open_pushes:
            return await _broadcast(ctx, request, local, module, endpoint, remainder)
        routed = await _open_route(ctx, request, module, interface, remainder, own_role)
        return routed if routed is not None else await local(request)
    if _is_own(ctx, *to):
        return await local(request)
    # Direct routing to a third party (Party to Party via Hub).
    caller = await partner_caller(request)
    leg = await _direct_leg(ctx, request, caller, to, own_role, module, interface, remainder)
    return await _forward(ctx, request, caller, module, leg)


class _DispatchRoute(APIRoute):
    def get_route_handler(self) -> Handler:
        local = super().get_route_handler()

        async def dispatching(request: Request) -> Response:
            return await dispatch(request, local)

        return dispatching


class RoutingRoute(OcpiRoute, _DispatchRoute):
    """OcpiRoute (envelopes, journal) around the dispatcher around the module's handler."""


def install(router: APIRouter) -> APIRouter:
    """Put the dispatcher in front of every functional-module route of ``router`` (the routes
    of the module routers it includes, which FastAPI includes lazily: their route handlers are
    built from these objects' class when an app first serves them)."""
    for route in _all_routes(router):
        if type(route) is OcpiRoute and module_of(route.path) not in NOT_ROUTED \
                and interface_of(route.path) is not None:
            route.__class__ = RoutingRoute
    router.include_router(proxy_router)
    return router


def _all_routes(router: APIRouter) -> list[APIRoute]:
    out: list[APIRoute] = []
    for route in router.routes:
        if isinstance(route, APIRoute):
            out.append(route)
        original = getattr(route, "original_router", None)
        if isinstance(original, APIRouter):
            out.extend(_all_routes(original))
    return out


# -- the proxy endpoint (ocpi.proxy) -----------------------------------------------------------

proxy_router = APIRouter(route_class=OcpiRoute)


@proxy_router.api_route(PROXY_PATH + "/{proxy_id}",
                        methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
async def use_proxy(request: Request, ctx: Ctx, caller: PartnerCaller, proxy_id: str
                    ) -> Response:
    """A hub URL handed out in place of a partner's response_url, Link or Location."""
    async with transaction(ctx.sessionmaker) as session:
        target = await resolve(session, proxy_id, ctx.clock())
        partner = await session.get(PartnerRow, target.target_partner_id) \
            if target is not None and target.target_partner_id is not None else None
    if target is None or target.user_partner_id not in (None, caller.partner_id):
        raise OcpiError(GENERIC_CLIENT_ERROR, "unknown or expired hub proxy URL "
                        f"(they live {ctx.settings.ocpi.proxy_ttl_minutes} minutes)", 404)
    to = header_party(request, "to")
    receiver = PartyRef(to[0], to[1], "OTHER") if to is not None else None
    frm = header_party(request, "from")
    sender = PartyRef(frm[0], frm[1], "OTHER") if frm is not None else None
    leg = leg_to(partner, target.target_url, sender, receiver, "this proxy URL")
    return await forward(ctx, request, await _raw_body(request), leg, caller.partner_id)
