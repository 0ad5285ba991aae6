"""OCPP 1.6 security extension handlers (SignCertificate, SecurityEventNotification, ...)."""

from __future__ import annotations


class SecurityHandlers16:
    """Mixin of ``cpo_core.central.StationConnection``."""
