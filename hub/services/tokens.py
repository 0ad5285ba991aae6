"""Tokens and authorization: which driver may charge.

Whitelist semantics follow OCPI 2.2.1 mod_tokens WhitelistType: ALWAYS -> decide locally;
ALLOWED -> local decision is fine; ALLOWED_OFFLINE -> ask the eMSP, local only if it can't be
reached; NEVER -> ask the eMSP, no local fallback. An unknown token is asked of the eMSPs in
real time (port ``RemoteAuthorizer``, implemented by the OCPI edge).
"""

from __future__ import annotations

from datetime import datetime

import structlog
from sqlalchemy import bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from hub.db.changes import touched
from hub.db.groupread import Lookup, group_reader
from hub.db.models import PartyRow, TokenRow
from hub.db.refcache import cached
from hub.domain import (
    AllowedType,
    AuthorizationResult,
    InvalidInput,
    PartnerUnavailable,
    PartyRef,
    TokenInfo,
)
from hub.ports import RemoteAuthorizer
from hub.services.access import station_verdict
from hub.services.network import station_facts
from hub.services.parties import find_party, party_ref

log = structlog.get_logger("hub.tokens")

TOKEN_TYPES = {"AD_HOC_USER", "APP_USER", "OTHER", "RFID"}
WHITELIST_TYPES = {"ALWAYS", "ALLOWED", "ALLOWED_OFFLINE", "NEVER"}


def token_from_row(row: TokenRow, owner: PartyRow) -> TokenInfo:
    return TokenInfo(
        owner=party_ref(owner), uid=row.uid, type=row.type, contract_id=row.contract_id,
        issuer=row.issuer, valid=row.valid, whitelist=row.whitelist,
        visual_number=row.visual_number, group_id=row.group_id, language=row.language,
        last_updated=row.last_updated,
    )


async def find_token(
    session: AsyncSession, uid: str, token_type: str | None = None
) -> tuple[TokenRow, PartyRow] | None:
    stmt = select(TokenRow, PartyRow).join(PartyRow, PartyRow.id == TokenRow.party_pk)
    if token_type:
        stmt = stmt.where(TokenRow.type == token_type)
    exact = (await session.execute(stmt.where(TokenRow.uid == uid).order_by(TokenRow.id))).first()
    if exact is not None:
        return exact[0], exact[1]
    # Stations upper-case idTags read from cards; eMSPs don't always.
    loose = (await session.execute(
        stmt.where(func.upper(TokenRow.uid) == uid.upper()).order_by(TokenRow.id))).first()
    return (loose[0], loose[1]) if loose is not None else None


async def get_token(
    session: AsyncSession, owner: PartyRef, uid: str, token_type: str
) -> TokenInfo | None:
    party = await find_party(session, owner.country_code, owner.party_id, "EMSP")
    if party is None:
        return None
    row = (await session.scalars(select(TokenRow).where(
        TokenRow.party_pk == party.id, TokenRow.uid == uid, TokenRow.type == token_type))).first()
    return token_from_row(row, party) if row is not None else None


async def upsert_token(session: AsyncSession, token: TokenInfo, now: datetime) -> TokenRow:
    """Store a token of one of our eMSPs or one a partner eMSP pushed to us."""
    if token.type not in TOKEN_TYPES:
        raise InvalidInput(f"unknown token type {token.type!r}")
    if token.whitelist not in WHITELIST_TYPES:
        raise InvalidInput(f"unknown whitelist type {token.whitelist!r}")
    party = await find_party(session, token.owner.country_code, token.owner.party_id, "EMSP")
    if party is None:
        raise InvalidInput(f"unknown eMSP {token.owner}")
    row = (await session.scalars(select(TokenRow).where(
        TokenRow.party_pk == party.id, TokenRow.uid == token.uid,
        TokenRow.type == token.type))).first()
    if row is None:
        row = TokenRow(party_pk=party.id, uid=token.uid, type=token.type)
        session.add(row)
    row.contract_id, row.issuer, row.valid = token.contract_id, token.issuer, token.valid
    row.whitelist, row.visual_number = token.whitelist, token.visual_number
    row.group_id, row.language = token.group_id, token.language
    row.last_updated = token.last_updated or now
    await session.flush()
    return row


async def list_own_tokens(session: AsyncSession) -> list[TokenInfo]:
    rows = (await session.execute(
        select(TokenRow, PartyRow).join(PartyRow, PartyRow.id == TokenRow.party_pk)
        .where(PartyRow.is_own.is_(True)).order_by(TokenRow.id))).all()
    return [token_from_row(t, p) for t, p in rows]


async def authorize_own_token(
    session: AsyncSession, uid: str, token_type: str | None
) -> AuthorizationResult | None:
    """As an eMSP: the verdict on one of our own tokens (OCPI real-time authorize, receiver)."""
    found = await find_token(session, uid, token_type)
    if found is None or not found[1].is_own:
        return None
    row, party = found
    info = token_from_row(row, party)
    allowed = AllowedType.ALLOWED if row.valid else AllowedType.BLOCKED
    return AuthorizationResult(allowed, info, source="local")


# The authorization hot path (every Authorize and uncached StartTransaction): prebuilt Core
# statements returning plain rows, no ORM entities (docs/ocpp.md "Performance").
_TOKEN_FACTS = select(
    TokenRow.uid, TokenRow.type, TokenRow.contract_id, TokenRow.issuer, TokenRow.valid,
    TokenRow.whitelist, TokenRow.visual_number, TokenRow.group_id, TokenRow.language,
    TokenRow.last_updated, PartyRow.country_code, PartyRow.party_id, PartyRow.role,
    PartyRow.is_own,
).join(PartyRow, PartyRow.id == TokenRow.party_pk).order_by(TokenRow.id).limit(1)
_TOKEN_EXACT = _TOKEN_FACTS.where(TokenRow.uid == bindparam("b_uid"))
# Many uids at once, the first token per uid (as _TOKEN_EXACT's ORDER BY id LIMIT 1).
_TOKENS_BY_UID = Lookup(
    _TOKEN_FACTS.limit(None).where(TokenRow.uid.in_(bindparam("keys", expanding=True))),
    key_of=lambda row: row.uid)
# Stations upper-case idTags read from cards; eMSPs don't always.
_TOKEN_LOOSE = _TOKEN_FACTS.where(func.upper(TokenRow.uid) == bindparam("b_upper"))


# What a token's facts depend on: its row and its owner's (hub.db.refcache).
_TOKEN_TABLES = (TokenRow.__tablename__, PartyRow.__tablename__)


async def _token_facts(session: AsyncSession, uid: str) -> tuple[TokenInfo, bool] | None:
    """``find_token``'s token as TokenInfo, and whether its owner is one of our own parties;
    kept in hub.db.refcache like other reference data (a token's facts change when its row or
    its party's does: an OCPI push, the admin API, a whitelist import all commit through units
    of work and bump the tables' generation; an unknown idTag is kept as unknown until then).
    Only the facts are kept: a verdict that asks the eMSP in real time still asks each time."""

    async def load() -> tuple[TokenInfo, bool] | None:
        return await _read_token_facts(session, uid)

    return await cached(session, ("token_facts", uid), _TOKEN_TABLES, load)


async def _read_token_facts(session: AsyncSession, uid: str) -> tuple[TokenInfo, bool] | None:
    if touched(session.sync_session, _TOKEN_TABLES):  # this unit's own writes: read through it
        row = (await session.execute(_TOKEN_EXACT, {"b_uid": uid})).first()
    else:  # with other stations' Authorizes, one SELECT for all (hub.db.groupread)
        assert isinstance(session.bind, AsyncEngine)
        row = await group_reader(session.bind).get(_TOKENS_BY_UID, uid)
    row = row or (await session.execute(_TOKEN_LOOSE, {"b_upper": uid.upper()})).first()
    if row is None:
        return None
    info = TokenInfo(
        owner=PartyRef(row.country_code, row.party_id, row.role), uid=row.uid, type=row.type,
        contract_id=row.contract_id, issuer=row.issuer, valid=row.valid,
        whitelist=row.whitelist, visual_number=row.visual_number, group_id=row.group_id,
        language=row.language, last_updated=row.last_updated)
    return info, bool(row.is_own)


async def authorize(
    session: AsyncSession,
    uid: str,
    *,
    location_id: str | None,
    remote: RemoteAuthorizer | None,
    station_id: str | None = None,
) -> AuthorizationResult:
    """As a CPO: may this token charge at our station? With ``station_id``, the station's
    access and vend modes decide first (hub.services.access)."""
    found = await _token_facts(session, uid)
    station = await station_facts(session, station_id) if station_id else None  # cached
    if station is not None:
        verdict = station_verdict(station, uid, found[0] if found else None)
        if verdict is not None:
            return verdict
    if found is not None:
        info, is_own = found
        if not info.valid:
            return AuthorizationResult(AllowedType.BLOCKED, info, source="local")
        if is_own or info.whitelist in {"ALWAYS", "ALLOWED"} or remote is None:
            return AuthorizationResult(AllowedType.ALLOWED, info, source="local")
        try:
            result = await remote.authorize(uid, info.type, location_id, info.owner)
        except PartnerUnavailable:
            if info.whitelist == "ALLOWED_OFFLINE":
                return AuthorizationResult(AllowedType.ALLOWED, info, source="local",
                                           info="eMSP unreachable; whitelisted offline")
            return AuthorizationResult(AllowedType.NOT_ALLOWED, info, source="realtime",
                                       info="eMSP unreachable")
        return result or AuthorizationResult(AllowedType.NOT_ALLOWED, info, source="realtime")
    if remote is None:
        return AuthorizationResult(AllowedType.NOT_ALLOWED, source="unknown",
                                   info="unknown token")
    try:
        result = await remote.authorize(uid, None, location_id, None)
    except PartnerUnavailable:
        result = None
    if result is None:
        log.info("token.unknown", token_uid=uid)
        return AuthorizationResult(AllowedType.NOT_ALLOWED, source="unknown",
                                   info="unknown token")
    return result
