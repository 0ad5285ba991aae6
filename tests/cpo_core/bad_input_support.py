"""Helpers of ``test_bad_input.py``: the per-version spelling of the answers and frames, and
hand-written OCPP-J clients over plain ``websockets`` (not the ``ocpp`` library)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from websockets.asyncio.client import ClientConnection, connect
from websockets.headers import build_authorization_basic
from websockets.typing import Subprotocol

from hub.context import HubContext
from hub.db.models import ChargingSessionRow, MeterValueRow, StationStatusRow

TAG = "04A1B2C3D4"
T0 = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
PHASES = ("L1", "L2", "L3")


def stamp(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Version:
    """What differs between OCPP-J 1.6 (section 4.2.3) and 2.0.1 (section 4.3) here."""

    name: str
    subprotocol: str
    format_violation: str  # 1.6 FormationViolation, 2.0.1 FormatViolation
    unknown_message_type: str  # 2.0.1 has MessageTypeNotSupported; 1.6 has nothing better
    bad_enum_status: dict[str, Any]  # a StatusNotification whose status is not in the enum

    @property
    def subprotocols(self) -> list[Subprotocol]:
        return [Subprotocol(self.subprotocol)]

    def status(self, connector: int, status: str, at: datetime) -> list[Any]:
        if self.name == "1.6":
            return ["StatusNotification", {"connectorId": connector, "errorCode": "NoError",
                                           "status": status, "timestamp": stamp(at)}]
        return ["StatusNotification", {"timestamp": stamp(at), "connectorStatus": status,
                                       "evseId": connector, "connectorId": 1}]

    def data_transfer(self, data: str) -> list[Any]:
        return ["DataTransfer", {"vendorId": "com.example", "data": data}]

    def bad_timestamp(self) -> list[Any]:
        frame = self.status(1, "Available", T0)
        frame[1]["timestamp"] = "yesterday"
        return frame

    # -- a transaction flooded with meter values ---------------------------------------------

    def start(self, tx_ref: str) -> list[Any]:
        if self.name == "1.6":
            return ["StartTransaction", {"connectorId": 1, "idTag": TAG, "meterStart": 1000,
                                         "timestamp": stamp(T0)}]
        return ["TransactionEvent", {
            "eventType": "Started", "timestamp": stamp(T0), "triggerReason": "Authorized",
            "seqNo": 0, "transactionInfo": {"transactionId": tx_ref}, "evse": {"id": 1},
            "idToken": {"idToken": TAG, "type": "ISO14443"},
            "meterValue": [{"timestamp": stamp(T0), "sampledValue": [
                {"value": 1000, "context": "Transaction.Begin"}]}]}]

    def meter(self, tx: int | str, n: int) -> list[Any]:
        """The n-th periodic sample (1 s apart): the energy register + V/A/W per phase."""
        at = T0 + timedelta(seconds=n + 1)
        values = [("Energy.Active.Import.Register", None, 1000 + n, "Wh")] + [
            (measurand, phase, value, unit) for phase in PHASES for measurand, value, unit in (
                ("Voltage", 230, "V"), ("Current.Import", 16, "A"),
                ("Power.Active.Import", 3680, "W"))]
        if self.name == "1.6":
            sampled = [{"value": str(v), "context": "Sample.Periodic", "measurand": m, "unit": u}
                       | ({"phase": p} if p else {}) for m, p, v, u in values]
            return ["MeterValues", {"connectorId": 1, "transactionId": tx, "meterValue": [
                {"timestamp": stamp(at), "sampledValue": sampled}]}]
        sampled = [{"value": v, "context": "Sample.Periodic", "measurand": m,
                    "unitOfMeasure": {"unit": u}} | ({"phase": p} if p else {})
                   for m, p, v, u in values]
        return ["TransactionEvent", {
            "eventType": "Updated", "timestamp": stamp(at), "triggerReason": "MeterValuePeriodic",
            "seqNo": n + 1, "transactionInfo": {"transactionId": tx}, "evse": {"id": 1},
            "meterValue": [{"timestamp": stamp(at), "sampledValue": sampled}]}]

    @staticmethod
    def samples_per_meter_frame() -> int:
        return 1 + 3 * len(PHASES)


V16 = Version("1.6", "ocpp1.6", "FormationViolation", "FormationViolation",
              {"connectorId": 1, "errorCode": "NoError", "status": "Bogus"})
V201 = Version("2.0.1", "ocpp2.0.1", "FormatViolation", "MessageTypeNotSupported",
               {"timestamp": stamp(T0), "connectorStatus": "Bogus", "evseId": 1,
                "connectorId": 1})
VERSIONS = [V16, V201]


def frame(unique_id: str, action: str, payload: dict[str, Any]) -> str:
    return json.dumps([2, unique_id, action, payload])


async def exchange(ws: ClientConnection, text: str) -> list[Any]:
    """Sends one frame and returns the next one received (stations here never get CALLs)."""
    await ws.send(text)
    answer: list[Any] = json.loads(await ws.recv())
    return answer


async def heartbeat(ws: ClientConnection, unique_id: str = "hb") -> bool:
    answer = await exchange(ws, frame(unique_id, "Heartbeat", {}))
    return answer[0] == 3 and answer[1] == unique_id and answer[2]["currentTime"].endswith("Z")


@contextlib.asynccontextmanager
async def raw_station(url: str, station_id: str, version: Version, *,
                      password: str | None = None, **kwargs: Any
                      ) -> AsyncIterator[ClientConnection]:
    headers = {}
    if password is not None:
        headers["Authorization"] = build_authorization_basic(station_id, password)
    async with connect(f"{url}/{station_id}", subprotocols=version.subprotocols,
                       additional_headers=headers, compression=None, **kwargs) as ws:
        assert ws.subprotocol == version.subprotocol
        yield ws


async def status_rows(ctx: HubContext, station_id: str) -> list[str]:
    async with ctx.sessionmaker() as session:
        return list((await session.scalars(
            select(StationStatusRow.status).where(StationStatusRow.station_id == station_id)
            .order_by(StationStatusRow.id))).all())


async def periodic_meter_rows(ctx: HubContext, session_pk: int) -> int:
    async with ctx.sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(MeterValueRow).where(
            MeterValueRow.session_pk == session_pk,
            MeterValueRow.context == "Sample.Periodic")) or 0)


async def session_pk(ctx: HubContext, version: Version, tx: int | str) -> int:
    if version.name == "1.6":
        assert isinstance(tx, int)
        return tx
    async with ctx.sessionmaker() as session:
        return (await session.scalars(select(ChargingSessionRow.id).where(
            ChargingSessionRow.ocpp_transaction_ref == tx))).one()
