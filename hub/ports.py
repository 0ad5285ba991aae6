"""Ports: what the kernel needs from the outside, implemented by edges and wired in hub.app.

The kernel calls these interfaces; ``ocpi`` (real-time authorization, deliveries) and
``clearing`` (pricing) implement them. That keeps the dependency rule: hub imports neither.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from hub.domain import AuthorizationResult, CdrPrice, PartyRef, SessionFacts, Tariff


class RemoteAuthorizer(Protocol):
    async def authorize(
        self,
        token_uid: str,
        token_type: str | None,
        location_id: str | None,
        owner: PartyRef | None,
    ) -> AuthorizationResult | None:
        """Ask the eMSP in real time: ``owner`` if we know it, else every eMSP partner.

        ``None``: no partner knows the token. Raises ``PartnerUnavailable`` when the owner
        could not be reached (so the caller can apply ALLOWED_OFFLINE).
        """
        ...


class CdrPricer(Protocol):
    def __call__(self, session: SessionFacts, tariff: Tariff | None) -> CdrPrice: ...


class DeliveryError(Exception):
    """Raised by a delivery handler; ``retryable=False`` sends the message to dead letters."""

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


class DeliveryHandler(Protocol):
    async def __call__(self, message: OutboxMessage) -> None: ...


class OutboxMessage(Protocol):
    """A claimed outbox message, as a delivery handler sees it (read-only)."""

    @property
    def id(self) -> int: ...
    @property
    def kind(self) -> str: ...
    @property
    def partner_id(self) -> int | None: ...
    @property
    def subject(self) -> str: ...
    @property
    def payload(self) -> dict[str, Any]: ...
    @property
    def attempts(self) -> int: ...


# issue 5, commands: OCPI commands for our own stations reach the CPO core through this port.
# Outcome of one station command, protocol-neutral (ocpi maps it to a CommandResultType).
STATION_OUTCOMES = ("accepted", "rejected", "occupied", "offline", "timeout", "failed",
                    "unknown")  # unknown: no such reservation / profile on the station


class StationControl(Protocol):
    """Remote control of our own stations; each call returns one of ``STATION_OUTCOMES``."""

    async def remote_start(self, station_id: str, connector_id: int, id_tag: str) -> str: ...
    async def remote_stop(self, station_id: str, session_pk: int) -> str: ...
    async def unlock(self, station_id: str, connector_id: int) -> str: ...
    # issue 5, reservations and smart charging (OCPI RESERVE_NOW, chargingprofiles module)
    async def reserve(self, station_id: str, connector_id: int, id_tag: str,
                      expiry_date: datetime) -> tuple[str, int | None]:
        """The outcome and the station-side reservation id (None when none was made)."""
        ...
    async def cancel_reservation(self, station_id: str, reservation_pk: int) -> str: ...
    async def set_limits(self, station_id: str, connector_id: int, session_pk: int,
                         profile_id: int, limits: ChargingLimits) -> str:
        """A transaction profile (TxProfile) on the running transaction of the session."""
        ...
    async def clear_limits(self, station_id: str, profile_id: int) -> str: ...
    async def planned_limits(self, station_id: str, connector_id: int, duration: int
                             ) -> tuple[str, ChargingLimits | None]:
        """The station's composite schedule from now for ``duration`` seconds."""
        ...


@dataclass(frozen=True)
class LimitPeriod:
    start_period: int  # seconds from the start of the schedule
    limit: Decimal  # in the schedule's rate unit


@dataclass(frozen=True)
class ChargingLimits:
    """A charging schedule, protocol-neutral (OCPI ChargingProfile, OCPP chargingSchedule)."""

    rate_unit: str  # "W" | "A"
    periods: tuple[LimitPeriod, ...]
    start: datetime | None = None  # absolute start; None = relative to the transaction
    duration: int | None = None  # seconds
    min_rate: Decimal | None = None
