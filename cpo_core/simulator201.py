"""A simulated OCPP 2.0.1 charging station: a real client over WebSockets (``ocpp2.0.1``, or
``ocpp2.1`` with ``version="2.1"``).

    async with SimulatedStation201("ws://127.0.0.1:9000/ocpp", "ST-1", "secret") as st:
        await st.boot()
        transaction_id = await st.charge(1, "TAG-1", Decimal("20"))

It answers the CSMS's commands (Part 2: F01-F06, B05-B12, H01/H02, D01/D02, L01, N01, K01,
K08/K10, A02, M03-M05; cpo_core.simulator201_handlers) and, on an accepted
RequestStartTransaction, starts a transaction carrying the ``remoteStartId`` once its answer is
on the wire; RequestStopTransaction ends it the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from types import TracebackType
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from ocpp.charge_point import camel_to_snake_case
from ocpp.v201 import call
from websockets.asyncio.client import ClientConnection, connect
from websockets.headers import build_authorization_basic
from websockets.typing import Subprotocol

from cpo_core import pki
from cpo_core.base import format_timestamp
from cpo_core.simulator201_handlers import StationHandlers21, StationHandlers201

METER_STEPS = 3  # Updated events sent during a simulated session


class ChargeRefused(Exception):
    """The CSMS did not accept the idToken (status in ``.status``)."""

    def __init__(self, status: str) -> None:
        super().__init__(f"idToken not accepted: {status}")
        self.status = status


def _wh(kwh: Decimal | int) -> int:
    return int((Decimal(kwh) * 1000).to_integral_value(rounding=ROUND_HALF_UP))


def _id_token(value: str, kind: str = "ISO14443") -> dict[str, str]:
    return {"id_token": value, "type": kind}


def energy_meter_value(energy_wh: int, context: str, timestamp: datetime) -> dict[str, Any]:
    """MeterValueType with one Energy.Active.Import.Register sample (a JSON number in 2.0.1)."""
    return {"timestamp": format_timestamp(timestamp), "sampled_value": [{
        "value": energy_wh, "context": context, "measurand": "Energy.Active.Import.Register",
        "unit_of_measure": {"unit": "Wh"}}]}


@dataclass
class Transaction:
    transaction_id: str
    evse: int
    id_token: str
    meter_start: int
    seq_no: int = 0
    remote_start_id: int | None = None


class SimulatedStation201:
    def __init__(self, base_url: str, station_id: str, password: str | None = None, *,
                 vendor: str = "HubSim", model: str = "Sim-201",
                 call_timeout: float = 30, version: str = "2.0.1") -> None:
        if version not in ("2.0.1", "2.1"):
            raise ValueError("version is 2.0.1 or 2.1")
        self.version = version
        self.url = f"{base_url.rstrip('/')}/{station_id}"
        self.station_id = station_id
        self.password = password
        self.vendor, self.model = vendor, model
        self.call_timeout = call_timeout
        self.registers: dict[int, int] = {}  # Wh per EVSE; only grows, as a real meter's
        self.transactions: dict[str, Transaction] = {}
        self.remote_started: dict[int, Transaction] = {}  # remoteStartId -> its transaction
        self.variables: dict[tuple[str, str], str] = {
            ("OCPPCommCtrlr", "HeartbeatInterval"): "300"}
        self.commands: list[tuple[str, str]] = []  # commands received, for tests
        self.profiles: dict[int, dict[str, Any]] = {}  # SetChargingProfile by id (K01)
        self.local_list_version = 0
        self.local_list: list[str] = []
        self.log_file = b"simulated 2.0.1 station log\n"
        self.installed: dict[str, str] = {}  # InstallCertificate: use -> PEM
        self.signed_chains: list[str] = []  # CertificateSigned chains received
        self.key = pki.new_key()  # the key of the station certificate (SignCertificate)
        self._ws: ClientConnection | None = None
        self._cp: StationHandlers201 | None = None
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> SimulatedStation201:
        await self.connect()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.close()

    async def connect(self) -> None:
        headers = {}
        if self.password is not None:
            headers["Authorization"] = build_authorization_basic(self.station_id, self.password)
        self._ws = await connect(self.url, subprotocols=[Subprotocol(f"ocpp{self.version}")],
                                 additional_headers=headers, compression=None)
        handlers = StationHandlers21 if self.version == "2.1" else StationHandlers201
        self._cp = handlers(self.station_id, self._ws, response_timeout=self.call_timeout)
        self._cp.sim = self
        self._task = asyncio.create_task(self._receive(), name=f"sim201-{self.station_id}")

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
        if self._cp is not None:
            self._cp.cancel_follow_ups()
        self._ws = self._task = self._cp = None

    @property
    def connection(self) -> ClientConnection:
        assert self._ws is not None, "not connected"
        return self._ws

    async def call(self, payload: Any) -> Any:
        assert self._cp is not None, "not connected"
        return await self._cp.call(payload)

    # -- messages ------------------------------------------------------------------------------

    async def boot(self, reason: str = "PowerUp") -> str:
        res = await self.call(call.BootNotification(
            charging_station={"model": self.model, "vendor_name": self.vendor,
                              "serial_number": f"SN-{self.station_id}",
                              "firmware_version": "2.0.1-sim"}, reason=reason))
        return str(res.status)

    async def heartbeat(self) -> str:
        res = await self.call(call.Heartbeat())
        return str(res.current_time)

    async def heartbeat_only(self) -> None:
        await self.heartbeat()

    async def sign_certificate(self, common_name: str | None = None) -> str:
        """SignCertificate with a CSR for ``self.key`` (CN = the station id); the status."""
        csr = (x509.CertificateSigningRequestBuilder()
               .subject_name(x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME,
                                                           common_name or self.station_id)]))
               .sign(self.key, hashes.SHA256()))
        res = await self.call(call.SignCertificate(
            csr=csr.public_bytes(serialization.Encoding.PEM).decode(),
            certificate_type="ChargingStationCertificate"))
        return str(res.status)

    async def sign_certificate_only(self) -> None:
        await self.sign_certificate()

    async def send_report(self, request_id: int) -> None:
        """NotifyReport (B07) of our variables, in two parts to exercise ``tbc``."""
        items = [{"component": {"name": c}, "variable": {"name": v},
                  "variable_attribute": [{"type": "Actual", "value": value,
                                          "mutability": "ReadWrite"}]}
                 for (c, v), value in sorted(self.variables.items())]
        parts = [items[:1], items[1:]] if len(items) > 1 else [items]
        for seq_no, part in enumerate(parts):
            await self.call(call.NotifyReport(
                request_id=request_id, generated_at=format_timestamp(datetime.now(UTC)),
                seq_no=seq_no, report_data=part, tbc=seq_no < len(parts) - 1))

    def installed_hashes(self) -> list[tuple[str, dict[str, str]]]:
        """(use, CertificateHashDataType in snake_case) of the installed certificates."""
        found = []
        for use, pem in self.installed.items():
            cert = x509.load_pem_x509_certificate(pem.encode())
            found.append((use, camel_to_snake_case(pki.certificate_hash_data(cert, cert))))
        return found

    async def status(self, evse: int, status: str, connector: int = 1) -> None:
        await self.call(call.StatusNotification(
            timestamp=format_timestamp(datetime.now(UTC)), connector_status=status,
            evse_id=evse, connector_id=connector))

    async def authorize(self, id_token: str) -> str:
        res = await self.call(call.Authorize(id_token=_id_token(id_token)))
        return str(res.id_token_info["status"])

    async def event(self, tx: Transaction, event_type: str, trigger_reason: str,
                    meter_value: list[dict[str, Any]] | None = None, *,
                    timestamp: datetime | None = None, with_token: bool = False,
                    stopped_reason: str | None = None) -> Any:
        """One TransactionEvent; seqNo counts up per transaction."""
        info: dict[str, Any] = {"transaction_id": tx.transaction_id,
                                "charging_state": "Charging" if event_type != "Ended"
                                else "Idle"}
        if tx.remote_start_id is not None and event_type == "Started":
            info["remote_start_id"] = tx.remote_start_id
        if stopped_reason:
            info["stopped_reason"] = stopped_reason
        payload = call.TransactionEvent(
            event_type=event_type, timestamp=format_timestamp(timestamp or datetime.now(UTC)),
            trigger_reason=trigger_reason, seq_no=tx.seq_no, transaction_info=info,
            meter_value=meter_value, evse={"id": tx.evse, "connector_id": 1},
            id_token=_id_token(tx.id_token) if with_token else None)
        tx.seq_no += 1
        return await self.call(payload)

    async def start(self, evse: int, id_token: str, timestamp: datetime | None = None,
                    remote_start_id: int | None = None) -> tuple[Transaction, str]:
        """TransactionEvent Started with the Transaction.Begin register; (tx, idToken status)."""
        ts = timestamp or datetime.now(UTC)
        tx = Transaction(str(uuid.uuid4()), evse, id_token, self.registers.get(evse, 0),
                         remote_start_id=remote_start_id)
        self.transactions[tx.transaction_id] = tx
        if remote_start_id is not None:
            self.remote_started[remote_start_id] = tx
        res = await self.event(tx, "Started", "RemoteStart" if remote_start_id else "Authorized",
                               [energy_meter_value(tx.meter_start, "Transaction.Begin", ts)],
                               timestamp=ts, with_token=True)
        return tx, str(res.id_token_info["status"])

    async def update(self, tx: Transaction, energy_wh: int,
                     timestamp: datetime | None = None) -> None:
        ts = timestamp or datetime.now(UTC)
        await self.event(tx, "Updated", "MeterValuePeriodic",
                         [energy_meter_value(energy_wh, "Sample.Periodic", ts)], timestamp=ts)

    async def end(self, transaction_id: str, trigger_reason: str = "StopAuthorized",
                  stopped_reason: str = "Local", energy_wh: int | None = None,
                  timestamp: datetime | None = None) -> None:
        tx = self.transactions.pop(transaction_id)
        ts = timestamp or datetime.now(UTC)
        register = energy_wh if energy_wh is not None else self.registers.get(tx.evse,
                                                                                tx.meter_start)
        self.registers[tx.evse] = register
        await self.event(tx, "Ended", trigger_reason,
                         [energy_meter_value(register, "Transaction.End", ts)], timestamp=ts,
                         stopped_reason=stopped_reason)

    async def remote_start(self, evse: int, id_token: str, remote_start_id: int) -> None:
        """F01: what a station does after accepting RequestStartTransaction."""
        await self.start(evse, id_token, remote_start_id=remote_start_id)

    async def charge(self, evse: int, id_token: str, kwh: Decimal | int,
                     duration: timedelta = timedelta(minutes=30)) -> str:
        """A whole session (E01-E07 with authorization first); the transactionId.

        Timestamps span ``duration`` ending now, so the session has a realistic length.
        """
        end = datetime.now(UTC)
        begin = end - duration
        meter_start = self.registers.get(evse, 0)
        energy = _wh(kwh)
        await self.status(evse, "Occupied")
        status = await self.authorize(id_token)
        if status != "Accepted":
            await self.status(evse, "Available")
            raise ChargeRefused(status)
        tx, status = await self.start(evse, id_token, begin)
        for step in range(1, METER_STEPS + 1):
            await self.update(tx, meter_start + energy * step // (METER_STEPS + 1),
                              begin + duration * step / (METER_STEPS + 1))
        await self.end(tx.transaction_id, energy_wh=meter_start + energy, timestamp=end)
        await self.status(evse, "Available")
        return tx.transaction_id
