"""Checks shared by the Receiver interfaces: who may push which party's objects."""

from __future__ import annotations

from hub.context import HubContext
from hub.db.base import transaction
from hub.domain import PartyRef
from hub.services.parties import upsert_partner_party
from ocpi.auth import Caller
from ocpi.errors import GENERIC_CLIENT_ERROR, INVALID_PARAMETERS, OcpiError


def check_same(field: str, in_body: str, in_url: str) -> None:
    """CiString comparison (types: CiString is case-insensitive); 2001 when they differ."""
    if in_body.upper() != in_url.upper():
        raise OcpiError(INVALID_PARAMETERS,
                        f"{field} in the object ({in_body}) differs from the URL ({in_url})")


async def owner_party(ctx: HubContext, caller: Caller, country_code: str, party_id: str,
                      role: str) -> PartyRef:
    """The caller's party named in the URL. transport_and_format (Client Owned Object Push,
    Errors): another party's URL may be answered with HTTP 404. A partner with the HUB role
    pushes for the parties behind it; those are learned here."""
    found = caller.party(country_code, party_id, role)
    if found is not None:
        return found
    if caller.is_hub:
        ref = PartyRef(country_code.upper(), party_id.upper(), role)
        async with transaction(ctx.sessionmaker) as session:
            await upsert_partner_party(session, ref, caller.partner_id)
        return ref
    raise OcpiError(GENERIC_CLIENT_ERROR,
                    f"{country_code}*{party_id} ({role}) is not a party of this connection",
                    404)
