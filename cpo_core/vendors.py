"""Vendor profiles: per vendor/model quirks of real chargers (docs/ocpp.md, "Vendor profiles").

A profile is chosen by the BootNotification's ``chargePointVendor`` / ``chargePointModel``
(case-insensitive prefixes), or forced per station (``StationRow.vendor_profile``, a profile
name). It sets:

- ``lenient_inbound``: schema violations in the station's CALLs are logged and the message
  accepted (over-long vendor strings, non-enum error codes...; PROTOCOL_NOTES, OCPP). Our
  outbound messages stay strict.
- ``energy_wh_is_kwh``: the station labels its energy register ``Wh`` but sends kWh; samples
  are relabelled kWh (hub.services.charging.MeterSample converts to Wh).
- ``boot_configuration``: ChangeConfiguration keys sent after each accepted boot, once the
  BootNotification reply is on the wire.

The built-in profiles are starting points, not device certifications: they use only OCPP 1.6
standard configuration keys (OCPP 1.6 section 9.1) and should be tuned per fleet.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import structlog
from ocpp.messages import Call
from ocpp.v16 import call

from hub.services.charging import MeterSample
from hub.services.network import station_facts

if TYPE_CHECKING:
    from hub.context import HubContext

log = structlog.get_logger("cpo_core.vendors")

ENERGY = "Energy.Active.Import.Register"
# OCPP 1.6 section 9.1: sample every minute, energy and power, energy in the stop data.
_METERING = (("MeterValueSampleInterval", "60"),
             ("MeterValuesSampledData", "Energy.Active.Import.Register,Power.Active.Import"),
             ("StopTxnSampledData", "Energy.Active.Import.Register"))


@dataclass(frozen=True, slots=True)
class VendorProfile:
    name: str
    vendors: tuple[str, ...] = ()  # lower-case prefixes of chargePointVendor
    models: tuple[str, ...] = ()  # lower-case prefixes of chargePointModel; () = any model
    lenient_inbound: bool = True
    energy_wh_is_kwh: bool = False
    boot_configuration: tuple[tuple[str, str], ...] = ()

    def matches(self, vendor: str, model: str) -> bool:
        v, m = vendor.strip().lower(), model.strip().lower()
        return any(v.startswith(p) for p in self.vendors) and (
            not self.models or any(m.startswith(p) for p in self.models))


GENERIC = VendorProfile("generic", lenient_inbound=False)
PROFILES: tuple[VendorProfile, ...] = (
    VendorProfile("abb", ("abb",), boot_configuration=_METERING),
    VendorProfile("efacec", ("efacec",), boot_configuration=_METERING),
    VendorProfile("sgte", ("sgte",), boot_configuration=_METERING),
    VendorProfile("ensto", ("ensto",), boot_configuration=_METERING),
    VendorProfile("circontrol", ("circontrol", "circarlife"), boot_configuration=_METERING),
    # Not matched by vendor: set per station for meters that send kWh labelled Wh.
    VendorProfile("generic-kwh", energy_wh_is_kwh=True),
    VendorProfile("generic-lenient"),
)
BY_NAME = {p.name: p for p in (GENERIC, *PROFILES)}


def profile_for(vendor: str | None, model: str | None, forced: str | None = None
                ) -> VendorProfile:
    if forced:
        return BY_NAME.get(forced, GENERIC)
    if vendor is None:
        return GENERIC
    return next((p for p in PROFILES if p.matches(vendor, model or "")), GENERIC)


def fix_samples(profile: VendorProfile, samples: list[MeterSample]) -> list[MeterSample]:
    if not profile.energy_wh_is_kwh:
        return samples
    return [replace(s, unit="kWh") if s.measurand == ENERGY and s.unit.lower() == "wh" else s
            for s in samples]


class VendorQuirks:
    """What both versions' connections share: the station's profile, lenient inbound
    validation and unit fixes. Subclasses say where a BootNotification names the vendor."""

    ctx: HubContext
    id: str
    vendor_profile: VendorProfile | None = None
    _forced_profile: str | None = None

    if TYPE_CHECKING:  # provided by the version's OcppChargePoint, later in the MRO
        async def call(self, payload: Any, suppress: bool = False,
                       unique_id: str | None = None, skip_schema_validation: bool = False
                       ) -> Any: ...

    def boot_identity(self, payload: dict[str, Any]) -> tuple[object, object]:
        """(vendor, model) as the version's BootNotification carries them."""
        raise NotImplementedError

    async def _load_profile(self) -> VendorProfile:
        async with self.ctx.sessionmaker() as session:
            facts = await station_facts(session, self.id)  # cached (hub.db.refcache)
        self._forced_profile = facts.vendor_profile if facts is not None else None
        vendor, model = (facts.vendor, facts.model) if facts is not None else (None, None)
        self.vendor_profile = profile_for(vendor, model, self._forced_profile)
        return self.vendor_profile

    async def inbound_lenient(self, msg: Call) -> bool:
        profile = self.vendor_profile or await self._load_profile()
        if msg.action == "BootNotification" and isinstance(msg.payload, dict):
            vendor, model = self.boot_identity(msg.payload)
            profile = profile_for(str(vendor) if vendor is not None else None,
                                  str(model) if model is not None else None,
                                  self._forced_profile)
            self.vendor_profile = profile
        return profile.lenient_inbound

    def fix_samples(self, samples: list[MeterSample]) -> list[MeterSample]:
        return fix_samples(self.vendor_profile or GENERIC, samples)


class VendorQuirks16(VendorQuirks):
    """Mixin of ``cpo_core.central.StationConnection`` (OCPP 1.6): applies the profile."""

    def boot_identity(self, payload: dict[str, Any]) -> tuple[object, object]:
        return payload.get("chargePointVendor"), payload.get("chargePointModel")

    async def push_boot_configuration(self) -> None:
        """ChangeConfiguration for the profile's keys (after the BootNotification reply)."""
        profile = self.vendor_profile or GENERIC
        for key, value in profile.boot_configuration:
            try:
                res = await self.call(call.ChangeConfiguration(key=key, value=value))
                status = str(res.status)
            except Exception as exc:  # a station's refusal must not stop the other keys
                status = type(exc).__name__
            log.info("ocpp.vendor.configured", station=self.id, profile=profile.name, key=key,
                     status=status)
