"""Security profiles 2 and 3: the TLS server context and the checks of a station's certificate.

OCPP 1.6 security whitepaper (edition 2), section 2: profile 1 = HTTP Basic auth over ws://,
profile 2 = TLS (server certificate) + Basic auth, profile 3 = TLS with client certificates;
TLS 1.2 or higher. The client certificate's subject CN must be the charge point identity
(section 3.1.2). Refusals happen before the WebSocket upgrade with a real HTTP status
(PROTOCOL_NOTES, OCPP): no or untrusted certificate -> the TLS handshake fails; a trusted
certificate for another station, or a revoked one -> 403.
"""

from __future__ import annotations

import http
import ssl

import structlog
from cryptography import x509
from websockets.asyncio.server import ServerConnection
from websockets.headers import build_www_authenticate_basic
from websockets.http11 import Request, Response

from cpo_core import pki, pki_store
from hub.context import HubContext
from hub.db.models import StationRow
from hub.settings import Settings

log = structlog.get_logger("cpo_core.tls")

REALM = "OCPP"
_WILDCARD_HOSTS = {"", "0.0.0.0", "::"}


def server_names(settings: Settings) -> list[str]:
    """Names in the auto-generated server certificate: the listener's host, configured extra
    names, and loopback."""
    cfg = settings.ocpp
    names = [cfg.host] if cfg.host not in _WILDCARD_HOSTS else []
    return [*names, *cfg.tls_server_names, "localhost", "127.0.0.1"]


def server_ssl_context(ctx: HubContext) -> ssl.SSLContext | None:
    """None: plain ws:// (security profile 1). Otherwise a TLS 1.2+ context; with profile 3
    client certificates are required and verified against our CA (or ``tls_ca_file``)."""
    settings = ctx.settings
    cfg = settings.ocpp
    if cfg.security_profile < 2:
        return None
    now = ctx.clock()
    directory = pki.pki_dir(settings.data_dir)
    if cfg.tls_cert_file is not None:
        if cfg.tls_key_file is None:
            raise ValueError("HUB_OCPP__TLS_CERT_FILE needs HUB_OCPP__TLS_KEY_FILE")
        cert_file, key_file = cfg.tls_cert_file, cfg.tls_key_file
    else:
        cert_file, key_file = pki.ensure_server_certificate(directory, server_names(settings),
                                                            now)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert_file, key_file)
    if cfg.security_profile >= 3:
        context.verify_mode = ssl.CERT_REQUIRED
        if cfg.tls_ca_file is not None:
            context.load_verify_locations(cafile=str(cfg.tls_ca_file))
        else:
            pki.ensure_ca(directory, now)
            context.load_verify_locations(cadata=pki.trust_bundle(directory, now).decode())
    log.info("ocpp.tls.enabled", profile=cfg.security_profile, cert=str(cert_file))
    return context


def peer_certificate(conn: ServerConnection) -> x509.Certificate | None:
    ssl_object = conn.transport.get_extra_info("ssl_object")
    if ssl_object is None:
        return None
    der = ssl_object.getpeercert(binary_form=True)
    return x509.load_der_x509_certificate(der) if der else None


def _forbidden(conn: ServerConnection, station_id: str, reason: str) -> Response:
    log.warning("ocpp.station.certificate_refused", station=station_id, reason=reason)
    return conn.respond(http.HTTPStatus.FORBIDDEN, "Forbidden\n")


async def check_client_certificate(
    ctx: HubContext, conn: ServerConnection, request: Request, station_id: str
) -> Response | None:
    """A refusal before the upgrade, or None when the certificate (if any) is acceptable.

    Profile 2 makes Basic auth mandatory: a known station without a password gets 401 (the
    password itself is checked afterwards, as in profile 1). Profile 3: CN = station id and a
    serial that is not revoked, else 403; a station with a password also needs Basic auth.
    """
    profile = ctx.settings.ocpp.security_profile
    if profile == 2:
        async with ctx.sessionmaker() as session:
            station = await session.get(StationRow, station_id)
        if station is not None and station.password_hash is None:
            log.warning("ocpp.station.no_password_in_profile_2", station=station_id)
            response = conn.respond(http.HTTPStatus.UNAUTHORIZED, "Unauthorized\n")
            response.headers["WWW-Authenticate"] = build_www_authenticate_basic(REALM)
            return response
        return None
    if profile < 3:
        return None
    cert = peer_certificate(conn)
    if cert is None:  # CERT_REQUIRED makes this unreachable unless the context is changed
        return _forbidden(conn, station_id, "no client certificate")
    if pki.common_name(cert.subject) != station_id:
        return _forbidden(conn, station_id, "certificate CN is not the station id")
    async with ctx.sessionmaker() as session:
        revoked = await pki_store.is_revoked(session, pki.serial_hex(cert))
    if revoked:
        return _forbidden(conn, station_id, "certificate revoked")
    return None
