"""Running parts of the OCPI edge (issue 5), started and stopped by the composition root:
the message journal writer, the URL policy and the keep-alive pool of forwarded requests
(bound to the shared httpx client), and the still-alive job on the scheduler
(``HUB_OCPI__STILL_ALIVE_MINUTES``)."""

from __future__ import annotations

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from hub.context import HubContext
from ocpi.client import KeepAlivePool
from ocpi.hubclientinfo import still_alive
from ocpi.journal import Journal, Runtime, attach, detach, runtime_for


def start_ocpi(ctx: HubContext, scheduler: AsyncIOScheduler | None) -> Runtime:
    journal = Journal(ctx.sessionmaker)
    journal.start()
    runtime = Runtime(ctx.settings, journal, KeepAlivePool.for_environment())
    attach(ctx.http, runtime)
    if scheduler is not None:
        scheduler.add_job(still_alive, "interval", args=[ctx], id="ocpi_still_alive",
                          minutes=ctx.settings.ocpi.still_alive_minutes, coalesce=True,
                          max_instances=1)
        # issue 5, hub routing: expired proxy URLs (ocpi.proxy) are deleted every 10 minutes.
        scheduler.add_job(_purge_proxies, "interval", args=[ctx], id="ocpi_proxy_purge",
                          minutes=10, coalesce=True, max_instances=1)
        # issue 5: our own locations/tariffs pushed to partners on change (ocpi.push_own).
        if ctx.settings.ocpi.push_interval_seconds > 0:
            scheduler.add_job(_push_own, "interval", args=[ctx], id="ocpi_push_own",
                              seconds=ctx.settings.ocpi.push_interval_seconds, coalesce=True,
                              max_instances=1)
        if ctx.settings.ocpi.pull_locations_hours > 0:
            scheduler.add_job(_pull_all, "interval", args=[ctx], id="ocpi_pull_locations",
                              hours=ctx.settings.ocpi.pull_locations_hours, coalesce=True,
                              max_instances=1)
    return runtime


async def _pull_all(ctx: HubContext) -> None:
    from ocpi.pagination import pull_all_partners

    await pull_all_partners(ctx)


async def _push_own(ctx: HubContext) -> None:
    from ocpi.push_own import push_own_changes

    await push_own_changes(ctx)


async def _purge_proxies(ctx: HubContext) -> None:
    from ocpi.proxy import purge_expired

    await purge_expired(ctx.sessionmaker, ctx.clock())


async def stop_ocpi(ctx: HubContext) -> None:
    """Flush the journal (nothing recorded is lost on a normal shutdown) and unbind."""
    runtime = runtime_for(ctx.http)
    if runtime is not None:
        await runtime.journal.close()
        if runtime.pool is not None:
            await runtime.pool.aclose()
        detach(ctx.http)
