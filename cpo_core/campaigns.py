"""Firmware update campaigns: UpdateFirmware to every station of a vendor (and model).

A campaign is stored with one target row per matching station. Connected stations get
UpdateFirmware (OCPP 1.6 section 5.19) at once, concurrently; the others stay ``NotConnected``
until the operator resends. FirmwareStatusNotification (section 6.48) then moves the target
through Downloading, Downloaded, Installing to Installed (or DownloadFailed /
InstallationFailed); see ``cpo_core.handlers.operations.record_firmware_status``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import structlog
from ocpp.v16 import call
from sqlalchemy import func, select

from cpo_core.base import format_timestamp
from cpo_core.commands import StationCommands, StationNotConnected, gather_answers
from cpo_core.commands201 import send_update_firmware
from hub.context import HubContext
from hub.db.base import transaction
from hub.db.models import OcppFirmwareCampaignRow, OcppFirmwareTargetRow, StationRow
from hub.domain import DomainError, InvalidInput, NotFound

log = structlog.get_logger("cpo_core.campaigns")

RESENDABLE = ("NotConnected", "SendFailed")


class FirmwareCampaigns:
    def __init__(self, ctx: HubContext) -> None:
        self.ctx = ctx
        self.commands = StationCommands(ctx)

    async def create(self, vendor: str, model: str | None, location: str,
                     retrieve_date: datetime | None = None, retries: int | None = None,
                     retry_interval: int | None = None) -> dict[str, Any]:
        if not location.strip():
            raise InvalidInput("location (the firmware URI) is required")
        now = self.ctx.clock()
        async with transaction(self.ctx.sessionmaker) as session:
            stmt = select(StationRow.id).where(func.lower(StationRow.vendor) == vendor.lower())
            if model:
                stmt = stmt.where(func.lower(StationRow.model) == model.lower())
            station_ids = list((await session.scalars(stmt.order_by(StationRow.id))).all())
            if not station_ids:
                raise InvalidInput("no station matches this vendor/model")
            campaign = OcppFirmwareCampaignRow(
                vendor=vendor, model=model, location=location,
                retrieve_date=retrieve_date or now, retries=retries,
                retry_interval=retry_interval, created_at=now)
            session.add(campaign)
            await session.flush()
            for station_id in station_ids:
                session.add(OcppFirmwareTargetRow(campaign_id=campaign.id,
                                                  station_id=station_id,
                                                  status="NotConnected", updated_at=now))
            campaign_id = campaign.id
        log.info("firmware.campaign.created", campaign=campaign_id, stations=len(station_ids))
        return await self.send(campaign_id)

    async def send(self, campaign_id: int) -> dict[str, Any]:
        """Sends UpdateFirmware to every target not reached yet; returns the campaign.

        Targets are marked ``Sent`` before the call, so a FirmwareStatusNotification that
        the station sends before its CallResult reaches us finds its target; a call that
        fails puts the target back to ``NotConnected``/``SendFailed`` unless a status
        notification moved it on meanwhile.
        """
        now = self.ctx.clock()
        async with transaction(self.ctx.sessionmaker) as session:
            campaign = await session.get(OcppFirmwareCampaignRow, campaign_id)
            if campaign is None:
                raise NotFound(f"unknown firmware campaign {campaign_id}")
            pending = (await session.scalars(select(OcppFirmwareTargetRow).where(
                OcppFirmwareTargetRow.campaign_id == campaign_id,
                OcppFirmwareTargetRow.status.in_(RESENDABLE)))).all()
            for target in pending:
                target.status, target.error, target.updated_at = "Sent", None, now
            targets = [t.station_id for t in pending]
            payload = call.UpdateFirmware(
                location=campaign.location,
                retrieve_date=format_timestamp(campaign.retrieve_date),
                retries=campaign.retries, retry_interval=campaign.retry_interval)
        results = await gather_answers([  # 2.0.1 stations: UpdateFirmware(requestId)
            send_update_firmware(self.ctx, sid, payload, campaign_id) for sid in targets])
        failed = [(sid, _target_status(result))
                  for sid, result in zip(targets, results, strict=True)
                  if not isinstance(result, dict)]
        if failed:
            now = self.ctx.clock()
            async with transaction(self.ctx.sessionmaker) as session:
                for station_id, (status, error) in failed:
                    target = (await session.scalars(select(OcppFirmwareTargetRow).where(
                        OcppFirmwareTargetRow.campaign_id == campaign_id,
                        OcppFirmwareTargetRow.station_id == station_id))).one()
                    if target.status == "Sent":
                        target.status, target.error, target.updated_at = status, error, now
        return await self.get(campaign_id)

    async def get(self, campaign_id: int) -> dict[str, Any]:
        async with self.ctx.sessionmaker() as session:
            campaign = await session.get(OcppFirmwareCampaignRow, campaign_id)
            if campaign is None:
                raise NotFound(f"unknown firmware campaign {campaign_id}")
            targets = (await session.scalars(select(OcppFirmwareTargetRow).where(
                OcppFirmwareTargetRow.campaign_id == campaign_id)
                .order_by(OcppFirmwareTargetRow.station_id))).all()
            return _campaign_json(campaign, list(targets))

    async def list(self) -> list[dict[str, Any]]:
        async with self.ctx.sessionmaker() as session:
            ids = (await session.scalars(select(OcppFirmwareCampaignRow.id)
                                         .order_by(OcppFirmwareCampaignRow.id.desc())
                                         .limit(100))).all()
        return [await self.get(i) for i in ids]


def _target_status(result: BaseException) -> tuple[str, str | None]:
    if isinstance(result, StationNotConnected):
        return "NotConnected", None
    if isinstance(result, DomainError):
        return "SendFailed", result.message[:255]
    log.error("firmware.campaign.send_failed", error=repr(result))
    return "SendFailed", "internal error"


def _campaign_json(campaign: OcppFirmwareCampaignRow, targets: list[OcppFirmwareTargetRow]
                   ) -> dict[str, Any]:
    counts: dict[str, int] = {}
    for t in targets:
        counts[t.status] = counts.get(t.status, 0) + 1
    return {
        "id": campaign.id, "vendor": campaign.vendor, "model": campaign.model,
        "location": campaign.location, "retrieve_date": campaign.retrieve_date,
        "retries": campaign.retries, "retry_interval": campaign.retry_interval,
        "created_at": campaign.created_at, "counts": counts,
        "stations": [{"station_id": t.station_id, "status": t.status, "error": t.error,
                      "updated_at": t.updated_at} for t in targets],
    }
