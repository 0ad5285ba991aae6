"""OCPI 2.2.1 edge: the HTTP endpoints partners call, the calls we make, and the handshake.

Public names (wired in ``hub.app``): :func:`ocpi_router` (mounted at ``/ocpi``),
:func:`delivery_handlers` (outbox kinds ``session`` and ``cdr``); ``ocpi.authorize``
holds :class:`~ocpi.authorize.OcpiRemoteAuthorizer`; ``ocpi.handshake`` holds
:func:`~ocpi.handshake.register_with_partner` (used by the CLI).

Modules: ``schemas`` (wire models), ``mappers`` (to/from domain), ``encoding`` (Decimal-exact
JSON), ``response`` (envelope), ``errors`` (status table + route class), ``auth``, ``client``,
``handshake``, one endpoints module per OCPI module (``versions``, ``credentials``,
``locations``, ``tokens``, ``sessions``, ``cdrs``), ``delivery`` (outbox handlers).
"""

from __future__ import annotations

from fastapi import APIRouter

from ocpi import (
    cdrs,
    charging_preferences,
    chargingprofiles,
    commands,
    credentials,
    locations,
    locations_receiver,
    senders,
    sessions,
    tariffs,
    tokens,
    versions,
)
from ocpi.delivery import delivery_handlers
from ocpi.errors import OcpiRoute

__all__ = ["delivery_handlers", "ocpi_router"]


def ocpi_router() -> APIRouter:
    router = APIRouter(route_class=OcpiRoute, tags=["ocpi"])
    for module in (versions, credentials, locations, tokens, sessions, cdrs):
        router.include_router(module.router)
    for module in (tariffs, senders, locations_receiver, commands):  # issue 5, modules
        router.include_router(module.router)
    for module in (chargingprofiles, charging_preferences):  # issue 5, smart charging
        router.include_router(module.router)
    from ocpi.routing import install  # issue 5, hub routing (imports the module routers)

    return install(router)
