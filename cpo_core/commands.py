"""Commands from the central system to connected OCPP 1.6J stations (the operator's actions).

``StationCommands(ctx)`` works over the running ``OcppServer`` at ``ctx.components["ocpp"]``.
Every command returns the station's answer (the CALLRESULT payload, camelCase as on the wire).
Failures are domain errors the edges translate: unknown station -> ``NotFound``; station not
connected -> ``StationNotConnected`` (a ``Conflict``); no answer within the call timeout ->
``StationTimeout``; a CALLERROR from the station -> ``StationCallError``.

Message references: OCPP 1.6 sections 5.x (central system initiated operations). Firmware
campaigns, local list sync and diagnostics uploads are in ``cpo_core.campaigns``.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import TYPE_CHECKING, Any

import structlog
from ocpp.charge_point import remove_nones, serialize_as_dict, snake_to_camel_case
from ocpp.exceptions import OCPPError
from ocpp.messages import Call, validate_payload
from ocpp.v16 import call
from sqlalchemy import select
from websockets.exceptions import ConnectionClosed

from cpo_core.base import format_timestamp
from cpo_core.handlers.operations import station_ops
from hub.context import HubContext
from hub.db.base import transaction
from hub.db.models import OcppRemoteStartRow, OcppReservationRow, StationRow
from hub.domain import Conflict, DomainError, InvalidInput, NotFound
from hub.services import tokens

if TYPE_CHECKING:
    from cpo_core.central import StationConnection

log = structlog.get_logger("cpo_core.commands")

# OCPP 1.6 section 7.14 IdToken is CiString20Type: longer token uids can't be on a local list.
MAX_ID_TAG = 20


class StationNotConnected(Conflict):
    pass


class StationTimeout(DomainError):
    pass


class StationCallError(DomainError):
    def __init__(self, code: str, description: str) -> None:
        super().__init__(f"station answered with a CALLERROR {code}: {description}")
        self.code = code


def answer_json(result: Any) -> dict[str, Any]:
    """A CALLRESULT dataclass as the station sent it (camelCase, absent fields left out)."""
    data: dict[str, Any] = snake_to_camel_case(remove_nones(serialize_as_dict(result)))
    return data


async def check_outbound(action: str, payload: Any, version: str = "1.6") -> None:
    """Operator input that breaks the schema is the operator's error, not the station's."""
    message = Call("0", action, remove_nones(snake_to_camel_case(serialize_as_dict(payload))))
    try:
        await validate_payload(message, version)
    except OCPPError as exc:
        raise InvalidInput(f"{action} payload is invalid: {exc.description}") from exc


class StationCommands:
    """OCPP 1.6; ``cpo_core.commands201.StationCommands201`` is the same API for 2.0.1/2.1."""

    versions: tuple[str, ...] = ("1.6",)

    def __init__(self, ctx: HubContext) -> None:
        self.ctx = ctx

    # -- plumbing ------------------------------------------------------------------------------

    async def station(self, station_id: str) -> StationConnection:
        """The live connection of a known station, over one of ``self.versions``."""
        server = self.ctx.components.get("ocpp")
        conn = server.stations.get(station_id) if server is not None else None
        if conn is None:
            async with self.ctx.sessionmaker() as session:
                if await session.get(StationRow, station_id) is None:
                    raise NotFound(f"unknown station {station_id}")
            raise StationNotConnected(f"station {station_id} is not connected")
        if getattr(conn, "_ocpp_version", "1.6") not in self.versions:
            raise StationNotConnected(
                f"station {station_id} is not connected over OCPP {'/'.join(self.versions)}")
        return conn

    async def send(self, station_id: str, payload: Any) -> dict[str, Any]:
        """Sends one CALL and returns the station's answer as a dict."""
        conn = await self.station(station_id)
        action = type(payload).__name__
        await check_outbound(action, payload, getattr(conn, "_ocpp_version", "1.6"))
        try:
            result = await conn.call(payload)
        except TimeoutError as exc:
            log.warning("ocpp.command.timeout", station=station_id, action=action)
            raise StationTimeout(f"station {station_id} did not answer {action} in time") \
                from exc
        except OCPPError as exc:
            log.warning("ocpp.command.call_error", station=station_id, action=action,
                        code=exc.code)
            raise StationCallError(exc.code, str(exc.description)) from exc
        except ConnectionClosed as exc:
            raise StationNotConnected(f"station {station_id} disconnected") from exc
        answer = answer_json(result)
        log.info("ocpp.command", station=station_id, action=action,
                 status=answer.get("status"))
        return answer

    # -- core profile --------------------------------------------------------------------------

    async def remote_start(self, station_id: str, id_tag: str, connector_id: int | None = None,
                           charging_profile: dict[str, Any] | None = None) -> dict[str, Any]:
        """RemoteStartTransaction (OCPP 1.6 section 5.11); the request row is written first so
        a StartTransaction racing the answer still finds it."""
        await self.station(station_id)
        async with transaction(self.ctx.sessionmaker) as session:
            row = OcppRemoteStartRow(station_id=station_id, connector_id=connector_id,
                                     id_tag=id_tag, status="Sent",
                                     requested_at=self.ctx.clock())
            session.add(row)
            await session.flush()
            request_id = row.id
        status = "Error"
        try:
            answer = await self.send(station_id, call.RemoteStartTransaction(
                id_tag=id_tag, connector_id=connector_id, charging_profile=charging_profile))
            status = str(answer["status"])
        finally:
            async with transaction(self.ctx.sessionmaker) as session:
                stored = await session.get(OcppRemoteStartRow, request_id)
                if stored is not None:
                    stored.status = status
        return {**answer, "requestId": request_id}

    async def remote_stop(self, station_id: str, transaction_id: int | str) -> dict[str, Any]:
        return await self.send(station_id, call.RemoteStopTransaction(
            transaction_id=transaction_id))

    async def unlock(self, station_id: str, connector_id: int) -> dict[str, Any]:
        return await self.send(station_id, call.UnlockConnector(connector_id=connector_id))

    async def reset(self, station_id: str, kind: str) -> dict[str, Any]:
        if kind not in ("Soft", "Hard"):
            raise InvalidInput("reset type is Soft or Hard")
        return await self.send(station_id, call.Reset(type=kind))

    async def get_configuration(self, station_id: str, keys: list[str] | None = None
                                ) -> dict[str, Any]:
        return await self.send(station_id, call.GetConfiguration(key=keys or None))

    async def change_configuration(self, station_id: str, key: str, value: str
                                   ) -> dict[str, Any]:
        return await self.send(station_id, call.ChangeConfiguration(key=key, value=value))

    async def data_transfer(self, station_id: str, vendor_id: str, message_id: str | None = None,
                            data: str | None = None) -> dict[str, Any]:
        return await self.send(station_id, call.DataTransfer(
            vendor_id=vendor_id, message_id=message_id, data=data))

    # -- remote trigger (OCPP 1.6 section 5.17) ------------------------------------------------

    async def trigger(self, station_id: str, requested_message: str,
                      connector_id: int | None = None) -> dict[str, Any]:
        return await self.send(station_id, call.TriggerMessage(
            requested_message=requested_message, connector_id=connector_id))

    # -- local auth list management (OCPP 1.6 sections 5.10, 5.15) ---------------------------

    async def local_list_version(self, station_id: str) -> dict[str, Any]:
        answer = await self.send(station_id, call.GetLocalListVersion())
        async with transaction(self.ctx.sessionmaker) as session:
            ops = await station_ops(session, station_id)
            ops.local_list_version = int(answer["listVersion"])
        return answer

    async def _local_list(self) -> list[dict[str, Any]]:
        async with self.ctx.sessionmaker() as session:
            own = await tokens.list_own_tokens(session)
        entries = [
            {"idTag": t.uid, "idTagInfo": {"status": "Accepted" if t.valid else "Blocked"}}
            for t in own if len(t.uid) <= MAX_ID_TAG
        ]
        if len(entries) < len(own):
            log.warning("ocpp.local_list.skipped_long_uids", skipped=len(own) - len(entries))
        return entries

    async def sync_local_list(self, station_id: str) -> dict[str, Any]:
        """A full SendLocalList of our own tokens with the next list version. On
        ``VersionMismatch`` the station's version is read and the list sent once more."""
        await self.station(station_id)
        async with self.ctx.sessionmaker() as session:
            ops = await station_ops(session, station_id)
            version = (ops.local_list_version or 0) + 1
        entries = await self._local_list()
        answer = await self._send_list(station_id, version, entries)
        if answer["status"] == "VersionMismatch":
            current = await self.local_list_version(station_id)
            version = max(int(current["listVersion"]), version) + 1
            answer = await self._send_list(station_id, version, entries)
        if answer["status"] == "Accepted":
            async with transaction(self.ctx.sessionmaker) as session:
                ops = await station_ops(session, station_id)
                ops.local_list_version = version
                ops.local_list_synced_at = self.ctx.clock()
        return {**answer, "listVersion": version, "entries": len(entries)}

    async def _send_list(self, station_id: str, version: int, entries: list[dict[str, Any]]
                         ) -> dict[str, Any]:
        return await self.send(station_id, call.SendLocalList(
            list_version=version, update_type="Full", local_authorization_list=entries))

    # -- reservation (OCPP 1.6 sections 5.13, 5.3) ---------------------------------------------

    async def reserve(self, station_id: str, connector_id: int, id_tag: str,
                      expiry_date: datetime, parent_id_tag: str | None = None,
                      source: str = "admin") -> dict[str, Any]:
        now = self.ctx.clock()
        if expiry_date <= now:
            raise InvalidInput("expiry_date must be in the future")
        await self.station(station_id)
        async with transaction(self.ctx.sessionmaker) as session:
            row = OcppReservationRow(
                station_id=station_id, connector_id=connector_id, id_tag=id_tag,
                parent_id_tag=parent_id_tag, expiry_date=expiry_date, status="Requested",
                source=source, created_at=now, updated_at=now)
            session.add(row)
            await session.flush()
            reservation_id = row.id
        status = "Error"
        try:
            answer = await self.send(station_id, self._reserve_now(
                reservation_id, connector_id, id_tag, expiry_date, parent_id_tag))
            status = str(answer["status"])
        finally:
            await self._set_reservation(reservation_id, status)
        return {**answer, "reservationId": reservation_id}

    def _reserve_now(self, reservation_id: int, connector_id: int, id_tag: str,
                     expiry_date: datetime, parent_id_tag: str | None) -> Any:
        return call.ReserveNow(
            connector_id=connector_id, expiry_date=format_timestamp(expiry_date),
            id_tag=id_tag, reservation_id=reservation_id, parent_id_tag=parent_id_tag)

    async def cancel_reservation(self, station_id: str, reservation_id: int
                                 ) -> dict[str, Any]:
        async with self.ctx.sessionmaker() as session:
            row = await session.get(OcppReservationRow, reservation_id)
            if row is None or row.station_id != station_id:
                raise NotFound(f"unknown reservation {reservation_id}")
        answer = await self.send(station_id, self._cancel_reservation(reservation_id))
        if answer["status"] == "Accepted":
            await self._set_reservation(reservation_id, "Cancelled")
        return answer

    def _cancel_reservation(self, reservation_id: int) -> Any:
        return call.CancelReservation(reservation_id=reservation_id)

    async def _set_reservation(self, reservation_id: int, status: str) -> None:
        async with transaction(self.ctx.sessionmaker) as session:
            row = await session.get(OcppReservationRow, reservation_id)
            if row is not None:
                row.status, row.updated_at = status, self.ctx.clock()

    async def reservations(self, station_id: str | None = None) -> list[dict[str, Any]]:
        """Reservations, newest first; an Accepted one past its expiry shows as Expired."""
        now = self.ctx.clock()
        async with self.ctx.sessionmaker() as session:
            stmt = select(OcppReservationRow).order_by(OcppReservationRow.id.desc()).limit(500)
            if station_id:
                stmt = stmt.where(OcppReservationRow.station_id == station_id)
            rows = (await session.scalars(stmt)).all()
        return [{
            "id": r.id, "station_id": r.station_id, "connector_id": r.connector_id,
            "id_tag": "****" + r.id_tag[-4:], "expiry_date": r.expiry_date,
            "status": "Expired" if r.status == "Accepted" and r.expiry_date <= now
            else r.status,
            "source": r.source, "created_at": r.created_at,
        } for r in rows]

    # -- smart charging (OCPP 1.6 sections 5.16, 5.5, 5.7): messages only -------------------

    async def set_charging_profile(self, station_id: str, connector_id: int,
                                   profile: dict[str, Any]) -> dict[str, Any]:
        return await self.send(station_id, call.SetChargingProfile(
            connector_id=connector_id, cs_charging_profiles=profile))

    async def clear_charging_profile(self, station_id: str, profile_id: int | None = None,
                                     connector_id: int | None = None,
                                     purpose: str | None = None,
                                     stack_level: int | None = None) -> dict[str, Any]:
        return await self.send(station_id, call.ClearChargingProfile(
            id=profile_id, connector_id=connector_id, charging_profile_purpose=purpose,
            stack_level=stack_level))

    async def composite_schedule(self, station_id: str, connector_id: int, duration: int,
                                 unit: str | None = None) -> dict[str, Any]:
        return await self.send(station_id, call.GetCompositeSchedule(
            connector_id=connector_id, duration=duration, charging_rate_unit=unit))

    # -- remote start requests -----------------------------------------------------------------

    async def remote_starts(self, station_id: str | None = None) -> list[dict[str, Any]]:
        async with self.ctx.sessionmaker() as session:
            stmt = select(OcppRemoteStartRow).order_by(OcppRemoteStartRow.id.desc()).limit(500)
            if station_id:
                stmt = stmt.where(OcppRemoteStartRow.station_id == station_id)
            rows = (await session.scalars(stmt)).all()
        return [{
            "id": r.id, "station_id": r.station_id, "connector_id": r.connector_id,
            "id_tag": "****" + r.id_tag[-4:], "status": r.status,
            "requested_at": r.requested_at, "session_id": r.session_id,
            "transaction_id": r.session_pk, "linked_at": r.linked_at,
        } for r in rows]


async def gather_answers(coros: list[Any]) -> list[Any]:
    """Runs commands concurrently; each result is the answer or the exception raised."""
    return list(await asyncio.gather(*coros, return_exceptions=True))
