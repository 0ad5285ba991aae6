"""Sample finance documents shared by the tests/clearing/test_finance_*.py files (no tests here).

Names carry the letters the files must keep (ā č ē ģ ī ķ ļ ņ š ū ž õ ä ö ü å ø æ). IBANs are
the published example IBANs of each country's registry entry (valid check digits).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from clearing.finance.documents import (
    Invoice,
    InvoiceLine,
    LegalParty,
    PaymentBatch,
    Payout,
    Remittance,
    RemittanceLine,
    Statement,
    StatementLine,
    VatBreakdown,
)

D = Decimal

HUB_LV = LegalParty(
    name="Latvijas Uzlādes Tīkls SIA", country="LV", vat_id="LV40003012345",
    registration_id="40003012345", street="Krišjāņa Valdemāra iela 1", city="Rīga",
    postal_code="LV-1010", email="rekini@uzlade.example", iban="LV80BANK0000435195001",
    bic="HABALV22",
)
EMSP_EE = LegalParty(
    name="Õunapuu Laadimine OÜ", country="EE", vat_id="EE101234567",
    registration_id="12345678", street="Pärnu mnt 5", city="Tallinn", postal_code="10148",
    iban="EE382200221020145685", bic="HABAEE2X", peppol_id="0191:12345678",
)
OWNER_FI = LegalParty(
    name="Ässä Lataus Oy", country="FI", vat_id="FI12345671", registration_id="1234567-1",
    street="Mannerheimintie 12", city="Helsinki", postal_code="00100",
    iban="FI2112345600000785", bic="NDEAFIHH",
)
OWNER_NO = LegalParty(name="Ørsta Ladestasjon AS", country="NO", iban="NO9386011117947",
                      bic="DNBANOKK")
OWNER_DK = LegalParty(name="Ærø Energi ApS", country="DK", iban="DK5000400440116243")


def invoice_domestic() -> Invoice:
    """LV hub -> LV customer, 21 % VAT on 123.45 kWh x 0.35 = 43.21 (43.2075 half-up)."""
    buyer = LegalParty(name="Rīgas Ēkas SIA", country="LV", vat_id="LV40003999999",
                       city="Rīga", street="Brīvības iela 100", postal_code="LV-1001")
    lines = (
        InvoiceLine("1", "Charging sessions, Rīga Čiekurkalns", D("123.45"), "KWH", D("0.35"),
                    D("43.21"), "DOMESTIC_VAT", D("21"), D("9.07"), "LV",
                    references=("CDR-1", "CDR-2")),
        InvoiceLine("2", "Platform fee, October", D("1"), "MON", D("15.00"), D("15.00"),
                    "DOMESTIC_VAT", D("21"), D("3.15"), "LV"),
    )
    # VAT on the breakdown: 58.21 x 21 % = 12.2241 -> 12.22
    return Invoice(
        kind="INVOICE", number="LUT-2026-000123", issue_date=date(2026, 11, 3),
        due_date=date(2026, 11, 17), period_start=date(2026, 10, 1),
        period_end=date(2026, 10, 31), seller=HUB_LV, buyer=buyer, currency="EUR", lines=lines,
        vat_breakdown=(VatBreakdown("DOMESTIC_VAT", D("21"), D("58.21"), D("12.22")),),
        total_net=D("58.21"), total_vat=D("12.22"), total_gross=D("70.43"),
        buyer_reference="AGR-LV-7",
    )


def invoice_reverse_charge() -> Invoice:
    """LV CPO -> EE eMSP, reverse charge: 250.000 kWh x 0.32 = 80.00, VAT 0."""
    lines = (
        InvoiceLine("1", "Roaming sessions at Latvian stations (Jūrmala, Liepāja)",
                    D("250.000"), "KWH", D("0.32"), D("80.00"), "REVERSE_CHARGE", D("0"),
                    D("0.00"), "LV", references=tuple(f"CDR-{i}" for i in range(12))),
    )
    return Invoice(
        kind="INVOICE", number="LUT-2026-000124", issue_date=date(2026, 11, 3),
        due_date=date(2026, 11, 17), period_start=date(2026, 10, 1),
        period_end=date(2026, 10, 31), seller=HUB_LV, buyer=EMSP_EE, currency="EUR",
        lines=lines,
        vat_breakdown=(VatBreakdown("REVERSE_CHARGE", D("0"), D("80.00"), D("0.00"),
                                    exemption_reason="Reverse charge"),),
        total_net=D("80.00"), total_vat=D("0.00"), total_gross=D("80.00"),
        buyer_reference="AGR-EE-3", note="Nettēts ar maksājumu saņēmējam šķērsrobežas režīmā.",
    )


def credit_note() -> Invoice:
    """Credits 10.000 kWh x 0.32 = 3.20 of invoice LUT-2026-000124 (reverse charge)."""
    inv = invoice_reverse_charge()
    line = InvoiceLine("1", "Credit CDR-3 (session re-rated)", D("10.000"), "KWH", D("0.32"),
                       D("3.20"), "REVERSE_CHARGE", D("0"), D("0.00"), "LV",
                       references=("CDR-3",))
    return Invoice(
        kind="CREDIT_NOTE", number="LUT-2026-000130", issue_date=date(2026, 11, 20),
        due_date=date(2026, 11, 20), period_start=date(2026, 10, 1),
        period_end=date(2026, 10, 31), seller=HUB_LV, buyer=EMSP_EE, currency="EUR",
        lines=(line,),
        vat_breakdown=(VatBreakdown("REVERSE_CHARGE", D("0"), D("3.20"), D("0.00"),
                                    exemption_reason="Reverse charge"),),
        total_net=D("3.20"), total_vat=D("0.00"), total_gross=D("3.20"),
        credited_number=inv.number, credited_issue_date=inv.issue_date,
        buyer_reference="AGR-EE-3",
    )


def statement() -> Statement:
    """Opening 100.00 + 24.20 + 12.10 - 100.00 (payment) = closing 36.30."""
    lines = (
        StatementLine(date(2026, 10, 3), "CDR", "CDR-1", "Session Rīga, Čiekurkalns", "EUR",
                      D("20.00"), D("4.20"), D("24.20"), energy_kwh=D("57.143"),
                      tax_rule="DOMESTIC_VAT", vat_rate=D("21")),
        StatementLine(date(2026, 10, 9), "CDR", "CDR-2", "Session Göteborg (SEK)", "EUR",
                      D("10.00"), D("2.10"), D("12.10"), energy_kwh=D("30.5"),
                      tax_rule="DOMESTIC_VAT", vat_rate=D("21"), fx_rate=D("11.4235"),
                      fx_rate_date=date(2026, 10, 8), original_currency="SEK",
                      original_amount=D("138.22")),
        StatementLine(date(2026, 10, 15), "PAYMENT", "LUT-2026-000100", "Payment received",
                      "EUR", D("-100.00"), D("0.00"), D("-100.00")),
    )
    return Statement(issuer=HUB_LV, counterparty=EMSP_EE, period_start=date(2026, 10, 1),
                     period_end=date(2026, 10, 31), currency="EUR",
                     opening_balance=D("100.00"), lines=lines, closing_balance=D("36.30"))


def remittance() -> Remittance:
    """Two Finnish sites: 300.00 - 30.00 - 5.40 = 264.60 and 120.50 - 12.05 = 108.45."""
    lines = (
        RemittanceLine("FI-ASSA-1", "Espoo, Kivenlahti", 80, D("1034.250"), D("300.00"),
                       (("PLATFORM", D("30.00")), ("PAYMENT_PROVIDER", D("5.40"))),
                       D("264.60")),
        RemittanceLine("FI-ASSA-2", "Vantaa, Tikkurila", 31, D("402.100"), D("120.50"),
                       (("PLATFORM", D("12.05")),), D("108.45")),
    )
    return Remittance(payer=HUB_LV, owner=OWNER_FI, period_start=date(2026, 10, 1),
                      period_end=date(2026, 10, 31), currency="EUR", lines=lines,
                      total_payout=D("373.05"))


def payment_batch() -> PaymentBatch:
    payouts = (
        Payout("PAY-2026-10-FI-ASSA", OWNER_FI, D("373.05"), "EUR",
               "Remittance 2026-10 Ässä Lataus"),
        Payout("PAY-2026-10-NO-ORSTA", OWNER_NO, D("12.5"), "EUR", "Oktober 2026 Ørsta"),
        Payout("PAY-2026-10-DK-AERO", OWNER_DK, D("1000.00"), "EUR", "Okt 2026 Ærø & Co"),
    )
    return PaymentBatch(message_id="HUB-PAIN-2026-11-05-001",
                        created_at=datetime(2026, 11, 5, 9, 30, tzinfo=UTC),
                        execution_date=date(2026, 11, 6), debtor=HUB_LV, payouts=payouts)
