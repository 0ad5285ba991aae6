"""Credit CDRs for corrections (OCPI 2.2.1 mod_cdrs "Credit CDRs"): stored like any CDR of
ours and sent to the eMSP through the outbox (kind "cdr", subject = the credit row's pk).

The credit itself (negated totals, ``-C`` id) is computed by clearing; this module only keeps
it. Only our own CDRs can be credited: a partner's CDR is credited by its CPO.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub import outbox
from hub.db.models import CdrRow, PartyRow
from hub.domain import Cdr, Conflict, NotFound

CDR_KIND = "cdr"


async def store_credit_cdr(session: AsyncSession, original_pk: int, credit: Cdr, *,
                           reason: str | None, now: datetime) -> CdrRow:
    original = await session.get(CdrRow, original_pk)
    if original is None:
        raise NotFound(f"unknown CDR {original_pk}")
    if original.source != "own":
        raise Conflict(f"CDR {original.cdr_id} was received from a partner: only its CPO "
                       "can credit it")
    if original.credit or not credit.credit:
        raise Conflict(f"CDR {original.cdr_id} is a credit CDR and cannot be credited")
    existing = (await session.scalars(select(CdrRow).where(
        CdrRow.cpo_party_pk == original.cpo_party_pk, CdrRow.credit.is_(True),
        CdrRow.cdr_id == credit.id))).first()
    if existing is not None:
        raise Conflict(f"CDR {original.cdr_id} is already credited by {credit.id}")
    row = CdrRow(
        cdr_id=credit.id, cpo_party_pk=original.cpo_party_pk,
        emsp_party_pk=original.emsp_party_pk, session_pk=None, session_id=original.session_id,
        source="own", start_date_time=original.start_date_time,
        end_date_time=original.end_date_time, token_uid=original.token_uid,
        token_type=original.token_type, contract_id=original.contract_id,
        auth_method=original.auth_method,
        authorization_reference=original.authorization_reference,
        currency=original.currency, total_energy=original.total_energy,
        total_time=original.total_time, total_parking_time=original.total_parking_time,
        total_cost_excl_vat=credit.total_cost_excl_vat,
        total_cost_incl_vat=credit.total_cost_incl_vat, vat_rate=original.vat_rate,
        vat_country=original.vat_country, location=dict(original.location),
        tariffs=list(original.tariffs), charging_periods=list(original.charging_periods),
        breakdown=[dict(b) for b in credit.breakdown],
        raw={"credit_reference_id": original.cdr_id, "reason": reason},
        credit=True, last_updated=now, created_at=now,
    )
    session.add(row)
    await session.flush()
    await _notify_emsp(session, row, now)
    return row


async def _notify_emsp(session: AsyncSession, row: CdrRow, now: datetime) -> None:
    """Like every CDR of ours: to the eMSP owning the token when it is a partner's party."""
    if row.emsp_party_pk is None:
        return
    emsp = await session.get(PartyRow, row.emsp_party_pk)
    if emsp is None or emsp.is_own or emsp.partner_id is None:
        return
    outbox.enqueue(session, CDR_KIND, str(row.id), partner_id=emsp.partner_id, now=now)
