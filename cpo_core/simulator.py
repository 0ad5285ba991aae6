"""A simulated OCPP 1.6J charging station: a real client over WebSockets, for tests and demos.

    async with SimulatedStation("ws://127.0.0.1:9000/ocpp", "ST-1", "secret") as st:
        await st.boot()
        transaction_id = await st.charge(1, "TAG-1", Decimal("20"))

``simulate_stations`` drives several stations at once (CLI: ``hub simulate stations``).
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from types import TracebackType
from typing import Any

import structlog
from ocpp.v16 import call
from ocpp.v16.datatypes import MeterValue, SampledValue
from websockets.asyncio.client import ClientConnection, connect
from websockets.headers import build_authorization_basic
from websockets.typing import Subprotocol

from cpo_core.base import format_timestamp
from cpo_core.sim_commands import SimulatedChargePoint, StationState

log = structlog.get_logger("cpo_core.simulator")

METER_STEPS = 3  # meter values sent during a simulated session


class ChargeRefused(Exception):
    """The central system did not accept the idTag (status in ``.status``)."""

    def __init__(self, status: str) -> None:
        super().__init__(f"idTag not accepted: {status}")
        self.status = status


def _wh(kwh: Decimal | int) -> int:
    return int((Decimal(kwh) * 1000).to_integral_value(rounding=ROUND_HALF_UP))


class SimulatedStation:
    def __init__(self, base_url: str, station_id: str, password: str | None = None, *,
                 vendor: str = "HubSim", model: str = "Sim-2", call_timeout: float = 30) -> None:
        self.url = f"{base_url.rstrip('/')}/{station_id}"
        self.station_id = station_id
        self.password = password
        self.vendor, self.model = vendor, model
        self.call_timeout = call_timeout
        # The energy register per connector (Wh): it only grows, as a real meter's.
        self.registers: dict[int, int] = {}
        # Configuration, local list, reservations...: answers to central system calls.
        self.state = StationState()
        self._ws: ClientConnection | None = None
        self._cp: SimulatedChargePoint | None = None
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> SimulatedStation:
        await self.connect()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.close()

    async def connect(self) -> None:
        headers = {}
        if self.password is not None:
            headers["Authorization"] = build_authorization_basic(self.station_id, self.password)
        self._ws = await connect(self.url, subprotocols=[Subprotocol("ocpp1.6")],
                                 additional_headers=headers, compression=None)
        self._cp = SimulatedChargePoint(self, self._ws, response_timeout=self.call_timeout)
        self._task = asyncio.create_task(self._receive(), name=f"sim-{self.station_id}")

    async def _receive(self) -> None:
        assert self._cp is not None
        with contextlib.suppress(Exception):  # ends when the connection closes
            await self._cp.start()

    async def close(self) -> None:
        if self._ws is not None:
            await self._ws.close()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._ws = self._task = self._cp = None

    @property
    def connection(self) -> ClientConnection:
        assert self._ws is not None, "not connected"
        return self._ws

    async def call(self, payload: Any) -> Any:
        assert self._cp is not None, "not connected"
        return await self._cp.call(payload)

    # -- messages ------------------------------------------------------------------------------

    async def boot(self) -> str:
        res = await self.call(call.BootNotification(
            charge_point_model=self.model, charge_point_vendor=self.vendor,
            charge_point_serial_number=f"SN-{self.station_id}", firmware_version="1.0.0"))
        return str(res.status)

    async def heartbeat(self) -> str:
        res = await self.call(call.Heartbeat())
        return str(res.current_time)

    async def status(self, connector: int, status: str, error_code: str = "NoError") -> None:
        await self.call(call.StatusNotification(
            connector_id=connector, error_code=error_code, status=status,
            timestamp=format_timestamp(datetime.now(UTC))))

    async def authorize(self, id_tag: str) -> str:
        res = await self.call(call.Authorize(id_tag=id_tag))
        return str(res.id_tag_info["status"])

    async def start_transaction(self, connector: int, id_tag: str, meter_start_wh: int,
                                timestamp: datetime | None = None,
                                reservation_id: int | None = None) -> tuple[int, str]:
        res = await self.call(call.StartTransaction(
            connector_id=connector, id_tag=id_tag, meter_start=meter_start_wh,
            timestamp=format_timestamp(timestamp or datetime.now(UTC)),
            reservation_id=reservation_id))
        self.state.active[connector] = (int(res.transaction_id), id_tag)
        return int(res.transaction_id), str(res.id_tag_info["status"])

    async def meter_values(self, connector: int, transaction_id: int | None, energy_wh: int,
                           timestamp: datetime | None = None) -> None:
        # The value is a string on the wire (OCPP 1.6 section 7.45): never a Decimal.
        sample = SampledValue(value=str(energy_wh), context="Sample.Periodic",
                              measurand="Energy.Active.Import.Register", unit="Wh")
        await self.call(call.MeterValues(
            connector_id=connector, transaction_id=transaction_id,
            meter_value=[MeterValue(timestamp=format_timestamp(timestamp or datetime.now(UTC)),
                                    sampled_value=[sample])]))

    async def stop_transaction(self, transaction_id: int, meter_stop_wh: int,
                               id_tag: str | None, timestamp: datetime | None = None,
                               reason: str = "Local") -> str | None:
        res = await self.call(call.StopTransaction(
            meter_stop=meter_stop_wh, timestamp=format_timestamp(timestamp or datetime.now(UTC)),
            transaction_id=transaction_id, reason=reason, id_tag=id_tag))
        for connector, (tx, _tag) in list(self.state.active.items()):
            if tx == transaction_id:
                del self.state.active[connector]
        return str(res.id_tag_info["status"]) if res.id_tag_info else None

    async def charge(self, connector: int, id_tag: str, kwh: Decimal | int,
                     duration: timedelta = timedelta(minutes=30)) -> int:
        """A whole session: Preparing, Authorize, Start, meter values, Stop, Available.

        Timestamps span ``duration`` ending now, so the session has a realistic length.
        """
        end = datetime.now(UTC)
        start = end - duration
        meter_start = self.registers.get(connector, 0)
        energy = _wh(kwh)
        await self.status(connector, "Preparing")
        status = await self.authorize(id_tag)
        if status != "Accepted":
            await self.status(connector, "Available")
            raise ChargeRefused(status)
        transaction_id, status = await self.start_transaction(connector, id_tag, meter_start,
                                                              start)
        await self.status(connector, "Charging")
        for step in range(1, METER_STEPS + 1):
            await self.meter_values(connector, transaction_id,
                                    meter_start + energy * step // (METER_STEPS + 1),
                                    start + duration * step / (METER_STEPS + 1))
        self.registers[connector] = meter_start + energy
        await self.stop_transaction(transaction_id, meter_start + energy, id_tag, end)
        await self.status(connector, "Finishing")
        await self.status(connector, "Available")
        return transaction_id


async def _run_station(base_url: str, station_id: str, password: str | None, id_tag: str,
                       kwh: Decimal, sessions: int) -> dict[str, Any]:
    done: list[int] = []
    refused: list[str] = []
    async with SimulatedStation(base_url, station_id, password) as st:
        await st.boot()
        await st.status(1, "Available")
        for _ in range(sessions):
            try:
                done.append(await st.charge(1, id_tag, kwh))
            except ChargeRefused as exc:
                refused.append(exc.status)
    return {"transaction_ids": done, "refused": refused}


async def simulate_stations(base_url: str, station_ids: list[str], password: str | None,
                            id_tag: str, kwh: Decimal | int,
                            sessions_per_station: int) -> dict[str, Any]:
    """Connect stations concurrently, each charging ``sessions_per_station`` times.

    Returns a JSON-friendly summary (energy as a decimal string).
    """
    energy = Decimal(kwh)
    results = await asyncio.gather(
        *(_run_station(base_url, sid, password, id_tag, energy, sessions_per_station)
          for sid in station_ids),
        return_exceptions=True)
    summary: dict[str, Any] = {"stations": {}, "sessions": 0, "refused": 0, "failed": 0}
    for sid, result in zip(station_ids, results, strict=True):
        if isinstance(result, BaseException):
            log.warning("simulate.station_failed", station=sid, error=repr(result))
            summary["stations"][sid] = {"error": repr(result)}
            summary["failed"] += 1
            continue
        summary["stations"][sid] = result
        summary["sessions"] += len(result["transaction_ids"])
        summary["refused"] += len(result["refused"])
    summary["kwh"] = str(energy * summary["sessions"])
    return summary
