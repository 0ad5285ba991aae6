"""Per-session price models tied to another service or to how the user pays: charging included
in another service (a voucher up to a limit) and an ad-hoc surcharge for unregistered users
with a monthly billing fee for registered ones."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, ClassVar

from clearing.models.base import (
    ZERO,
    ModelLine,
    ModelPrice,
    PriceModel,
    SessionInput,
    component,
    ocpi_tariff,
    priced,
)
from clearing.money import DEFAULT_POLICY
from hub.domain import InvalidInput

PER_SESSION, PER_TICKET = "SESSION", "TICKET"


@dataclass(frozen=True, slots=True)
class Voucher(PriceModel):
    """Charging included in another service (parking ticket, park-and-ride, shop receipt):
    the session is priced at ``start_fee`` + ``kwh_price`` per kWh, and a presented voucher
    takes up to ``limit`` off (excl. VAT), never more than the session costs.

    ``per`` SESSION: the limit holds for each session; TICKET: for the whole ticket, across
    sessions (``SessionInput.voucher_redeemed`` says how much the ticket has already paid).
    Which sessions carry a voucher: ``SessionInput.voucher`` when the caller knows; else (our
    own sessions) those whose token is in ``token_group``, or every session when
    ``token_group`` is not set (a location where the ticket is the token)."""

    kind: ClassVar[str] = "voucher"
    currency: str
    kwh_price: Decimal
    limit: Decimal
    service: str = "parking ticket"
    start_fee: Decimal = Decimal(0)
    per: str = PER_SESSION
    token_group: str | None = None
    vat: Decimal | None = None

    def check(self) -> None:
        if self.per not in (PER_SESSION, PER_TICKET):
            raise InvalidInput(f"per: must be {PER_SESSION} or {PER_TICKET}")

    def has_voucher(self, s: SessionInput) -> bool:
        if s.voucher is not None:
            return s.voucher
        return self.token_group is None or s.token_group == self.token_group

    def price(self, s: SessionInput, time_zone: str = "UTC") -> ModelPrice:
        lines = [ModelLine("start fee", Decimal(1), "session", self.start_fee),
                 ModelLine("energy", s.kwh, "kWh", self.kwh_price)]
        cost = sum((ln.amount for ln in lines), ZERO)
        notes: list[str] = []
        if self.has_voucher(s):
            left = self.limit - (s.voucher_redeemed if self.per == PER_TICKET else ZERO)
            discount = min(max(left, ZERO), cost)
            lines.append(ModelLine(f"included with the {self.service}", Decimal(1),
                                   "voucher", -discount))
            notes.append(f"voucher: {discount} of {self.limit} {self.currency} per "
                         f"{self.per.lower()} used")
        else:
            notes.append("no voucher presented")
        return priced(self.currency, self.vat, lines, *notes)

    def to_ocpi_tariff(self, cc: str, party: str, tariff_id: str) -> dict[str, Any]:
        comps = [component("ENERGY", self.kwh_price)]
        if self.start_fee:
            comps.insert(0, component("FLAT", self.start_fee))
        return ocpi_tariff(cc, party, tariff_id, self.currency, [{"price_components": comps}],
                           [f"Free up to {self.limit} {self.currency} per "
                            f"{self.per.lower()} with a {self.service} (not expressible in "
                            "OCPI 2.2.1); the price without one is shown."])


@dataclass(frozen=True, slots=True)
class AdHocSurcharge(PriceModel):
    """Everybody pays ``start_fee`` + ``kwh_price`` per kWh; unregistered users (ad-hoc
    payment, no contract: ``SessionInput.registered`` False) pay ``adhoc_surcharge`` per
    session on top; registered users get ``monthly_billing_fee`` on their monthly invoice,
    charged for a month with at least one session (``price_month``)."""

    kind: ClassVar[str] = "adhoc_surcharge"
    currency: str
    kwh_price: Decimal
    adhoc_surcharge: Decimal
    monthly_billing_fee: Decimal = Decimal(0)
    start_fee: Decimal = Decimal(0)
    vat: Decimal | None = None

    def price(self, s: SessionInput, time_zone: str = "UTC") -> ModelPrice:
        return priced(self.currency, self.vat, [
            ModelLine("start fee", Decimal(1), "session", self.start_fee),
            ModelLine("energy", s.kwh, "kWh", self.kwh_price),
            ModelLine("ad-hoc surcharge (unregistered)", Decimal(0 if s.registered else 1),
                      "session", self.adhoc_surcharge)])

    def price_month(self, session_totals: Sequence[Decimal]) -> ModelPrice:
        """A registered user's monthly invoice: the sessions' totals (excl. VAT, as priced
        by ``price``) plus the billing fee; a month without sessions costs nothing."""
        if any(t < 0 for t in session_totals):
            raise InvalidInput("session_totals: must not be negative")
        count = len(session_totals)
        sessions = DEFAULT_POLICY.total(sum(session_totals, ZERO), self.currency)
        return priced(self.currency, self.vat, [
            ModelLine(f"charging ({count} sessions)", Decimal(1 if count else 0), "month",
                      sessions),
            ModelLine("monthly billing fee", Decimal(1 if count else 0), "month",
                      self.monthly_billing_fee)])

    def to_ocpi_tariff(self, cc: str, party: str, tariff_id: str) -> dict[str, Any]:
        comps = [component("ENERGY", self.kwh_price)]
        if self.start_fee:
            comps.insert(0, component("FLAT", self.start_fee))
        alt = []
        if self.monthly_billing_fee:
            alt.append(f"Registered users pay a monthly billing fee of "
                       f"{self.monthly_billing_fee} {self.currency}.")
        return ocpi_tariff(cc, party, tariff_id, self.currency, [{"price_components": comps}],
                           alt)

    def ad_hoc_tariff(self, cc: str, party: str, tariff_id: str) -> dict[str, Any]:
        """The price for ad-hoc payment (OCPI TariffType AD_HOC_PAYMENT): surcharge as FLAT."""
        comps = [component("FLAT", self.start_fee + self.adhoc_surcharge),
                 component("ENERGY", self.kwh_price)]
        return {**ocpi_tariff(cc, party, f"{tariff_id}-ADHOC", self.currency,
                              [{"price_components": comps}],
                              ["Ad-hoc payment: includes a surcharge per session."]),
                "type": "AD_HOC_PAYMENT"}
