"""PLACEHOLDER: OCPI 2.2.1 edge."""

from __future__ import annotations

from fastapi import APIRouter

from hub.context import HubContext
from hub.ports import DeliveryHandler


def ocpi_router() -> APIRouter:
    return APIRouter()


def delivery_handlers(ctx: HubContext) -> dict[str, DeliveryHandler]:
    return {}
