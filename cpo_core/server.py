"""The OCPP 1.6J central system: a WebSocket server at ``ws://HOST:PORT/ocpp/{station_id}``.

Before the upgrade, with real HTTP statuses (PROTOCOL_NOTES, OCPP; OCPP 1.6 security
whitepaper, profile 1): a path other than ``/ocpp/{id}`` -> 404; an unknown station -> 404
unless auto-registration is on; a station with a password needs HTTP Basic auth with the
station id as username -> else 401 with ``WWW-Authenticate``. A handshake without the
``ocpp2.0.1`` or ``ocpp1.6`` subprotocol is refused with 400 by websockets (OCPP-J 1.6 section
3.1.2, OCPP-J 2.0.1 section 3.1.2). Both versions share the endpoint; the negotiated subprotocol
picks the connection class (we prefer 2.0.1 when a station offers both).

A new connection for a station id replaces and closes the old one.

Limits (docs/ocpp.md, "Bad input"): a message over ``max_frame_bytes`` closes the connection
with 1009; at most ``max_queued_frames`` frames are buffered per connection before we stop
reading its socket, so a station flooding CALLs is slowed down by TCP flow control while its
frames are still handled one at a time, in order, and every one is answered.
"""

from __future__ import annotations

import asyncio
import http
from urllib.parse import unquote, urlsplit

import structlog
from ocpp.messages import MessageType, get_validator
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed, InvalidHeader
from websockets.frames import CloseCode
from websockets.headers import build_www_authenticate_basic, parse_authorization_basic
from websockets.http11 import Request, Response
from websockets.typing import Subprotocol

from cpo_core import tls
from cpo_core.authcache import AuthorizationCache
from cpo_core.base import library_logger
from cpo_core.central import StationConnection
from cpo_core.v21 import StationConnection21
from cpo_core.v201 import StationConnection201
from hub.context import HubContext
from hub.db.base import transaction
from hub.services import network

log = structlog.get_logger("cpo_core.server")

SUBPROTOCOL = Subprotocol("ocpp1.6")
SUBPROTOCOL_201 = Subprotocol("ocpp2.0.1")
SUBPROTOCOL_21 = Subprotocol("ocpp2.1")
# Our preference first: 2.0.1 is fully ours, 2.1 is 2.0.1 on the 2.1 schemas (cpo_core.v21).
SUBPROTOCOLS = [SUBPROTOCOL_201, SUBPROTOCOL_21, SUBPROTOCOL]
PATH_PREFIX = "/ocpp/"
REALM = "OCPP"
REPLACED = 1000  # normal closure, reason "replaced by a new connection"

# Station -> central system actions (OCPP 1.6 section 4) whose schemas we warm at start.
INBOUND_ACTIONS = ("Authorize", "BootNotification", "DataTransfer",
                   "DiagnosticsStatusNotification", "FirmwareStatusNotification", "Heartbeat",
                   "MeterValues", "SecurityEventNotification", "StartTransaction",
                   "StatusNotification", "StopTransaction")
# Station -> CSMS actions of OCPP 2.0.1 (Part 2) with a handler in cpo_core.v201*.
INBOUND_ACTIONS_201 = ("Authorize", "BootNotification", "ClearedChargingLimit", "DataTransfer",
                       "FirmwareStatusNotification", "Heartbeat", "LogStatusNotification",
                       "MeterValues", "NotifyChargingLimit", "NotifyCustomerInformation",
                       "NotifyDisplayMessages", "NotifyEVChargingNeeds",
                       "NotifyEVChargingSchedule", "NotifyEvent", "NotifyMonitoringReport",
                       "NotifyReport", "PublishFirmwareStatusNotification",
                       "ReportChargingProfiles", "ReservationStatusUpdate",
                       "SecurityEventNotification", "StatusNotification", "TransactionEvent")


def station_id_from_path(path: str) -> str | None:
    """``/ocpp/{id}`` (a trailing slash tolerated) -> id; anything else -> None."""
    route = urlsplit(path).path
    if not route.startswith(PATH_PREFIX):
        return None
    station_id = unquote(route[len(PATH_PREFIX):].rstrip("/"))
    if not station_id or "/" in station_id or len(station_id) > 64:
        return None
    return station_id


def basic_password(headers: Headers, station_id: str) -> str | None:
    """The Basic auth password if the username is the station id (security profile 1)."""
    header = headers.get("Authorization")
    if header is None:
        return None
    try:
        username, password = parse_authorization_basic(header)
    except InvalidHeader:
        return None
    return password if username == station_id else None


def _warm_schema_cache() -> None:
    for action in INBOUND_ACTIONS:
        get_validator(MessageType.Call, action, "1.6")
        get_validator(MessageType.CallResult, action, "1.6")
    for action in INBOUND_ACTIONS_201:
        get_validator(MessageType.Call, action, "2.0.1")
        get_validator(MessageType.CallResult, action, "2.0.1")


class OcppServer:
    def __init__(self, ctx: HubContext) -> None:
        self.ctx = ctx
        self.port: int = ctx.settings.ocpp.port
        self.stations: dict[str, StationConnection | StationConnection201] = {}
        self.auth_cache = AuthorizationCache()
        self._server: Server | None = None

    async def start(self) -> None:
        library_logger()  # the ocpp logger to WARNING before any frame flows
        await asyncio.to_thread(_warm_schema_cache)
        # Every station's facts and EVSEs in memory before the first connect: the reconnect
        # storm after a restart costs no read per station (docs/ocpp.md "Performance").
        async with self.ctx.sessionmaker() as session:
            primed = await network.prime_station_caches(session)
        log.info("ocpp.caches_primed", stations=primed)
        cfg = self.ctx.settings.ocpp
        self._server = await serve(
            self._handle, cfg.host, cfg.port, subprotocols=SUBPROTOCOLS,
            process_request=self._process_request, ping_interval=cfg.ping_interval,
            ssl=tls.server_ssl_context(self.ctx),
            compression=None,  # 2.4x memory and 10x tail latency for tiny frames
            max_size=cfg.max_frame_bytes, max_queue=cfg.max_queued_frames,
        )
        sockets = list(self._server.sockets)
        self.port = int(sockets[0].getsockname()[1]) if sockets else cfg.port
        log.info("ocpp.listening", host=cfg.host, port=self.port)

    async def stop(self) -> None:
        if self._server is None:
            return
        self._server.close()
        await self._server.wait_closed()
        self._server = None

    def is_connected(self, station_id: str) -> bool:
        return station_id in self.stations

    async def _process_request(self, conn: ServerConnection, request: Request) -> Response | None:
        station_id = station_id_from_path(request.path)
        if station_id is None:
            return conn.respond(http.HTTPStatus.NOT_FOUND, "Not found\n")
        refused = await tls.check_client_certificate(self.ctx, conn, request, station_id)
        if refused is not None:
            return refused
        password = basic_password(request.headers, station_id)
        async with self.ctx.sessionmaker() as session:  # station facts: cached, no SQL
            verdict = await network.check_station_credentials(session, station_id, password)
        if verdict == "unknown" and self.ctx.settings.ocpp.auto_register:
            async with transaction(self.ctx.sessionmaker) as session:
                await network.auto_register_station(session, station_id, self.ctx.clock())
            log.info("ocpp.station.auto_registered", station=station_id)
            verdict = "ok"
        if verdict == "unknown":
            log.warning("ocpp.station.unknown", station=station_id)
            return conn.respond(http.HTTPStatus.NOT_FOUND, "Unknown station\n")
        if verdict != "ok":
            log.warning("ocpp.station.unauthorized", station=station_id,
                        credentials_given="Authorization" in request.headers)
            response = conn.respond(http.HTTPStatus.UNAUTHORIZED, "Unauthorized\n")
            response.headers["WWW-Authenticate"] = build_www_authenticate_basic(REALM)
            return response
        return None

    async def _handle(self, conn: ServerConnection) -> None:
        assert conn.request is not None
        station_id = station_id_from_path(conn.request.path)
        assert station_id is not None  # checked in _process_request
        classes: dict[Subprotocol | None, type[StationConnection | StationConnection201]] = {
            SUBPROTOCOL_201: StationConnection201, SUBPROTOCOL_21: StationConnection21}
        cls = classes.get(conn.subprotocol, StationConnection)
        station = cls(station_id, conn, self.ctx, self.auth_cache)
        old = self.stations.get(station_id)
        self.stations[station_id] = station
        if old is not None:
            log.info("ocpp.station.replaced", station=station_id)
            await old.close(REPLACED, "replaced by a new connection")
        await self._mark(station_id, connected=True)
        log.info("ocpp.station.connected", station=station_id)
        try:
            await station.start()
        except ConnectionClosed as exc:
            if exc.sent is not None and exc.sent.code == CloseCode.MESSAGE_TOO_BIG:
                log.warning("ocpp.frame.too_big", station=station_id,
                            limit=self.ctx.settings.ocpp.max_frame_bytes,
                            reason=exc.sent.reason[:120])
        finally:
            station.cancel_follow_ups()
            if self.stations.get(station_id) is station:
                del self.stations[station_id]
                await self._mark(station_id, connected=False)
                log.info("ocpp.station.disconnected", station=station_id)

    async def _mark(self, station_id: str, *, connected: bool) -> None:
        try:
            await self.ctx.group_commit.write(
                network.seen_write(station_id, self.ctx.clock(), connected))
        except Exception:
            log.exception("ocpp.station.mark_failed", station=station_id)

