"""OCPP 2.0.1 certificate management and security events with the 2.0.1 simulator:
SignCertificate -> CertificateSigned round trip, renewal trigger, Install/GetInstalled/Delete,
GetCertificateStatus (OCSP by our CA), Get15118EVCertificate, SecurityEventNotification."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509 import ocsp
from ocpp.v201 import call
from sqlalchemy import select

from cpo_core import pki, pki_store
from cpo_core.base import format_timestamp
from cpo_core.simulator201 import SimulatedStation201
from cpo_core.v201_security import SecurityCommands201
from hub.db.base import transaction
from hub.db.models import IssuedCertificateRow, SecurityEventRow
from tests.cpo_core.factories import PASSWORD, eventually, seed_station

SID = "SEC-201"


def _public(key: object) -> bytes:
    assert hasattr(key, "public_bytes")
    return key.public_bytes(serialization.Encoding.DER,
                            serialization.PublicFormat.SubjectPublicKeyInfo)


async def test_sign_certificate_round_trip_and_renewal(hub_ctx, ocpp_url) -> None:
    await seed_station(hub_ctx, SID)
    async with SimulatedStation201(ocpp_url, SID, PASSWORD) as st:
        await st.boot()
        assert await st.sign_certificate() == "Accepted"

        async def signed(n: int) -> bool:
            return len(st.signed_chains) >= n

        assert await eventually(lambda: signed(1))
        cert = x509.load_pem_x509_certificate(st.signed_chains[0].encode())
        assert pki.common_name(cert.subject) == SID
        assert _public(cert.public_key()) == _public(st.key.public_key())
        ca = pki.load_ca(pki.pki_dir(hub_ctx.settings.data_dir))
        assert pki.verify_issued_by(cert, [ca.cert])
        # A CSR for another identity is refused and nothing is signed.
        assert await st.sign_certificate("SOMEONE-ELSE") == "Rejected"
        # Renewal: TriggerMessage(SignChargingStationCertificate) -> SignCertificate again.
        answer = await SecurityCommands201(hub_ctx).request_certificate_renewal(SID)
        assert answer == {"status": "Accepted"}
        assert await eventually(lambda: signed(2))
    async with hub_ctx.sessionmaker() as session:
        rows = (await session.scalars(select(IssuedCertificateRow).where(
            IssuedCertificateRow.station_id == SID))).all()
    assert len(rows) == 2 and rows[0].serial == pki.serial_hex(cert)


async def test_install_list_delete_and_certificate_status(hub_ctx, ocpp_url) -> None:
    await seed_station(hub_ctx, SID)
    cmds = SecurityCommands201(hub_ctx)
    async with SimulatedStation201(ocpp_url, SID, PASSWORD) as st:
        await st.boot()
        assert await cmds.install_our_root(SID) == {"status": "Accepted"}
        ca = pki.load_ca(pki.pki_dir(hub_ctx.settings.data_dir))
        assert st.installed["CSMSRootCertificate"] == ca.pem.decode()
        listed = await cmds.installed_certificate_ids(SID, ["CSMSRootCertificate"])
        [chain] = listed["certificateHashDataChain"]
        hash_data = chain["certificateHashData"]
        assert hash_data["serialNumber"] == pki.serial_hex(ca.cert)
        assert await cmds.delete_certificate(SID, hash_data) == {"status": "Accepted"}
        assert st.installed == {}
        assert (await cmds.delete_certificate(SID, hash_data)) == {"status": "NotFound"}

        # GetCertificateStatus for a certificate our CA issued: an OCSP response.
        await st.sign_certificate()
        assert await eventually(_true_when(lambda: bool(st.signed_chains)))
        cert = x509.load_pem_x509_certificate(st.signed_chains[0].encode())
        request = _ocsp_request(cert, ca.cert)
        good = await st.call(call.GetCertificateStatus(ocsp_request_data=request))
        assert good.status == "Accepted"
        assert _ocsp_status(good.ocsp_result) is ocsp.OCSPCertStatus.GOOD
        async with transaction(hub_ctx.sessionmaker) as session:
            await pki_store.revoke(session, pki.serial_hex(cert), hub_ctx.clock())
        revoked = await st.call(call.GetCertificateStatus(ocsp_request_data=request))
        assert _ocsp_status(revoked.ocsp_result) is ocsp.OCSPCertStatus.REVOKED
        unknown = await st.call(call.GetCertificateStatus(
            ocsp_request_data={**request, "serial_number": "abcdef"}))
        assert unknown.status == "Failed" and unknown.ocsp_result is None

        ev = await st.call(call.Get15118EVCertificate(
            iso15118_schema_version="urn:iso:15118:2:2013:MsgDef", action="Install",
            exi_request="AAAA"))
        assert (ev.status, ev.exi_response) == ("Failed", "")
        await st.call(call.SecurityEventNotification(
            type="FirmwareUpdated", timestamp=format_timestamp(datetime.now(UTC)),
            tech_info="secret details"))
    async with hub_ctx.sessionmaker() as session:
        event = (await session.scalars(select(SecurityEventRow).where(
            SecurityEventRow.station_id == SID))).one()
    assert (event.type, event.tech_info) == ("FirmwareUpdated", "secret details")


def _true_when(check):  # type: ignore[no-untyped-def]
    async def run() -> bool:
        return bool(check())

    return run


def _ocsp_request(cert: x509.Certificate, issuer: x509.Certificate) -> dict[str, str]:
    data = pki.certificate_hash_data(cert, issuer)
    return {"hash_algorithm": data["hashAlgorithm"], "issuer_name_hash": data["issuerNameHash"],
            "issuer_key_hash": data["issuerKeyHash"], "serial_number": data["serialNumber"],
            "responder_url": "http://ocsp.invalid/"}


def _ocsp_status(result: str) -> ocsp.OCSPCertStatus:
    response = ocsp.load_der_ocsp_response(base64.b64decode(result))
    assert response.response_status is ocsp.OCSPResponseStatus.SUCCESSFUL
    return response.certificate_status
