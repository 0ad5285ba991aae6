"""Vendor profiles (cpo_core.vendors) for OCPP 2.0.1 stations.

The profile is chosen as for 1.6, from BootNotification ``chargingStation.vendorName`` /
``model`` (or ``stations.vendor_profile``). Lenient inbound validation and the kWh fix work
the same; the profile's boot configuration (OCPP 1.6 keys) is sent as one SetVariables with the
2.0.1 equivalents of the keys (``cpo_core.v201_variables.ALIASES``; keys without one are
logged and skipped), once the BootNotification reply is on the wire.
"""

from __future__ import annotations

from typing import Any

import structlog
from ocpp.v201 import call

from cpo_core.v201_variables import ALIASES
from cpo_core.vendors import GENERIC, VendorQuirks

log = structlog.get_logger("cpo_core.vendors")


class VendorQuirks201(VendorQuirks):
    """Mixin of ``cpo_core.v201.StationConnection201``."""

    def boot_identity(self, payload: dict[str, Any]) -> tuple[object, object]:
        station = payload.get("chargingStation")
        station = station if isinstance(station, dict) else {}
        return station.get("vendorName"), station.get("model")

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
