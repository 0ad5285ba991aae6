"""Reference data a clearing run looks up again and again, read once and cached per run:
entities of parties, agreements, periods, tax decisions, FX rates, split rules and owners."""

from __future__ import annotations

import asyncio
from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from clearing import fx, split, tax
from clearing.house import store
from clearing.house.periods import AgreementTerms, agreement_for, open_period_for, terms
from hub.db.models_clearing_ref import LegalEntityRow, OwnerAssignmentRow


def tax_party(entity: LegalEntityRow, *, business: bool = True) -> tax.TaxParty:
    return tax.TaxParty(country=entity.country.upper(), vat_id=entity.vat_id, business=business)


@dataclass
class RunCaches:
    zone: str
    party_entity: dict[int, LegalEntityRow] = field(default_factory=dict)
    entity: dict[int, LegalEntityRow] = field(default_factory=dict)
    codes: dict[str, int] = field(default_factory=dict)
    own_parties: set[int] = field(default_factory=set)
    agreements: dict[tuple[int, int], AgreementTerms] = field(default_factory=dict)
    periods: dict[tuple[int, date], tuple[int, date]] = field(default_factory=dict)
    decisions: dict[tuple[Any, ...], tax.TaxDecision] = field(default_factory=dict)
    rates: dict[tuple[str, date], fx.FxRate] = field(default_factory=dict)
    rules: dict[tuple[Any, ...], list[split.SplitRule]] = field(default_factory=dict)
    owners: dict[tuple[str | None, date], str | None] = field(default_factory=dict)
    all_rules: list[split.SplitRule] | None = None
    # location id -> (valid_from dates ascending, owner codes): every LOCATION owner assignment,
    # read once per run (``clearing.entities.owner_of`` answers the same from the database).
    location_owners: dict[str, tuple[list[date], list[str]]] | None = None
    # Held by the batch that reads or fills these caches (a run has two batches in flight).
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    # Agreements and periods looked up (and perhaps created) in some batch's transaction.
    fills: int = 0
    memo: dict[tuple[Any, ...], Any] = field(default_factory=dict)  # clearing.house.fastpath

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.zone)

    async def load(self, session: AsyncSession) -> None:
        self.party_entity, self.entity, self.codes = await store.entities(session)
        self.own_parties = await store.own_parties(session)

    async def agreement(self, session: AsyncSession, a: LegalEntityRow, b: LegalEntityRow,
                        now: datetime) -> AgreementTerms:
        key = (min(a.id, b.id), max(a.id, b.id))
        if key not in self.agreements:
            self.fills += 1
            row = await agreement_for(session, a.id, b.id, currency=a.currency or "EUR",
                                      now=now)
            self.agreements[key] = terms(row)
        return self.agreements[key]

    async def period(self, session: AsyncSession, agreement: AgreementTerms, on: date,
                     now: datetime) -> tuple[int, date]:
        """(period pk, its start) for a booking dated ``on`` (the open one if ``on``'s period
        is closed)."""
        key = (agreement.pk, on.replace(day=1))
        if key not in self.periods:
            self.fills += 1
            row = await open_period_for(session, agreement, on, now)
            self.periods[key] = (row.id, row.start)
        return self.periods[key]

    def decision(self, supplier: LegalEntityRow, customer: LegalEntityRow, direct: bool,
                 where: str, on: date, option: str) -> tax.TaxDecision:
        key = (supplier.id, customer.id, direct, where, on, option)
        found = self.decisions.get(key)
        if found is None:
            found = tax.determine(
                supplier=tax_party(supplier),
                customer=tax_party(customer, business=not direct) if not direct
                else tax.TaxParty(country=where, business=False),
                country_of_supply=where, on=on,
                b2b_option="CHARGING_COUNTRY_VAT" if option == "CHARGING_COUNTRY_VAT"
                else "REVERSE_CHARGE")
            self.decisions[key] = found
        return found

    async def rate(self, session: AsyncSession, currency: str, on: date) -> fx.FxRate:
        key = (currency, on)
        if key not in self.rates:
            self.rates[key] = await fx.rate_for(session, currency, on)
        return self.rates[key]

    async def owner_code(self, session: AsyncSession, location_id: str | None, on: date
                         ) -> str | None:
        """The location's owner on the day of the session (owner assignments are dated)."""
        key = (location_id, on)
        found = self.owners.get(key, False)
        if found is not False:
            return found  # type: ignore[return-value]
        if self.location_owners is None:
            self.location_owners = {}
            for target, since, code in (await session.execute(
                    select(OwnerAssignmentRow.target_id, OwnerAssignmentRow.valid_from,
                           LegalEntityRow.code)
                    .join(LegalEntityRow, LegalEntityRow.id == OwnerAssignmentRow.entity_pk)
                    .where(OwnerAssignmentRow.scope == "LOCATION")
                    .order_by(OwnerAssignmentRow.target_id,
                              OwnerAssignmentRow.valid_from))).all():
                dates, codes = self.location_owners.setdefault(target, ([], []))
                dates.append(since)
                codes.append(code)
        owner = None
        if location_id and location_id in self.location_owners:
            dates, codes = self.location_owners[location_id]
            i = bisect_right(dates, on)  # the latest assignment at or before ``on``
            owner = codes[i - 1] if i else None
        self.owners[key] = owner
        return owner

    async def split_rules(self, session: AsyncSession, owner: str | None,
                          location_id: str | None, on: date) -> list[split.SplitRule]:
        """As ``clearing.split.rules_for`` (same scopes, dates and most-specific choice), from
        every rule read once per run instead of one query per location and day."""
        if self.all_rules is None:
            self.all_rules = await split.list_rules(session)
        key = (owner, location_id, on)
        if key not in self.rules:
            wanted = {("ALL", None), ("OWNER", owner), ("LOCATION", location_id)}
            self.rules[key] = split.most_specific([
                r for r in self.all_rules
                if (r.scope, r.scope_id) in wanted and r.valid_on(on)])
        return self.rules[key]
