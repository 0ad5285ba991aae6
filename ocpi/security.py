"""Which partner URLs we call (issue 5, item 9; PROTOCOL_NOTES, OCPI: every URL a peer gives
us is an SSRF vector).

A URL is allowed when its host is in ``HUB_OCPI__ALLOWED_HOSTS`` (exact, or ``*.example.com``
for any subdomain), or is loopback while ``HUB_ENVIRONMENT`` is not ``production``. In
production the scheme must be ``https``. Checked in ``ocpi.client`` for every outgoing call
(credentials/versions URLs, endpoints from version details); :func:`check_response_url` is for
a command's ``response_url`` (refused with 2001 before anything is sent).
"""

from __future__ import annotations

import ipaddress

import httpx

from hub.settings import Settings
from ocpi.errors import INVALID_PARAMETERS, OcpiError

PRODUCTION = "production"
_LOOPBACK_NAMES = frozenset({"localhost"})


class UrlRefused(Exception):
    """A partner URL outside the allow-list (or plain HTTP in production)."""


def _loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _listed(host: str, allowed: list[str]) -> bool:
    host = host.lower().rstrip(".")
    for pattern in allowed:
        p = pattern.lower().strip()
        if p.startswith("*.") and host.endswith(p[1:]):
            return True
        if host == p:
            return True
    return False


def refusal(settings: Settings, url: str) -> str | None:
    """Why ``url`` may not be called, or None when it may."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError):
        return "not a valid URL"
    if parsed.scheme not in ("http", "https") or not parsed.host:
        return "not an http(s) URL"
    production = settings.environment == PRODUCTION
    if production and parsed.scheme != "https":
        return "HTTPS is required in production"
    if _listed(parsed.host, settings.ocpi.allowed_hosts):
        return None
    if not production and _loopback(parsed.host):
        return None
    return f"host {parsed.host} is not in HUB_OCPI__ALLOWED_HOSTS"


def check_partner_url(settings: Settings, url: str) -> None:
    reason = refusal(settings, url)
    if reason is not None:
        raise UrlRefused(reason)


def check_response_url(settings: Settings, url: str) -> None:
    """A command's response_url (mod_commands): refused with 2001 (status_codes)."""
    reason = refusal(settings, url)
    if reason is not None:
        raise OcpiError(INVALID_PARAMETERS, f"response_url refused: {reason}")
