"""The OCPP 1.6 security extension messages, against real station clients."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from ocpp.v16 import call
from sqlalchemy import select

from cpo_core import pki, pki_store
from cpo_core.security_commands import SecurityCommands
from hub.context import HubContext
from hub.db.models import SecurityEventRow, SignedFirmwareUpdateRow
from tests.cpo_core.factories import eventually, seed_station
from tests.cpo_core.security_support import (
    client_context,
    hub_with_profile,
    pki_dir,
    station,
    wss_url,
)

NOW = datetime.now(UTC)


def make_csr(common_name: str) -> tuple[ec.EllipticCurvePrivateKey, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    csr = (x509.CertificateSigningRequestBuilder()
           .subject_name(x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, common_name)]))
           .sign(key, hashes.SHA256()))
    return key, csr.public_bytes(serialization.Encoding.PEM).decode()


def ws_url(ctx: HubContext, station_id: str) -> str:
    return f"ws://127.0.0.1:{ctx.components['ocpp'].port}/ocpp/{station_id}"


async def test_sign_certificate_round_trip_then_mutual_tls(make_settings,
                                                          tmp_path: Path) -> None:
    async with hub_with_profile(make_settings, 3) as ctx:
        await seed_station(ctx, "CSR-1", password=None)
        ca = pki.load_ca(pki_dir(ctx))
        boot_key, boot_cert = pki.issue_station_certificate(ca, "CSR-1", NOW)
        url = wss_url(ctx, "CSR-1")
        key, csr = make_csr("CSR-1")
        async with station(url, "CSR-1", ssl_context=client_context(
                ca.pem, tmp_path, boot_cert, boot_key)) as st:
            _, wrong_csr = make_csr("SOMEONE-ELSE")
            refused = await st.call(call.SignCertificate(csr=wrong_csr))
            assert refused.status == "Rejected"
            garbage = await st.call(call.SignCertificate(csr="not a csr"))
            assert garbage.status == "Rejected"
            accepted = await st.call(call.SignCertificate(csr=csr))
            assert accepted.status == "Accepted"
            chain = await asyncio.wait_for(st.signed, timeout=10)
        certs = x509.load_pem_x509_certificates(chain.encode())
        leaf = certs[0]
        leaf.verify_directly_issued_by(ca.cert)  # raises if the chain does not verify
        assert pki.common_name(leaf.subject) == "CSR-1"
        assert leaf.public_key() == key.public_key()
        assert x509.ExtendedKeyUsageOID.CLIENT_AUTH in leaf.extensions.get_extension_for_class(
            x509.ExtendedKeyUsage).value
        async with ctx.sessionmaker() as session:
            issued = await pki_store.station_certificates(session, "CSR-1")
        assert [r.serial for r in issued] == [pki.serial_hex(leaf)]  # the rejected: none
        # The station now connects with the certificate it got over OCPP.
        async with station(url, "CSR-1", ssl_context=client_context(
                ca.pem, tmp_path, leaf, key)) as st:
            assert await st.boot() == "Accepted"


async def test_security_event_notification_is_stored(hub_ctx: HubContext) -> None:
    await seed_station(hub_ctx, "SEC-EV", password=None)
    async with station(ws_url(hub_ctx, "SEC-EV"), "SEC-EV") as st:
        await st.call(call.SecurityEventNotification(
            type="InvalidCentralSystemCertificate", timestamp="2026-11-27T10:00:00+02:00",
            tech_info="chain incomplete"))
        await st.call(call.SecurityEventNotification(
            type="FirmwareUpdated", timestamp="2026-11-27T09:00:00", tech_info=None))
    async with hub_ctx.sessionmaker() as session:
        rows = list(await session.scalars(
            select(SecurityEventRow).where(SecurityEventRow.station_id == "SEC-EV")
            .order_by(SecurityEventRow.id)))
    assert [r.type for r in rows] == ["InvalidCentralSystemCertificate", "FirmwareUpdated"]
    assert rows[0].timestamp == datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
    assert rows[0].tech_info == "chain incomplete"
    assert rows[1].timestamp == datetime(2026, 11, 27, 9, 0, tzinfo=UTC)  # naive: UTC
    assert rows[1].tech_info is None


async def test_certificate_management_and_trigger(hub_ctx: HubContext) -> None:
    await seed_station(hub_ctx, "SEC-CM", password=None)
    cmds = SecurityCommands(hub_ctx)
    async with station(ws_url(hub_ctx, "SEC-CM"), "SEC-CM") as st:
        assert (await cmds.installed_certificate_ids(
            "SEC-CM", "CentralSystemRootCertificate"))["status"] == "NotFound"
        assert (await cmds.install_our_root("SEC-CM"))["status"] == "Accepted"
        name, installed = st.received[-1]
        assert name == "InstallCertificate"
        assert installed["certificate_type"] == "CentralSystemRootCertificate"
        ca = pki.load_ca(pki.pki_dir(hub_ctx.settings.data_dir))
        assert installed["certificate"] == ca.pem.decode()

        answer = await cmds.installed_certificate_ids("SEC-CM", "CentralSystemRootCertificate")
        expected = pki.certificate_hash_data(ca.cert, ca.cert)
        assert answer["certificateHashData"] == [expected]
        assert (await cmds.delete_certificate("SEC-CM", expected))["status"] == "Accepted"
        assert st.received[-1] == ("DeleteCertificate", {"certificate_hash_data": {
            "hash_algorithm": "SHA256", "issuer_name_hash": expected["issuerNameHash"],
            "issuer_key_hash": expected["issuerKeyHash"],
            "serial_number": expected["serialNumber"]}})

        assert (await cmds.request_certificate_renewal("SEC-CM"))["status"] == "Accepted"
        assert st.received[-1] == ("ExtendedTriggerMessage",
                                   {"requested_message": "SignChargePointCertificate"})


async def test_signed_firmware_update_and_status(hub_ctx: HubContext) -> None:
    await seed_station(hub_ctx, "SEC-FW", password=None)
    cmds = SecurityCommands(hub_ctx)
    retrieve = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
    async with station(ws_url(hub_ctx, "SEC-FW"), "SEC-FW") as st:
        answer = await cmds.signed_update_firmware(
            "SEC-FW", location="https://fw.example.com/v2.bin", retrieve_at=retrieve,
            signing_certificate="-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----",
            signature="c2lnbmF0dXJl", install_at=retrieve + timedelta(hours=1), retries=2)
        assert answer == {"status": "Accepted", "requestId": 1}
        name, sent = st.received[-1]
        assert name == "SignedUpdateFirmware" and sent["request_id"] == 1
        assert sent["firmware"]["retrieve_date_time"] == "2026-12-01T02:00:00.000Z"
        assert sent["firmware"]["install_date_time"] == "2026-12-01T03:00:00.000Z"
        for status in ("Downloading", "SignatureVerified", "Installed"):
            await st.call(call.SignedFirmwareStatusNotification(status=status, request_id=1))
        second = await cmds.signed_update_firmware(
            "SEC-FW", location="https://fw.example.com/v3.bin", retrieve_at=retrieve,
            signing_certificate="x", signature="y")
        assert second["requestId"] == 2
        await st.call(call.SignedFirmwareStatusNotification(status="InvalidSignature",
                                                            request_id=2))

    async def settled() -> bool:
        async with hub_ctx.sessionmaker() as session:
            rows = list(await session.scalars(select(SignedFirmwareUpdateRow).where(
                SignedFirmwareUpdateRow.station_id == "SEC-FW")
                .order_by(SignedFirmwareUpdateRow.request_id)))
        return [(r.request_id, r.status) for r in rows] == [(1, "Installed"),
                                                            (2, "InvalidSignature")]

    assert await eventually(settled)
