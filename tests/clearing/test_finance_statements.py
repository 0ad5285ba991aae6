"""Statements, remittances and the VAT summary as CSV and XLSX: read back and checked."""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from clearing.finance.documents import VatSummaryRow
from clearing.finance.statements import (
    remittance_csv,
    remittance_xlsx,
    statement_csv,
    statement_xlsx,
    statements_xlsx,
    vat_summary,
    vat_summary_csv,
    vat_summary_xlsx,
)
from hub.domain import InvalidInput
from tests.clearing.test_finance_samples import (
    EMSP_EE,
    OWNER_FI,
    credit_note,
    invoice_domestic,
    invoice_reverse_charge,
    remittance,
    statement,
)

D = Decimal


def _rows(data: bytes) -> list[dict[str, str]]:
    assert data.startswith(b"\xef\xbb\xbf"), "UTF-8 byte order mark for Excel"
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


def test_statement_csv_has_opening_lines_closing_and_running_balance():
    """Opening 100.00; +24.20 -> 124.20; +12.10 -> 136.30; -100.00 -> 36.30 = closing."""
    data = statement_csv(statement())
    assert b"\r\n" in data  # RFC 4180 line ends
    rows = _rows(data)
    assert [r["record"] for r in rows] == ["OPENING", "LINE", "LINE", "LINE", "CLOSING"]
    assert rows[0]["balance"] == "100.00" and rows[0]["booked_on"] == "2026-10-01"
    assert [r["balance"] for r in rows[1:4]] == ["124.20", "136.30", "36.30"]
    sek = rows[2]
    assert sek["description"] == "Session Göteborg (SEK)"
    assert (sek["original_currency"], sek["original_amount"], sek["fx_rate"],
            sek["fx_rate_date"]) == ("SEK", "138.22", "11.4235", "2026-10-08")
    assert sek["energy_kwh"] == "30.5" and sek["vat_rate"] == "21"
    closing = rows[-1]
    assert (closing["net_amount"], closing["vat_amount"], closing["gross_amount"]) == (
        "-70.00", "6.30", "-63.70")
    assert closing["balance"] == "36.30" and closing["energy_kwh"] == "87.643"
    assert rows[1]["description"] == "Session Rīga, Čiekurkalns"


def test_statement_xlsx_types_formats_and_layout():
    wb = load_workbook(io.BytesIO(statement_xlsx(statement())))
    ws = wb.active
    assert ws.title == "Õunapuu Laadimine OÜ"
    assert "Õunapuu" in ws["A1"].value and ws["A1"].font.bold
    header = [c.value for c in ws[5]]
    assert header[:4] == ["record", "booked_on", "kind", "reference"]
    assert all(c.font.bold for c in ws[5])
    assert ws.freeze_panes == "A6"
    assert ws.auto_filter.ref.startswith("A5:")
    col = {name: i for i, name in enumerate(header)}
    first = [c for c in ws[7]]  # row 6 is the opening balance
    assert isinstance(first[col["booked_on"]].value, datetime)
    assert first[col["booked_on"]].value.date() == date(2026, 10, 3)
    assert first[col["booked_on"]].number_format == "yyyy-mm-dd"
    gross = first[col["gross_amount"]]
    assert isinstance(gross.value, float) and gross.value == pytest.approx(24.20)
    assert gross.number_format == "#,##0.00"
    assert first[col["energy_kwh"]].number_format == "#,##0.000"
    closing = list(ws[10])
    assert closing[col["record"]].value == "CLOSING" and closing[col["record"]].font.bold
    assert closing[col["balance"]].value == pytest.approx(36.30)
    assert ws.column_dimensions["E"].width >= len("Session Göteborg (SEK)")


def test_statements_xlsx_one_sheet_per_counterparty_with_unique_names():
    a = statement()
    b = replace(a, counterparty=OWNER_FI)
    c = replace(a, counterparty=replace(EMSP_EE, name="Õunapuu Laadimine OÜ"))
    d = replace(a, counterparty=replace(EMSP_EE, name="A/B: [very] long name of a partner Ltd"))
    wb = load_workbook(io.BytesIO(statements_xlsx([a, b, c, d])))
    assert wb.sheetnames == ["Õunapuu Laadimine OÜ", "Ässä Lataus Oy",
                             "Õunapuu Laadimine OÜ (2)", "A B   very  long name of a part"]
    assert wb["Ässä Lataus Oy"]["A1"].value.endswith("→ Ässä Lataus Oy")
    sek = replace(b, currency="SEK", lines=())
    sek = replace(sek, closing_balance=sek.opening_balance)
    assert load_workbook(io.BytesIO(statements_xlsx([a, b, sek]))).sheetnames == [
        "Õunapuu Laadimine OÜ", "Ässä Lataus Oy EUR", "Ässä Lataus Oy SEK"]
    with pytest.raises(InvalidInput):
        statements_xlsx([])


def test_statement_that_does_not_add_up_is_refused():
    with pytest.raises(InvalidInput, match=r"does not add up.*36\.31"):
        statement_csv(replace(statement(), closing_balance=D("36.31")))
    wrong_ccy = replace(statement().lines[0], currency="SEK")
    with pytest.raises(InvalidInput, match="is in SEK"):
        statement_xlsx(replace(statement(), lines=(wrong_ccy,)))


def test_remittance_csv_and_xlsx_have_one_column_per_fee_and_a_total():
    """Totals: revenue 300.00 + 120.50 = 420.50; PLATFORM 30.00 + 12.05 = 42.05;
    PAYMENT_PROVIDER 5.40; payout 264.60 + 108.45 = 373.05."""
    rows = _rows(remittance_csv(remittance()))
    assert list(rows[0])[-3:] == ["fee PLATFORM", "fee PAYMENT_PROVIDER", "payout"]
    assert rows[1]["fee PAYMENT_PROVIDER"] == "0.00"
    total = rows[-1]
    assert (total["record"], total["sessions"], total["revenue"], total["fee PLATFORM"],
            total["fee PAYMENT_PROVIDER"], total["payout"]) == (
        "TOTAL", "111", "420.50", "42.05", "5.40", "373.05")
    ws = load_workbook(io.BytesIO(remittance_xlsx(remittance()))).active
    assert "Ässä Lataus Oy" in ws["A1"].value
    last = [c.value for c in ws[ws.max_row]]
    assert last[0] == "TOTAL" and last[-1] == pytest.approx(373.05)
    assert ws.cell(row=ws.max_row, column=1).font.bold
    with pytest.raises(InvalidInput, match="does not add up"):
        remittance_csv(replace(remittance(), total_payout=D("373.00")))


def test_vat_summary_from_invoices_nets_credit_notes():
    """LV 21 % S: 58.21 taxable, 12.22 VAT (one invoice, two lines).
    LV AE 0 %: 80.00 - 3.20 (credit note) = 76.80, VAT 0, two documents."""
    rows = vat_summary([invoice_domestic(), invoice_reverse_charge(), credit_note()])
    by_rule = {r.tax_rule: r for r in rows}
    assert set(by_rule) == {"DOMESTIC_VAT", "REVERSE_CHARGE"}
    s = by_rule["DOMESTIC_VAT"]
    assert (s.vat_country, s.vat_rate, s.taxable_amount, s.vat_amount, s.documents,
            s.lines) == ("LV", D("21"), D("58.21"), D("12.22"), 1, 2)
    ae = by_rule["REVERSE_CHARGE"]
    assert (ae.taxable_amount, ae.vat_amount, ae.documents) == (D("76.80"), D("0.00"), 2)


def test_vat_summary_csv_and_xlsx_total_per_currency():
    rows = [
        VatSummaryRow("LV", D("21"), "DOMESTIC_VAT", "EUR", D("100.00"), D("21.00")),
        VatSummaryRow("EE", D("24"), "DOMESTIC_VAT", "EUR", D("50.00"), D("12.00")),
        VatSummaryRow("LV", D("0"), "REVERSE_CHARGE", "EUR", D("80.00"), D("0.00")),
        VatSummaryRow("SE", D("25"), "DOMESTIC_VAT", "SEK", D("1000.00"), D("250.00")),
    ]
    out = _rows(vat_summary_csv(rows))
    assert [(r["record"], r["vat_country"], r["tax_category"]) for r in out] == [
        ("ROW", "EE", "S"), ("ROW", "LV", "S"), ("ROW", "LV", "AE"), ("ROW", "SE", "S"),
        ("TOTAL", "", ""), ("TOTAL", "", "")]
    assert (out[4]["currency"], out[4]["taxable_amount"], out[4]["vat_amount"]) == (
        "EUR", "230.00", "33.00")
    assert (out[5]["currency"], out[5]["vat_amount"]) == ("SEK", "250.00")
    ws = load_workbook(io.BytesIO(vat_summary_xlsx(rows))).active
    assert ws.title == "VAT summary"
    assert ws.cell(row=ws.max_row, column=9).value == pytest.approx(250.0)


def test_partner_text_never_becomes_a_formula():
    evil = replace(statement().lines[0], reference="=HYPERLINK(\"http://x\")",
                   description="@SUM(1+1)")
    st = replace(statement(), lines=(evil, *statement().lines[1:]))
    rows = _rows(statement_csv(st))
    assert rows[1]["reference"] == "'=HYPERLINK(\"http://x\")"
    assert rows[1]["description"] == "'@SUM(1+1)"
    ws = load_workbook(io.BytesIO(statement_xlsx(st))).active
    assert ws["D7"].value == "=HYPERLINK(\"http://x\")" and ws["D7"].data_type == "s"


def test_vat_summary_tolerates_a_row_without_rule():
    rows = [VatSummaryRow("LV", D("0"), "", "EUR", D("1.00"), D("0.00"))]  # type: ignore[arg-type]
    assert _rows(vat_summary_csv(rows))[0]["tax_category"] == ""
