"""Revenue split (issue 6 item 3): what a driver or eMSP paid for one session, split among the
station owner, the electricity retailer, the DSO, the payment provider, the platform, IT/app
providers and the tax authority, each part with its own VAT treatment.

Rules are data with effective dates (``split_rules``), for all sessions or per owner, location
or station; ``rules_for`` picks, per role, the rules of the most specific scope that has any
(STATION > LOCATION > OWNER > ALL). ``split`` is pure (no database, no clock).

Arithmetic (docs/clearing-reference.md):
- TAX part = the VAT of the sale (``inp.vat``), to the tax authority.
- Each rule's part: net by its basis (PER_KWH: amount x kWh; PER_SESSION: amount; PERCENT:
  percent of the gross paid; PERCENT_PLUS_FIXED: percent of the gross + amount), rounded
  half-up to the currency's minor unit; its VAT = net x the rule's vat_rate, rounded; gross =
  net + VAT. MONTHLY_PER_CHARGE_POINT fees are not per session: ``monthly_parts``.
- The remainder (gross paid - TAX - every other part's gross) goes to the REMAINDER rule's
  entity if there is one, else to ``residual_entity`` (role OWNER). It absorbs every rounding
  difference, so the parts add up exactly to the gross paid. It may be negative when fees
  exceed the revenue (the owner then owes the difference).
- A negative gross (a credit) is split as its positive counterpart, every part negated.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal, get_args

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from clearing.finance.documents import TaxRule
from clearing.money import quantum
from hub.db.models_clearing_ref import LegalEntityRow, SplitRuleRow
from hub.domain import Conflict, InvalidInput, NotFound

Role = Literal["OWNER", "RETAILER", "DSO", "PAYMENT_PROVIDER", "PLATFORM", "IT_PROVIDER", "TAX"]
Basis = Literal["PER_KWH", "PER_SESSION", "PERCENT", "PERCENT_PLUS_FIXED",
                "MONTHLY_PER_CHARGE_POINT", "REMAINDER"]
Scope = Literal["ALL", "OWNER", "LOCATION", "STATION"]
ROLES: tuple[str, ...] = get_args(Role)
BASES: tuple[str, ...] = get_args(Basis)
SCOPES: tuple[str, ...] = get_args(Scope)
TAX_RULES: tuple[str, ...] = get_args(TaxRule)
# Which fields each basis needs (amount, percent); validated on input (admin API, rows).
NEEDS: dict[str, tuple[bool, bool]] = {
    "PER_KWH": (True, False), "PER_SESSION": (True, False), "PERCENT": (False, True),
    "PERCENT_PLUS_FIXED": (True, True), "MONTHLY_PER_CHARGE_POINT": (True, False),
    "REMAINDER": (False, False)}
SPECIFICITY: dict[str, int] = {"ALL": 0, "OWNER": 1, "LOCATION": 2, "STATION": 3}
ZERO = Decimal(0)


@dataclass(frozen=True)
class SplitRule:
    id: int
    role: Role
    entity_code: str  # legal_entities.code receiving the part
    basis: Basis
    amount: Decimal | None  # per kWh / per session / fixed part / per CP per month (net)
    percent: Decimal | None  # of the gross paid (PERCENT, PERCENT_PLUS_FIXED)
    tax_rule: TaxRule  # the part's own VAT treatment
    vat_rate: Decimal  # percent, applied to the part's net
    valid_from: date
    valid_to: date | None  # exclusive
    scope: Literal["ALL", "OWNER", "LOCATION", "STATION"]
    scope_id: str | None
    currency: str | None = None  # the currency of ``amount``; None: any (checked by split)

    def valid_on(self, on: date) -> bool:
        return self.valid_from <= on and (self.valid_to is None or on < self.valid_to)


@dataclass(frozen=True)
class SplitInput:
    gross: Decimal  # what the driver/eMSP paid, incl. VAT
    vat: Decimal  # the VAT in it (goes to TAX)
    currency: str
    energy_kwh: Decimal
    country: str
    on: date


@dataclass(frozen=True)
class SplitPart:
    role: Role
    entity_code: str
    net: Decimal
    vat: Decimal
    gross: Decimal
    rule_id: int | None  # None for the TAX part and the residual
    explanation: str  # "0.0500 EUR/kWh x 12.345 kWh = 0.62"


def check_rule(rule: SplitRule) -> None:
    """InvalidInput naming the field when a rule is inconsistent."""
    if rule.role not in ROLES or rule.role == "TAX":
        raise InvalidInput(f"role: must be one of {', '.join(r for r in ROLES if r != 'TAX')}")
    if rule.basis not in BASES:
        raise InvalidInput(f"basis: must be one of {', '.join(BASES)}")
    if rule.scope not in SCOPES:
        raise InvalidInput(f"scope: must be one of {', '.join(SCOPES)}")
    if (rule.scope == "ALL") != (rule.scope_id is None):
        raise InvalidInput("scope_id: required for OWNER/LOCATION/STATION, none for ALL")
    if rule.tax_rule not in TAX_RULES:
        raise InvalidInput(f"tax_rule: must be one of {', '.join(TAX_RULES)}")
    need_amount, need_percent = NEEDS[rule.basis]
    if need_amount != (rule.amount is not None):
        raise InvalidInput(f"amount: {'required' if need_amount else 'not allowed'} for "
                           f"basis {rule.basis}")
    if need_percent != (rule.percent is not None):
        raise InvalidInput(f"percent: {'required' if need_percent else 'not allowed'} for "
                           f"basis {rule.basis}")
    if rule.percent is not None and not ZERO <= rule.percent <= 100:
        raise InvalidInput("percent: must be between 0 and 100")
    if rule.amount is not None and rule.amount < 0:
        raise InvalidInput("amount: must not be negative")
    for name, value in (("amount", rule.amount), ("percent", rule.percent),
                        ("vat_rate", rule.vat_rate)):
        if value is not None and (not value.is_finite() or abs(value) >= 10**12):
            raise InvalidInput(f"{name}: must be a number below 10^12")
        if value is not None and value != value.quantize(Decimal("0.000001")):
            raise InvalidInput(f"{name}: at most 6 decimals")
    if not ZERO <= rule.vat_rate <= 100:
        raise InvalidInput("vat_rate: must be between 0 and 100")
    if rule.tax_rule != "DOMESTIC_VAT" and rule.vat_rate != 0:
        raise InvalidInput(f"vat_rate: must be 0 for tax_rule {rule.tax_rule}")
    if rule.valid_to is not None and rule.valid_to <= rule.valid_from:
        raise InvalidInput("valid_to: must be after valid_from (it is exclusive)")


def _round(value: Decimal, currency: str) -> Decimal:
    return value.quantize(quantum(currency), rounding=ROUND_HALF_UP)


def _fmt(value: Decimal) -> str:
    return format(value, "f")


def _net(rule: SplitRule, inp: SplitInput) -> tuple[Decimal, str]:
    ccy = inp.currency
    amount, percent = rule.amount or ZERO, rule.percent or ZERO
    if rule.basis == "PER_KWH":
        net = _round(amount * inp.energy_kwh, ccy)
        return net, (f"{_fmt(amount)} {ccy}/kWh x {_fmt(inp.energy_kwh)} kWh = {_fmt(net)}")
    if rule.basis == "PER_SESSION":
        net = _round(amount, ccy)
        return net, f"{_fmt(amount)} {ccy} per session = {_fmt(net)}"
    share = percent * inp.gross / 100
    if rule.basis == "PERCENT":
        net = _round(share, ccy)
        return net, f"{_fmt(percent)}% x {_fmt(inp.gross)} {ccy} paid = {_fmt(net)}"
    net = _round(share + amount, ccy)
    return net, (f"{_fmt(percent)}% x {_fmt(inp.gross)} {ccy} paid + {_fmt(amount)} {ccy} = "
                 f"{_fmt(net)}")


def _part(rule: SplitRule, net: Decimal, text: str, currency: str) -> SplitPart:
    vat = _round(net * rule.vat_rate / 100, currency)
    if rule.tax_rule == "DOMESTIC_VAT":
        text += f"; VAT {_fmt(rule.vat_rate)}% = {_fmt(vat)}"
    else:
        text += f"; {rule.tax_rule}, no VAT"
    return SplitPart(rule.role, rule.entity_code, net, vat, net + vat, rule.id, text)


def split(inp: SplitInput, rules: Sequence[SplitRule], *, residual_entity: str,
          tax_entity: str) -> list[SplitPart]:
    """The parts of ``inp.gross``: TAX first, then one per applicable rule, the remainder last.
    ``sum(p.gross) == inp.gross`` exactly (module docstring)."""
    if inp.gross < 0:
        positive = replace(inp, gross=-inp.gross, vat=-inp.vat, energy_kwh=abs(inp.energy_kwh))
        return [replace(p, net=-p.net, vat=-p.vat, gross=-p.gross,
                        explanation=f"credit (negated): {p.explanation}")
                for p in split(positive, rules, residual_entity=residual_entity,
                               tax_entity=tax_entity)]
    ccy = inp.currency.upper()
    active = [r for r in rules if r.valid_on(inp.on) and r.basis != "MONTHLY_PER_CHARGE_POINT"]
    remainder_rules = [r for r in active if r.basis == "REMAINDER"]
    if len(remainder_rules) > 1:
        raise InvalidInput(f"split rules {', '.join(str(r.id) for r in remainder_rules)}: "
                           f"more than one REMAINDER rule applies on {inp.on.isoformat()}")
    nil = _round(ZERO, ccy)
    parts = [SplitPart("TAX", tax_entity, nil, inp.vat, inp.vat, None,
                       f"VAT of the sale ({inp.country}) = {_fmt(inp.vat)}")]
    for rule in sorted(active, key=lambda r: (ROLES.index(r.role), r.id)):
        if rule.basis == "REMAINDER":
            continue
        if rule.currency and rule.currency.upper() != ccy and rule.basis != "PERCENT":
            raise InvalidInput(f"split rule {rule.id}: its amounts are in {rule.currency}, "
                               f"the sale is in {ccy}")
        net, text = _net(rule, replace(inp, currency=ccy))
        parts.append(_part(rule, net, text, ccy))
    rest = inp.gross - sum((p.gross for p in parts), ZERO)
    taken = " - ".join(f"{_fmt(p.gross)} {p.role}" for p in parts)
    text = f"{_fmt(inp.gross)} paid - {taken} = {_fmt(rest)} (remainder, incl. rounding)"
    if remainder_rules:
        r = remainder_rules[0]
        parts.append(SplitPart(r.role, r.entity_code, rest, nil, rest, r.id, text))
    else:
        parts.append(SplitPart("OWNER", residual_entity, rest, nil, rest, None, text))
    return parts


def monthly_parts(rules: Sequence[SplitRule], charge_points: int, currency: str, month: date
                  ) -> list[SplitPart]:
    """The MONTHLY_PER_CHARGE_POINT fees of ``month`` (any day of it; rules valid on its first
    day): amount x charge points, net, with each rule's VAT."""
    first = month.replace(day=1)
    ccy = currency.upper()
    out = []
    for rule in rules:
        if rule.basis != "MONTHLY_PER_CHARGE_POINT" or not rule.valid_on(first):
            continue
        if rule.currency and rule.currency.upper() != ccy:
            raise InvalidInput(f"split rule {rule.id}: its amounts are in {rule.currency}, "
                               f"the statement is in {ccy}")
        amount = rule.amount or ZERO
        net = _round(amount * charge_points, ccy)
        text = (f"{_fmt(amount)} {ccy} per charge point per month x {charge_points} charge "
                f"points ({first.strftime('%Y-%m')}) = {_fmt(net)}")
        out.append(_part(rule, net, text, ccy))
    return out


# -- stored rules ---------------------------------------------------------------------------------


def rule_from_row(row: SplitRuleRow, entity_code: str) -> SplitRule:
    return SplitRule(
        id=row.id, role=row.role, entity_code=entity_code,  # type: ignore[arg-type]
        basis=row.basis, amount=row.amount, percent=row.percent,  # type: ignore[arg-type]
        tax_rule=row.tax_rule, vat_rate=row.vat_rate,  # type: ignore[arg-type]
        valid_from=row.valid_from, valid_to=row.valid_to,
        scope=row.scope, scope_id=row.scope_id, currency=row.currency)  # type: ignore[arg-type]


def most_specific(rules: Sequence[SplitRule]) -> list[SplitRule]:
    """Per role, the rules of the most specific scope present (STATION > LOCATION > OWNER >
    ALL): a station's own platform fee replaces the owner's, which replaces the default."""
    best: dict[str, int] = {}
    for r in rules:
        best[r.role] = max(best.get(r.role, -1), SPECIFICITY[r.scope])
    return [r for r in rules if SPECIFICITY[r.scope] == best[r.role]]


async def rules_for(session: AsyncSession, *, owner_code: str | None, location_id: str | None,
                    station_id: str | None, on: date) -> list[SplitRule]:
    """The rules in force on ``on`` for a session at this owner/location/station."""
    scopes = [SplitRuleRow.scope == "ALL"]
    for scope, value in (("OWNER", owner_code), ("LOCATION", location_id),
                         ("STATION", station_id)):
        if value is not None:
            scopes.append(and_(SplitRuleRow.scope == scope, SplitRuleRow.scope_id == value))
    rows = (await session.execute(
        select(SplitRuleRow, LegalEntityRow.code)
        .join(LegalEntityRow, LegalEntityRow.id == SplitRuleRow.entity_pk)
        .where(or_(*scopes), SplitRuleRow.valid_from <= on,
               or_(SplitRuleRow.valid_to.is_(None), SplitRuleRow.valid_to > on))
        .order_by(SplitRuleRow.id))).all()
    return most_specific([rule_from_row(row, code) for row, code in rows])


# -- rule maintenance (admin API, CLI) ------------------------------------------------------------


def _overlaps(a: SplitRule, b: SplitRule) -> bool:
    return (a.valid_to is None or b.valid_from < a.valid_to) and (
        b.valid_to is None or a.valid_from < b.valid_to)


async def list_rules(session: AsyncSession) -> list[SplitRule]:
    rows = (await session.execute(
        select(SplitRuleRow, LegalEntityRow.code)
        .join(LegalEntityRow, LegalEntityRow.id == SplitRuleRow.entity_pk)
        .order_by(SplitRuleRow.id))).all()
    return [rule_from_row(row, code) for row, code in rows]


async def get_rule(session: AsyncSession, rule_id: int) -> SplitRule:
    for rule in await list_rules(session):
        if rule.id == rule_id:
            return rule
    raise NotFound(f"unknown split rule {rule_id}")


async def save_rule(session: AsyncSession, rule: SplitRule, *, note: str | None = None
                    ) -> SplitRule:
    """Create (``rule.id == 0``) or replace a rule after checking it. A rule overlapping in
    time with another of the same role, basis, entity and scope is a Conflict: a change of
    terms is a new rule from a date, the old one ending there (valid_to)."""
    check_rule(rule)
    entity = (await session.scalars(select(LegalEntityRow).where(
        LegalEntityRow.code == rule.entity_code))).first()
    if entity is None:
        raise InvalidInput(f"entity_code: unknown legal entity {rule.entity_code!r}")
    if rule.scope == "OWNER" and (await session.scalars(select(LegalEntityRow.id).where(
            LegalEntityRow.code == rule.scope_id))).first() is None:
        raise InvalidInput(f"scope_id: unknown owner (legal entity) {rule.scope_id!r}")
    for other in await list_rules(session):
        if other.id != rule.id and (other.role, other.basis, other.entity_code, other.scope,
                                    other.scope_id) == (rule.role, rule.basis,
                                                        rule.entity_code, rule.scope,
                                                        rule.scope_id) and _overlaps(other, rule):
            raise Conflict(f"split rule {other.id} has the same terms for an overlapping "
                           f"period; end it (valid_to) before adding a new one")
    row = SplitRuleRow() if rule.id == 0 else await session.get(SplitRuleRow, rule.id)
    if row is None:
        raise NotFound(f"unknown split rule {rule.id}")
    row.role, row.entity_pk, row.basis = rule.role, entity.id, rule.basis
    row.amount, row.percent, row.currency = rule.amount, rule.percent, rule.currency
    row.tax_rule, row.vat_rate = rule.tax_rule, rule.vat_rate
    row.valid_from, row.valid_to = rule.valid_from, rule.valid_to
    row.scope, row.scope_id, row.note = rule.scope, rule.scope_id, note
    if rule.id == 0:
        session.add(row)
    await session.flush()
    return replace(rule, id=row.id)


async def delete_rule(session: AsyncSession, rule_id: int) -> None:
    row = await session.get(SplitRuleRow, rule_id)
    if row is None:
        raise NotFound(f"unknown split rule {rule_id}")
    await session.delete(row)
    await session.flush()
