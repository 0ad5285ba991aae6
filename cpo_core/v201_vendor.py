"""Vendor profiles (cpo_core.vendors) for OCPP 2.0.1 stations.

The profile is chosen as for 1.6, from BootNotification ``chargingStation.vendorName`` /
``model`` (or ``stations.vendor_profile``). Lenient inbound validation and the kWh fix work
the same; the profile's boot configuration (OCPP 1.6 keys) is sent as one SetVariables with the
2.0.1 equivalents of the keys (``cpo_core.v201_variables.ALIASES``; keys without one are
logged and skipped), once the BootNotification reply is on the wire.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import structlog
from ocpp.messages import Call
from ocpp.v201 import call

from cpo_core.v201_variables import ALIASES
from cpo_core.vendors import GENERIC, VendorProfile, fix_samples, profile_for
from hub.db.models import StationRow
from hub.services.charging import MeterSample

if TYPE_CHECKING:
    from hub.context import HubContext

log = structlog.get_logger("cpo_core.vendors")


class VendorQuirks201:
    """Mixin of ``cpo_core.v201.StationConnection201``."""

    ctx: HubContext
    id: str
    vendor_profile: VendorProfile | None = None
    _forced_profile: str | None = None

    if TYPE_CHECKING:  # provided by OcppChargePoint201, later in the MRO
        async def call(self, payload: Any, suppress: bool = False,
                       unique_id: str | None = None, skip_schema_validation: bool = False
                       ) -> Any: ...

    async def _load_profile(self) -> VendorProfile:
        async with self.ctx.sessionmaker() as session:
            row = await session.get(StationRow, self.id)
        self._forced_profile = row.vendor_profile if row is not None else None
        vendor, model = (row.vendor, row.model) if row is not None else (None, None)
        self.vendor_profile = profile_for(vendor, model, self._forced_profile)
        return self.vendor_profile

    async def inbound_lenient(self, msg: Call) -> bool:
        profile = self.vendor_profile or await self._load_profile()
        if msg.action == "BootNotification" and isinstance(msg.payload, dict):
            station = msg.payload.get("chargingStation")
            station = station if isinstance(station, dict) else {}
            vendor, model = station.get("vendorName"), station.get("model")
            profile = profile_for(str(vendor) if vendor is not None else None,
                                  str(model) if model is not None else None,
                                  self._forced_profile)
            self.vendor_profile = profile
        return profile.lenient_inbound

    def fix_samples(self, samples: list[MeterSample]) -> list[MeterSample]:
        return fix_samples(self.vendor_profile or GENERIC, samples)

    async def push_boot_variables(self) -> None:
        """SetVariables for the profile's boot configuration (after the boot reply)."""
        profile = self.vendor_profile or GENERIC
        data = []
        for key, value in profile.boot_configuration:
            if key not in ALIASES:
                log.info("ocpp.vendor.no_201_variable", station=self.id, key=key)
                continue
            component, variable = ALIASES[key]
            data.append({"component": {"name": component}, "variable": {"name": variable},
                         "attribute_value": value})
        if not data:
            return
        try:
            res = await self.call(call.SetVariables(set_variable_data=data))
            statuses = [str(r.get("attribute_status")) for r in res.set_variable_result]
        except Exception as exc:  # a station's refusal is logged, nothing else
            statuses = [type(exc).__name__]
        log.info("ocpp.vendor.configured", station=self.id, profile=profile.name,
                 variables=len(data), statuses=statuses)
