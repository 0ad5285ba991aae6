"""Monthly fees per charge point (issue 6 item 3: "per month per charge point", as in the
Finnish and Swedish owners' contracts), booked when a month is closed.

For every station owner (owner assignments in force on the month's last day: a station's own
assignment, else its location's), the charge points are counted (one per station) and the
``MONTHLY_PER_CHARGE_POINT`` split rules that apply to the owner (most specific of ALL and
OWNER) are priced with ``clearing.split.monthly_parts``. Each fee is one ledger entry, keyed
``monthly:<month>:<owner>:<rule>`` so a re-run of the close books it once:

    Dr 2100 split payable (owner)   fee incl. VAT   (deducted from what the owner is paid)
    Cr 3000 revenue (our entity)    net             (or 2100 split payable of another party)
    Cr 2400 VAT output              VAT

The owner's remittance shows each fee as a line of its own (``clearing.house.documents``).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from clearing import split
from clearing.house import ledger
from clearing.house.ledger import Line, Posting, cr, dr
from clearing.house.periods import add_months, parse_label
from clearing.house.store import post_many
from hub.db.models import LocationRow, StationRow
from hub.db.models_clearing_ref import LegalEntityRow, OwnerAssignmentRow

KEY_PREFIX = "monthly"


def entry_prefix(label: str) -> str:
    return f"{KEY_PREFIX}:{label}:"


async def _charge_points(session: AsyncSession, on: date) -> dict[int, int]:
    """Owner entity pk -> its charge points (stations) on ``on``."""
    rows = (await session.execute(
        select(OwnerAssignmentRow.scope, OwnerAssignmentRow.target_id,
               OwnerAssignmentRow.entity_pk, OwnerAssignmentRow.valid_from)
        .where(OwnerAssignmentRow.valid_from <= on)
        .order_by(OwnerAssignmentRow.valid_from))).all()
    latest: dict[tuple[str, str], int] = {}
    for scope, target, entity_pk, _ in rows:  # later assignments replace earlier ones
        latest[(scope, target)] = entity_pk
    stations = (await session.execute(
        select(StationRow.id, LocationRow.location_id)
        .outerjoin(LocationRow, LocationRow.id == StationRow.location_pk))).all()
    out: dict[int, int] = defaultdict(int)
    for station_id, location_id in stations:
        owner = latest.get(("STATION", station_id)) or latest.get(("LOCATION", location_id or ""))
        if owner is not None:
            out[owner] += 1
    return out


async def book_monthly_fees(session: AsyncSession, label: str, now: datetime) -> int:
    """Books the month's per-charge-point fees; returns how many entries were new."""
    month = parse_label(label)
    last_day = add_months(month, 1) - timedelta(days=1)
    rules = [r for r in await split.list_rules(session)
             if r.basis == "MONTHLY_PER_CHARGE_POINT" and r.valid_on(month)]
    if not rules:
        return 0
    counts = await _charge_points(session, last_day)
    if not counts:
        return 0
    entities = {e.id: e for e in (await session.scalars(select(LegalEntityRow))).all()}
    by_code = {e.code: e for e in entities.values()}
    postings = []
    for owner_pk, cps in sorted(counts.items()):
        owner = entities[owner_pk]
        applicable = split.most_specific([r for r in rules if (r.scope, r.scope_id) in {
            ("ALL", None), ("OWNER", owner.code)}])
        for part in split.monthly_parts(applicable, cps, owner.currency or "EUR", month):
            receiver = by_code.get(part.entity_code)
            if receiver is None or part.gross == 0:
                continue
            ccy = (owner.currency or "EUR").upper()
            income = ledger.REVENUE if receiver.is_own else ledger.SPLIT_PAYABLE
            lines: list[Line] = [
                dr(ledger.SPLIT_PAYABLE, owner.id, part.gross, ccy, role="OWNER",
                   counterparty_pk=receiver.id),
                cr(income, receiver.id, part.net, ccy, role=part.role,
                   counterparty_pk=owner.id)]
            if part.vat:
                lines.append(cr(ledger.VAT_OUTPUT, None, part.vat, ccy, role="TAX",
                                vat_country=receiver.country))
            postings.append(Posting(
                key=f"{entry_prefix(label)}{owner.code}:{part.rule_id}"[:96],
                kind="ADJUSTMENT", booked_on=last_day,
                description=f"{part.role} monthly fee {label} to {owner.code}: "
                            f"{part.explanation}", lines=tuple(lines)))
    return await post_many(session, postings, now)

