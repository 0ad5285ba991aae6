"""Composition root: builds the HTTP app and, in its lifespan, every running part of the hub.

``create_app(settings)`` returns a FastAPI app whose lifespan opens the database, refuses an
unmigrated schema, ensures our own parties exist, and starts the OCPP WebSocket server (own
port), the outbox worker and the scheduler. This module and ``hub.cli`` are the only places in
``hub`` allowed to import the protocol packages and clearing.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import httpx
import structlog
from fastapi import FastAPI

from clearing.admin import router as clearing_admin_router
from clearing.fx import schedule_ecb_import
from clearing.house.jobs import close_due_periods
from clearing.pricing import price_session
from cpo_core.admin import router as cpo_admin_router
from cpo_core.monitoring import install as install_monitoring
from cpo_core.server import OcppServer
from cpo_core.station_control import CpoStationControl
from cpo_core.uploads import upload_router as cpo_upload_router
from hub.admin import router as admin_router
from hub.admin_monitoring import router as monitoring_admin_router
from hub.context import HubContext
from hub.db.base import make_engine, make_sessionmaker, transaction
from hub.db.migrate import is_up_to_date
from hub.logging import configure_logging
from hub.notify.email import notify_handlers
from hub.outbox import OutboxWorker
from hub.scheduler import build_scheduler
from hub.services.parties import ensure_own_parties
from hub.settings import Settings
from ocpi import delivery_handlers, ocpi_router
from ocpi.admin import router as ocpi_admin_router
from ocpi.authorize import OcpiRemoteAuthorizer
from ocpi.quality import router as ocpi_quality_router
from ocpi.runtime import start_ocpi, stop_ocpi

log = structlog.get_logger("hub.app")


class SchemaNotMigrated(RuntimeError):
    pass


@contextlib.asynccontextmanager
async def running_hub(settings: Settings) -> AsyncIterator[HubContext]:
    """Everything but the HTTP server: usable by the app's lifespan and by tests."""
    if not await is_up_to_date(settings):
        raise SchemaNotMigrated("database schema is not at head: run `hub db upgrade`")
    engine = make_engine(settings)
    sessionmaker = make_sessionmaker(engine)
    async with httpx.AsyncClient(timeout=settings.ocpi.request_timeout) as http:
        ctx = HubContext(settings=settings, engine=engine, sessionmaker=sessionmaker,
                         http=http, pricer=price_session)
        ctx.remote_authorizer = OcpiRemoteAuthorizer(ctx)
        async with transaction(sessionmaker) as session:
            await ensure_own_parties(session, settings)
        worker = OutboxWorker(sessionmaker, {**delivery_handlers(ctx), **notify_handlers(ctx)},
                              settings.outbox)
        ctx.outbox_worker = worker
        worker_task = asyncio.create_task(worker.run(), name="outbox-worker")
        ocpp = OcppServer(ctx)
        await ocpp.start()
        ctx.components["ocpp"] = ocpp
        ctx.components["station_control"] = CpoStationControl(ctx)  # hub.ports.StationControl
        scheduler = build_scheduler(ctx) if settings.scheduler_enabled else None
        install_monitoring(ctx, scheduler)  # station health checks (cpo_core.monitoring)
        start_ocpi(ctx, scheduler)  # OCPI journal, URL policy, still-alive job
        schedule_ecb_import(ctx, scheduler)  # clearing: daily ECB reference rates (issue 6)
        if scheduler is not None:  # issue 6: close periods HUB_CLEARING__CLOSE_GRACE_DAYS late
            scheduler.add_job(close_due_periods, "cron", hour=2, minute=15, args=[ctx],
                              id="clearing-close", coalesce=True, max_instances=1)
        if scheduler is not None:
            scheduler.start()
        log.info("hub.started", http=settings.public_url,
                 ocpp=f"ws://{settings.ocpp.host}:{ocpp.port}/ocpp/{{station_id}}")
        try:
            yield ctx
        finally:
            if scheduler is not None:
                scheduler.shutdown(wait=False)
            await ocpp.stop()
            worker.stop()
            with contextlib.suppress(asyncio.CancelledError):
                await worker_task
            await stop_ocpi(ctx)
            await engine.dispose()
            log.info("hub.stopped")


@contextlib.asynccontextmanager
async def tool_context(settings: Settings) -> AsyncIterator[HubContext]:
    """A context for one-off commands (CLI): database and HTTP client, no servers, no worker."""
    if not await is_up_to_date(settings):
        raise SchemaNotMigrated("database schema is not at head: run `hub db upgrade`")
    engine = make_engine(settings)
    try:
        async with httpx.AsyncClient(timeout=settings.ocpi.request_timeout) as http:
            ctx = HubContext(settings=settings, engine=engine,
                             sessionmaker=make_sessionmaker(engine), http=http,
                             pricer=price_session)
            async with transaction(ctx.sessionmaker) as session:
                await ensure_own_parties(session, settings)
            start_ocpi(ctx, None)
            try:
                yield ctx
            finally:
                await stop_ocpi(ctx)
    finally:
        await engine.dispose()


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    configure_logging(settings.log_level, settings.log_format)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with running_hub(settings) as ctx:
            app.state.hub = ctx
            yield

    app = FastAPI(title="hub", version="0.1.0", lifespan=lifespan)
    app.state.settings = settings
    app.include_router(ocpi_router(), prefix="/ocpi")
    app.include_router(admin_router, prefix="/admin")
    app.include_router(monitoring_admin_router, prefix="/admin")
    app.include_router(cpo_admin_router, prefix="/admin")
    app.include_router(clearing_admin_router, prefix="/admin")
    app.include_router(ocpi_admin_router, prefix="/admin")
    app.include_router(ocpi_quality_router, prefix="/admin")
    app.include_router(cpo_upload_router, prefix="/ocpp-uploads")
    return app
