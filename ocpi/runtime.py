"""Running parts of the OCPI edge (issue 5), started and stopped by the composition root:
the message journal writer and the URL policy (bound to the shared httpx client), and the
still-alive job on the scheduler (``HUB_OCPI__STILL_ALIVE_MINUTES``)."""

from __future__ import annotations

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from hub.context import HubContext
from ocpi.hubclientinfo import still_alive
from ocpi.journal import Journal, Runtime, attach, detach, runtime_for


def start_ocpi(ctx: HubContext, scheduler: AsyncIOScheduler | None) -> Runtime:
    journal = Journal(ctx.sessionmaker)
    journal.start()
    runtime = Runtime(ctx.settings, journal)
    attach(ctx.http, runtime)
    if scheduler is not None:
        scheduler.add_job(still_alive, "interval", args=[ctx], id="ocpi_still_alive",
                          minutes=ctx.settings.ocpi.still_alive_minutes, coalesce=True,
                          max_instances=1)
    return runtime


async def stop_ocpi(ctx: HubContext) -> None:
    """Flush the journal (nothing recorded is lost on a normal shutdown) and unbind."""
    runtime = runtime_for(ctx.http)
    if runtime is not None:
        await runtime.journal.close()
        detach(ctx.http)
