"""Invoice, credit note and remittance PDFs: the text is parsed back out of the file."""

from __future__ import annotations

import io
from dataclasses import replace

import pytest

from clearing.finance.pdf import invoice_pdf, remittance_pdf
from tests.clearing.test_finance_samples import (
    EMSP_EE,
    credit_note,
    invoice_domestic,
    invoice_reverse_charge,
    remittance,
)

pypdf = pytest.importorskip("pypdf", reason="dev dependency pypdf reads the PDF text back")

LEGEND = "Reverse charge — VAT Directive 2006/112/EC art. 196"


def _text(data: bytes) -> str:
    assert data.startswith(b"%PDF-")
    reader = pypdf.PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() for page in reader.pages)


def test_reverse_charge_invoice_has_parties_lines_vat_legend_and_payment():
    inv = invoice_reverse_charge()
    data = invoice_pdf(inv)
    text = _text(data)
    assert b"DejaVu" in data  # the Unicode font is embedded
    for expected in ("INVOICE", "No. LUT-2026-000124", "Latvijas Uzlādes Tīkls SIA",
                     "Krišjāņa Valdemāra iela 1", "Õunapuu Laadimine OÜ", "Pärnu mnt 5",
                     "VAT ID: LV40003012345", "VAT ID: EE101234567", "Issue date 2026-11-03",
                     "Due date 2026-11-17", "2026-10-01 to 2026-10-31", "250.000", "kWh",
                     "(12 CDRs)", "AE · Reverse charge", LEGEND, "Total due (EUR) 80.00",
                     "IBAN LV80BANK0000435195001", "BIC HABALV22",
                     "Nettēts ar maksājumu saņēmējam šķērsrobežas režīmā."):
        assert expected in text, expected


def test_domestic_invoice_has_vat_breakdown_and_no_reverse_charge_legend():
    text = _text(invoice_pdf(invoice_domestic()))
    assert "S · VAT 21 % 58.21 12.22" in text
    assert "Total VAT 12.22" in text and "Total due (EUR) 70.43" in text
    assert "Reverse charge" not in text
    assert "Rīga Čiekurkalns" in text


def test_credit_note_references_the_credited_invoice():
    text = _text(invoice_pdf(credit_note()))
    assert "CREDIT NOTE" in text
    assert "Credits invoice LUT-2026-000124 of 2026-11-03" in text
    assert "Total credited (EUR) 3.20" in text
    assert "reduces the amount due under invoice LUT-2026-000124" in text


def test_nordic_and_baltic_letters_survive():
    letters = "āčēģīķļņšūžųė õäöü åøæ ÅØÆ łź"
    inv = replace(invoice_domestic(), buyer=replace(EMSP_EE, name=f"Test {letters}"))
    assert letters in _text(invoice_pdf(inv))


def test_remittance_pdf_lists_sites_fees_and_payout():
    text = _text(remittance_pdf(remittance()))
    for expected in ("REMITTANCE STATEMENT", "Ässä Lataus Oy", "FI-ASSA-1", "Espoo, Kivenlahti",
                     "1034.250", "300.00", "35.40", "264.60", "Total 111 1436.350 420.50 47.45",
                     "PLATFORM 42.05", "PAYMENT_PROVIDER 5.40",
                     "Payout: 373.05 EUR to IBAN FI2112345600000785"):
        assert expected in text, expected


def test_pdf_bytes_are_reproducible():
    assert invoice_pdf(invoice_domestic()) == invoice_pdf(invoice_domestic())


def test_long_invoice_breaks_pages_and_repeats_the_table_header():
    inv = invoice_domestic()
    lines = tuple(replace(inv.lines[0], line_id=str(i), description=f"Session {i}, Ventspils")
                  for i in range(1, 121))
    reader = pypdf.PdfReader(io.BytesIO(invoice_pdf(replace(inv, lines=lines))))
    assert len(reader.pages) >= 3
    last = reader.pages[-1].extract_text()
    assert f"page {len(reader.pages)}/{len(reader.pages)}" in last
    assert "Description" in reader.pages[1].extract_text()  # header repeated
    assert "Session 120, Ventspils" in "\n".join(p.extract_text() for p in reader.pages)
