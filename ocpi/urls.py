"""Our OCPI URLs (built from ``settings.public_url``) and the endpoints we implement per role.

One version endpoint covers every own role (version_information_endpoint: "Parties that are both
CPO and eMSP ... can implement one version endpoint"). Modules with both interfaces get one URL
per interface, since both can't share a path: ``/ocpi/cpo/2.2.1/tokens`` (Receiver) and
``/ocpi/emsp/2.2.1/tokens`` (Sender).
"""

from __future__ import annotations

from hub.settings import Settings

VERSION = "2.2.1"
VERSIONS_PATH = "/versions"
DETAILS_PATH = f"/{VERSION}"
CREDENTIALS_PATH = f"/{VERSION}/credentials"
CPO_PREFIX = f"/cpo/{VERSION}"
EMSP_PREFIX = f"/emsp/{VERSION}"

# (own role, module identifier, interface role, path below /ocpi)
ENDPOINTS: tuple[tuple[str, str, str, str], ...] = (
    ("CPO", "locations", "SENDER", f"{CPO_PREFIX}/locations"),
    ("CPO", "tokens", "RECEIVER", f"{CPO_PREFIX}/tokens"),
    ("EMSP", "tokens", "SENDER", f"{EMSP_PREFIX}/tokens"),
    ("EMSP", "sessions", "RECEIVER", f"{EMSP_PREFIX}/sessions"),
    ("EMSP", "cdrs", "RECEIVER", f"{EMSP_PREFIX}/cdrs"),
    # issue 5, modules: tariffs both ways, our CPO's sessions/cdrs Senders, locations Receiver
    ("CPO", "tariffs", "SENDER", f"{CPO_PREFIX}/tariffs"),
    ("CPO", "sessions", "SENDER", f"{CPO_PREFIX}/sessions"),
    ("CPO", "cdrs", "SENDER", f"{CPO_PREFIX}/cdrs"),
    ("EMSP", "tariffs", "RECEIVER", f"{EMSP_PREFIX}/tariffs"),
    ("EMSP", "locations", "RECEIVER", f"{EMSP_PREFIX}/locations"),
    ("CPO", "commands", "RECEIVER", f"{CPO_PREFIX}/commands"),  # issue 5, commands
    ("CPO", "chargingprofiles", "RECEIVER", f"{CPO_PREFIX}/chargingprofiles"),
)


def ocpi_url(settings: Settings, path: str) -> str:
    return f"{settings.public_url}/ocpi{path}"


def versions_url(settings: Settings) -> str:
    return ocpi_url(settings, VERSIONS_PATH)


def our_endpoints(settings: Settings) -> list[dict[str, str]]:
    # version_information_endpoint (Endpoint class, NOTE): own credentials as "SENDER".
    out = [{"identifier": "credentials", "role": "SENDER",
            "url": ocpi_url(settings, CREDENTIALS_PATH)}]
    roles = {p.role for p in settings.parties}
    for own_role, identifier, interface, path in ENDPOINTS:
        if own_role in roles:
            out.append({"identifier": identifier, "role": interface,
                        "url": ocpi_url(settings, path)})
    return out
