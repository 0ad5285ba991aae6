"""Security profiles 2 and 3 with real TLS WebSocket clients: admission before the upgrade."""

from __future__ import annotations

import ssl
from datetime import UTC, datetime
from pathlib import Path

import pytest
from websockets.exceptions import InvalidHandshake, InvalidStatus

from cpo_core import pki, pki_store
from hub.db.base import transaction
from tests.cpo_core.factories import PASSWORD, seed_station
from tests.cpo_core.security_support import (
    client_context,
    hub_with_profile,
    pki_dir,
    station,
    wss_url,
)

NOW = datetime.now(UTC)
TLS_REFUSALS = (ssl.SSLError, OSError, InvalidHandshake, EOFError)


async def test_profile_2_tls_with_basic_auth(make_settings, tmp_path: Path) -> None:
    async with hub_with_profile(make_settings, 2) as ctx:
        await seed_station(ctx, "TLS-2")
        await seed_station(ctx, "NOPASS-2", password=None)
        ca_pem = (pki_dir(ctx) / "ca.pem").read_bytes()
        tls = client_context(ca_pem, tmp_path)
        async with station(wss_url(ctx, "TLS-2"), "TLS-2", ssl_context=tls,
                           password=PASSWORD) as st:
            assert st._connection.request.path == "/ocpp/TLS-2"
            assert await st.boot() == "Accepted"
        with pytest.raises(InvalidStatus) as wrong:
            async with station(wss_url(ctx, "TLS-2"), "TLS-2", ssl_context=tls,
                               password="wrong"):
                pass
        assert wrong.value.response.status_code == 401
        # Profile 2 means Basic auth: a station without a password may not connect.
        with pytest.raises(InvalidStatus) as nopass:
            async with station(wss_url(ctx, "NOPASS-2"), "NOPASS-2", ssl_context=tls):
                pass
        assert nopass.value.response.status_code == 401
        # Plain ws:// to the TLS listener does not get through.
        plain = wss_url(ctx, "TLS-2").replace("wss://", "ws://")
        with pytest.raises(TLS_REFUSALS):
            async with station(plain, "TLS-2", password=PASSWORD):
                pass


async def test_profile_3_station_certificates(make_settings, tmp_path: Path) -> None:
    async with hub_with_profile(make_settings, 3) as ctx:
        await seed_station(ctx, "MTLS-3", password=None)
        ca = pki.load_ca(pki_dir(ctx))
        key, cert = pki.issue_station_certificate(ca, "MTLS-3", NOW)
        url = wss_url(ctx, "MTLS-3")

        async with station(url, "MTLS-3",
                           ssl_context=client_context(ca.pem, tmp_path, cert, key)) as st:
            assert await st.boot() == "Accepted"
            assert "MTLS-3" in ctx.components["ocpp"].stations

        # No client certificate at all: the TLS handshake fails.
        with pytest.raises(TLS_REFUSALS):
            async with station(url, "MTLS-3", ssl_context=client_context(ca.pem, tmp_path)):
                pass

        # A certificate for the right CN, but from another CA: refused at the TLS level.
        other = pki.create_ca(NOW, "Somebody else's CA")
        okey, ocert = pki.issue_station_certificate(other, "MTLS-3", NOW)
        with pytest.raises(TLS_REFUSALS) as untrusted:
            async with station(url, "MTLS-3",
                               ssl_context=client_context(ca.pem, tmp_path, ocert, okey)):
                pass
        assert not isinstance(untrusted.value, InvalidStatus)

        # Our CA, but the certificate names another station: 403 before the upgrade.
        mkey, mcert = pki.issue_station_certificate(ca, "MTLS-OTHER", NOW)
        with pytest.raises(InvalidStatus) as mismatch:
            async with station(url, "MTLS-3",
                               ssl_context=client_context(ca.pem, tmp_path, mcert, mkey)):
                pass
        assert mismatch.value.response.status_code == 403

        # Revoked: 403; the station's other certificate still works (the server kept going).
        async with transaction(ctx.sessionmaker) as session:
            assert await pki_store.revoke(session, pki.serial_hex(cert).upper(), NOW,
                                          "key leaked")
        with pytest.raises(InvalidStatus) as revoked:
            async with station(url, "MTLS-3",
                               ssl_context=client_context(ca.pem, tmp_path, cert, key)):
                pass
        assert revoked.value.response.status_code == 403
        key2, cert2 = pki.issue_station_certificate(ca, "MTLS-3", NOW)
        async with station(url, "MTLS-3",
                           ssl_context=client_context(ca.pem, tmp_path, cert2, key2)) as st:
            assert await st.boot() == "Accepted"


async def test_profile_3_password_still_checked(make_settings, tmp_path: Path) -> None:
    async with hub_with_profile(make_settings, 3) as ctx:
        await seed_station(ctx, "MTLS-PW")
        ca = pki.load_ca(pki_dir(ctx))
        key, cert = pki.issue_station_certificate(ca, "MTLS-PW", NOW)
        tls = client_context(ca.pem, tmp_path, cert, key)
        with pytest.raises(InvalidStatus) as info:
            async with station(wss_url(ctx, "MTLS-PW"), "MTLS-PW", ssl_context=tls):
                pass
        assert info.value.response.status_code == 401
        async with station(wss_url(ctx, "MTLS-PW"), "MTLS-PW", ssl_context=tls,
                           password=PASSWORD) as st:
            assert await st.boot() == "Accepted"


async def test_rotation_keeps_old_certificates_and_old_roots_working(
        make_settings, tmp_path: Path) -> None:
    settings = None
    async with hub_with_profile(make_settings, 3) as ctx:
        settings = ctx.settings
        await seed_station(ctx, "ROT-1", password=None)
        old = pki.load_ca(pki_dir(ctx))
        old_key, old_cert = pki.issue_station_certificate(old, "ROT-1", NOW)
    assert settings is not None
    new = pki.rotate_ca(pki.pki_dir(settings.data_dir), NOW, ["127.0.0.1"])
    assert new.cert.subject != old.cert.subject or new.cert.serial_number != \
        old.cert.serial_number
    new_key, new_cert = pki.issue_station_certificate(new, "ROT-1", NOW)
    assert pki.verify_issued_by(new_cert, [new.cert])
    assert not pki.verify_issued_by(new_cert, [old.cert])

    from hub.app import running_hub  # the same settings, restarted: the new server cert

    async with running_hub(settings) as ctx:
        url = wss_url(ctx, "ROT-1")
        # A station that still trusts only the old root, with its old certificate.
        async with station(url, "ROT-1", ssl_context=client_context(
                old.pem, tmp_path / "a", old_cert, old_key)) as st:
            assert await st.boot() == "Accepted"
        # A renewed station: new root, new certificate.
        async with station(url, "ROT-1", ssl_context=client_context(
                new.pem, tmp_path / "b", new_cert, new_key)) as st:
            assert await st.boot() == "Accepted"


async def test_operator_supplied_tls_files(make_settings, tmp_path: Path) -> None:
    """tls_cert_file / tls_key_file / tls_ca_file instead of the auto-generated ones."""
    own = pki.create_ca(NOW, "Operator CA")
    skey, scert = pki.issue_server_certificate(own, ["127.0.0.1"], NOW)
    files = tmp_path / "files"
    pki.write_file(files / "server.pem", pki.cert_pem(scert))
    pki.write_file(files / "server.key", pki.key_pem(skey), private=True)
    pki.write_file(files / "ca.pem", own.pem)
    async with hub_with_profile(make_settings, 3, tls_cert_file=str(files / "server.pem"),
                                tls_key_file=str(files / "server.key"),
                                tls_ca_file=str(files / "ca.pem")) as ctx:
        await seed_station(ctx, "OWN-1", password=None)
        key, cert = pki.issue_station_certificate(own, "OWN-1", NOW)
        async with station(wss_url(ctx, "OWN-1"), "OWN-1", ssl_context=client_context(
                own.pem, tmp_path, cert, key)) as st:
            assert await st.boot() == "Accepted"
        assert not (pki_dir(ctx) / "server.pem").exists()
