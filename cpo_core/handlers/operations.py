"""OCPP 1.6 handlers of the Firmware, Local Auth List, Reservation, Remote Trigger and Smart
Charging profiles (inbound messages; outbound commands live in ``cpo_core.commands``)."""

from __future__ import annotations


class OperationHandlers16:
    """Mixin of ``cpo_core.central.StationConnection``."""
