"""Admin API for OCPP operations (mounted at ``/admin``, same access rule as ``hub.admin``).

Thin endpoints over the station's command adapter (``commands_for``: ``StationCommands`` for
OCPP 1.6, ``StationCommands201`` for 2.0.1/2.1), ``FirmwareCampaigns`` and the uploads.
Every command answers with the station's reply. Errors: unknown station or object -> 404,
station not connected -> 409, operator input the OCPP schema refuses -> 422, the station
answered with a CALLERROR -> 502, no answer within the call timeout -> 504.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import FileResponse
from pydantic import AwareDatetime, BaseModel, Field

from cpo_core import commands201, uploads
from cpo_core.campaigns import FirmwareCampaigns
from cpo_core.commands import StationCallError, StationCommands, StationTimeout
from cpo_core.commands201 import commands_for
from hub.admin import hub_context, require_admin
from hub.context import HubContext
from hub.db.base import transaction
from hub.db.models import OcppStationOpsRow
from hub.domain import Conflict, InvalidInput, NotFound
from hub.services.records import note_profile_change

router = APIRouter(dependencies=[Depends(require_admin)], tags=["admin", "ocpp"])
Ctx = Annotated[HubContext, Depends(hub_context)]
T = TypeVar("T")
Answer = dict[str, Any]


async def _run(work: Awaitable[T]) -> T:
    """Domain errors -> HTTP statuses (one table for the whole router)."""
    try:
        return await work
    except NotFound as exc:
        raise HTTPException(404, exc.message) from exc
    except Conflict as exc:  # includes StationNotConnected
        raise HTTPException(409, exc.message) from exc
    except InvalidInput as exc:
        raise HTTPException(422, exc.message) from exc
    except StationCallError as exc:
        raise HTTPException(502, exc.message) from exc
    except StationTimeout as exc:
        raise HTTPException(504, exc.message) from exc


# -- request bodies ------------------------------------------------------------------------------

# Lengths are the widest of the versions (2.0.1 idToken 36, variable keys Component/Variable);
# the station's version's schema checks the rest (422).
class RemoteStart(BaseModel):
    id_tag: str = Field(min_length=1, max_length=36)
    connector_id: int | None = Field(default=None, ge=1)
    charging_profile: dict[str, Any] | None = None


class RemoteStop(BaseModel):
    transaction_id: int | str  # 2.0.1: our session id or the station's transactionId


class Unlock(BaseModel):
    connector_id: int = Field(ge=1)


class Reset(BaseModel):
    type: Literal["Soft", "Hard"] = "Soft"


class ConfigurationChange(BaseModel):
    key: str = Field(min_length=1, max_length=200)
    value: str = Field(max_length=500)


class DataTransfer(BaseModel):
    vendor_id: str = Field(min_length=1, max_length=255)
    message_id: str | None = Field(default=None, max_length=50)
    data: str | None = None


class Trigger(BaseModel):
    requested_message: str
    connector_id: int | None = None


class Reservation(BaseModel):
    connector_id: int = Field(ge=0)
    id_tag: str = Field(min_length=1, max_length=36)
    expiry_date: AwareDatetime
    parent_id_tag: str | None = Field(default=None, max_length=36)


class ChargingProfile(BaseModel):
    connector_id: int = Field(ge=0)
    profile: dict[str, Any]  # 1.6 csChargingProfiles / 2.0.1 chargingProfile, camelCase


class Diagnostics(BaseModel):
    start_time: AwareDatetime | None = None
    stop_time: AwareDatetime | None = None
    retries: int | None = Field(default=None, ge=0)
    retry_interval: int | None = Field(default=None, ge=0)


class FirmwareCampaign(BaseModel):
    vendor: str = Field(min_length=1, max_length=64)
    model: str | None = Field(default=None, max_length=64)
    location: str = Field(min_length=1, max_length=2000)
    retrieve_date: AwareDatetime | None = None
    retries: int | None = Field(default=None, ge=0)
    retry_interval: int | None = Field(default=None, ge=0)


# -- station commands ----------------------------------------------------------------------------

@router.post("/stations/{station_id}/remote-start")
async def remote_start(station_id: str, body: RemoteStart, ctx: Ctx) -> Answer:
    return await _run(commands_for(ctx, station_id).remote_start(
        station_id, body.id_tag, body.connector_id, body.charging_profile))


@router.post("/stations/{station_id}/remote-stop")
async def remote_stop(station_id: str, body: RemoteStop, ctx: Ctx) -> Answer:
    return await _run(commands_for(ctx, station_id).remote_stop(station_id, body.transaction_id))


@router.post("/stations/{station_id}/unlock")
async def unlock(station_id: str, body: Unlock, ctx: Ctx) -> Answer:
    return await _run(commands_for(ctx, station_id).unlock(station_id, body.connector_id))


@router.post("/stations/{station_id}/reset")
async def reset(station_id: str, body: Reset, ctx: Ctx) -> Answer:
    return await _run(commands_for(ctx, station_id).reset(station_id, body.type))


@router.get("/stations/{station_id}/configuration")
async def get_configuration(station_id: str, ctx: Ctx,
                            key: Annotated[list[str] | None, Query()] = None) -> Answer:
    return await _run(commands_for(ctx, station_id).get_configuration(station_id, key))


@router.put("/stations/{station_id}/configuration")
async def change_configuration(station_id: str, body: ConfigurationChange, ctx: Ctx) -> Answer:
    return await _run(commands_for(ctx, station_id).change_configuration(station_id, body.key,
                                                                 body.value))


@router.post("/stations/{station_id}/data-transfer")
async def data_transfer(station_id: str, body: DataTransfer, ctx: Ctx) -> Answer:
    return await _run(commands_for(ctx, station_id).data_transfer(
        station_id, body.vendor_id, body.message_id, body.data))


@router.post("/stations/{station_id}/trigger")
async def trigger(station_id: str, body: Trigger, ctx: Ctx) -> Answer:
    return await _run(commands_for(ctx, station_id).trigger(station_id, body.requested_message,
                                                   body.connector_id))


@router.post("/stations/{station_id}/local-list/sync")
async def local_list_sync(station_id: str, ctx: Ctx) -> Answer:
    return await _run(commands_for(ctx, station_id).sync_local_list(station_id))


@router.get("/stations/{station_id}/local-list/version")
async def local_list_version(station_id: str, ctx: Ctx) -> Answer:
    return await _run(commands_for(ctx, station_id).local_list_version(station_id))


@router.post("/stations/{station_id}/reservations")
async def reserve(station_id: str, body: Reservation, ctx: Ctx) -> Answer:
    return await _run(commands_for(ctx, station_id).reserve(
        station_id, body.connector_id, body.id_tag, body.expiry_date, body.parent_id_tag))


@router.delete("/stations/{station_id}/reservations/{reservation_id}")
async def cancel_reservation(station_id: str, reservation_id: int, ctx: Ctx) -> Answer:
    return await _run(commands_for(ctx, station_id).cancel_reservation(station_id, reservation_id))


@router.get("/reservations")
async def reservations(ctx: Ctx, station_id: str | None = None) -> list[Answer]:
    return await StationCommands(ctx).reservations(station_id)


async def _profile_changed(ctx: HubContext, station_id: str, connector_id: int | None,
                           answer: Answer) -> Answer:
    """issue 5: limits the station accepted are reported to a partner that set an OCPI profile
    on a session there (``hub.services.records.note_profile_change``)."""
    if answer.get("status") == "Accepted":
        async with transaction(ctx.sessionmaker) as session:
            queued = await note_profile_change(session, station_id, connector_id, ctx.clock())
        if queued:
            ctx.outbox_written()
    return answer


@router.post("/stations/{station_id}/charging-profiles")
async def set_charging_profile(station_id: str, body: ChargingProfile, ctx: Ctx) -> Answer:
    return await _profile_changed(ctx, station_id, body.connector_id, await _run(
        commands_for(ctx, station_id).set_charging_profile(
            station_id, body.connector_id, body.profile)))


@router.delete("/stations/{station_id}/charging-profiles")
async def clear_charging_profile(station_id: str, ctx: Ctx, profile_id: int | None = None,
                                 connector_id: int | None = None, purpose: str | None = None,
                                 stack_level: int | None = None) -> Answer:
    return await _profile_changed(ctx, station_id, connector_id, await _run(
        commands_for(ctx, station_id).clear_charging_profile(
            station_id, profile_id, connector_id, purpose, stack_level)))


@router.get("/stations/{station_id}/composite-schedule")
async def composite_schedule(station_id: str, ctx: Ctx, connector_id: int, duration: int,
                             unit: Literal["A", "W"] | None = None) -> Answer:
    return await _run(commands_for(ctx, station_id).composite_schedule(station_id, connector_id,
                                                              duration, unit))


@router.post("/stations/{station_id}/diagnostics")
async def diagnostics(station_id: str, body: Diagnostics, ctx: Ctx) -> Answer:
    return await _run(commands201.request_diagnostics(
        ctx, station_id, start_time=body.start_time, stop_time=body.stop_time,
        retries=body.retries, retry_interval=body.retry_interval))


@router.get("/stations/{station_id}/operations")
async def station_operations(station_id: str, ctx: Ctx) -> Answer:
    """Local list version and the last firmware/diagnostics status the station reported."""
    async with ctx.sessionmaker() as session:
        ops = await session.get(OcppStationOpsRow, station_id)
    if ops is None:
        return {"station_id": station_id, "local_list_version": None, "firmware_status": None,
                "diagnostics_status": None}
    return {"station_id": station_id, "local_list_version": ops.local_list_version,
            "local_list_synced_at": ops.local_list_synced_at,
            "firmware_status": ops.firmware_status, "firmware_status_at": ops.firmware_status_at,
            "diagnostics_status": ops.diagnostics_status,
            "diagnostics_status_at": ops.diagnostics_status_at}


@router.get("/remote-starts")
async def remote_starts(ctx: Ctx, station_id: str | None = None) -> list[Answer]:
    return await commands201.remote_starts(ctx, station_id)


@router.get("/uploads")
async def upload_list(ctx: Ctx, station_id: str | None = None) -> list[Answer]:
    return await uploads.list_uploads(ctx, station_id)


@router.get("/uploads/{upload_id}/file")
async def upload_file(upload_id: int, ctx: Ctx) -> FileResponse:
    path = await uploads.upload_path(ctx, upload_id)
    if path is None:
        raise HTTPException(404, "no uploaded file with that id")
    return FileResponse(path, filename=path.name)


# -- firmware campaigns --------------------------------------------------------------------------

@router.get("/firmware-campaigns")
async def firmware_campaigns(ctx: Ctx) -> list[Answer]:
    return await FirmwareCampaigns(ctx).list()


@router.post("/firmware-campaigns", status_code=201)
async def create_firmware_campaign(body: FirmwareCampaign, ctx: Ctx) -> Answer:
    return await _run(FirmwareCampaigns(ctx).create(
        body.vendor, body.model, body.location, body.retrieve_date, body.retries,
        body.retry_interval))


@router.get("/firmware-campaigns/{campaign_id}")
async def firmware_campaign(campaign_id: int, ctx: Ctx) -> Answer:
    return await _run(FirmwareCampaigns(ctx).get(campaign_id))


@router.post("/firmware-campaigns/{campaign_id}/send")
async def resend_firmware_campaign(campaign_id: int, ctx: Ctx) -> Answer:
    """UpdateFirmware again to the campaign's stations that were not reached."""
    return await _run(FirmwareCampaigns(ctx).send(campaign_id))
