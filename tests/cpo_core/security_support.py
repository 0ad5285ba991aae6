"""Helpers of the security tests: hubs with a security profile, TLS client contexts, and a
station (a real OCPP 1.6 client over ``websockets``) that answers the security extension."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from ocpp.routing import on
from ocpp.v16 import call, call_result
from ocpp.v16.enums import Action
from websockets.asyncio.client import connect
from websockets.headers import build_authorization_basic
from websockets.typing import Subprotocol

from cpo_core import pki
from cpo_core.base import OcppChargePoint
from hub.app import running_hub
from hub.context import HubContext
from tests.conftest import SettingsFactory, free_port


@contextlib.asynccontextmanager
async def hub_with_profile(make_settings: SettingsFactory, profile: int,
                           **ocpp: Any) -> AsyncIterator[HubContext]:
    settings = await asyncio.to_thread(make_settings, ocpp={
        "host": "127.0.0.1", "port": free_port(), "security_profile": profile, **ocpp})
    async with running_hub(settings) as ctx:
        yield ctx


def pki_dir(ctx: HubContext) -> Path:
    return pki.pki_dir(ctx.settings.data_dir)


def wss_url(ctx: HubContext, station_id: str) -> str:
    return f"wss://127.0.0.1:{ctx.components['ocpp'].port}/ocpp/{station_id}"


def client_context(ca_pem: bytes, tmp: Path, cert: x509.Certificate | None = None,
                   key: ec.EllipticCurvePrivateKey | None = None) -> ssl.SSLContext:
    """Trusts ``ca_pem`` for the server; presents ``cert`` (files written under ``tmp``)."""
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cadata=ca_pem.decode())
    if cert is not None and key is not None:
        tmp.mkdir(parents=True, exist_ok=True)
        name = pki.serial_hex(cert)
        pki.write_file(tmp / f"{name}.pem", pki.cert_pem(cert))
        pki.write_file(tmp / f"{name}.key", pki.key_pem(key), private=True)
        context.load_cert_chain(tmp / f"{name}.pem", tmp / f"{name}.key")
    return context


class SecureStation(OcppChargePoint):
    """Answers the central system's security calls and remembers what it got."""

    def __init__(self, station_id: str, connection: Any) -> None:
        super().__init__(station_id, connection, response_timeout=10)
        self.signed: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self.received: list[tuple[str, dict[str, Any]]] = []

    @on(Action.certificate_signed)
    async def on_st_certificate_signed(self, certificate_chain: str
                                       ) -> call_result.CertificateSigned:
        if not self.signed.done():
            self.signed.set_result(certificate_chain)
        return call_result.CertificateSigned(status="Accepted")

    @on(Action.install_certificate)
    async def on_st_install_certificate(self, **kw: Any) -> call_result.InstallCertificate:
        self.received.append(("InstallCertificate", kw))
        return call_result.InstallCertificate(status="Accepted")

    @on(Action.get_installed_certificate_ids)
    async def on_st_installed_ids(self, **kw: Any) -> call_result.GetInstalledCertificateIds:
        self.received.append(("GetInstalledCertificateIds", kw))
        hashes = [pki_hash for name, data in self.received if name == "InstallCertificate"
                  for pki_hash in [_hash_of(data["certificate"])]]
        return call_result.GetInstalledCertificateIds(
            status="Accepted" if hashes else "NotFound", certificate_hash_data=hashes or None)

    @on(Action.delete_certificate)
    async def on_st_delete_certificate(self, **kw: Any) -> call_result.DeleteCertificate:
        self.received.append(("DeleteCertificate", kw))
        return call_result.DeleteCertificate(status="Accepted")

    @on(Action.extended_trigger_message)
    async def on_st_extended_trigger(self, **kw: Any) -> call_result.ExtendedTriggerMessage:
        self.received.append(("ExtendedTriggerMessage", kw))
        return call_result.ExtendedTriggerMessage(status="Accepted")

    @on(Action.signed_update_firmware)
    async def on_st_signed_update_firmware(self, **kw: Any) -> call_result.SignedUpdateFirmware:
        self.received.append(("SignedUpdateFirmware", kw))
        return call_result.SignedUpdateFirmware(status="Accepted")

    async def boot(self) -> str:
        res = await self.call(call.BootNotification(charge_point_model="Sec-1",
                                                    charge_point_vendor="HubSim"))
        return str(res.status)


def _hash_of(certificate_pem: str) -> dict[str, str]:
    cert = x509.load_pem_x509_certificate(certificate_pem.encode())
    return pki.certificate_hash_data(cert, cert)


@contextlib.asynccontextmanager
async def station(url: str, station_id: str, *, ssl_context: ssl.SSLContext | None = None,
                  password: str | None = None) -> AsyncIterator[SecureStation]:
    headers = {}
    if password is not None:
        headers["Authorization"] = build_authorization_basic(station_id, password)
    async with connect(url, subprotocols=[Subprotocol("ocpp1.6")], ssl=ssl_context,
                       additional_headers=headers, compression=None) as ws:
        cp = SecureStation(station_id, ws)
        task = asyncio.create_task(cp.start())
        try:
            yield cp
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
