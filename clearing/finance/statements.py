"""Statements, owner remittances and the VAT summary as CSV and XLSX (issue 6 item 7).

Every file is one table: a header row, then typed rows. The same rows feed both formats:

- CSV: UTF-8 with a byte order mark (so Excel detects UTF-8; LibreOffice ignores it), ','
  separators, '.' decimal point, ISO dates (YYYY-MM-DD), CRLF line ends (RFC 4180). Amounts are
  written with the currency's minor unit ("12.50"), never in exponent form.
- XLSX (openpyxl): numbers are numbers with a 2-decimal format (3 for kWh, 6 for FX rates),
  dates are dates, a bold frozen header row with an auto-filter, fitted column widths, and the
  totals row in bold with its values (not formulas: a reader without a spreadsheet engine, such
  as openpyxl or pandas, sees the figures too).

A statement's first row is the opening balance, its last the closing balance with the totals
of the period; ``balance`` runs line by line. A statement whose lines do not add up (opening +
sum of gross amounts != closing) is refused with ``InvalidInput``: a file must never show
figures that contradict each other.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, Literal

from openpyxl import Workbook  # type: ignore[import-untyped, unused-ignore]
from openpyxl.cell import WriteOnlyCell  # type: ignore[import-untyped, unused-ignore]
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side  # type: ignore[import-untyped, unused-ignore]
from openpyxl.utils import get_column_letter  # type: ignore[import-untyped, unused-ignore]

from clearing.finance._common import TAX_CATEGORY, amount_text, number_text
from clearing.finance.documents import Invoice, Remittance, Statement, TaxRule, VatSummaryRow
from hub.domain import InvalidInput

ColumnKind = Literal["text", "int", "date", "money", "energy", "rate", "fx"]
Cell = str | int | Decimal | date | None

# Column kind -> XLSX number format and width in characters.
_FORMATS: dict[ColumnKind, str] = {
    "int": "0",
    "date": "yyyy-mm-dd",
    "money": "#,##0.00",
    "energy": "#,##0.000",
    "rate": "0.00",
    "fx": "0.000000",
}
_WIDTHS: dict[ColumnKind, int] = {
    "text": 14, "int": 9, "date": 12, "money": 14, "energy": 12, "rate": 9, "fx": 12,
}
_BOLD = Font(bold=True)
_HEADER_FILL = PatternFill("solid", fgColor="DDE3EA")
_THIN = Side(style="thin", color="808080")


@dataclass
class _Table:
    """A header and typed rows; ``totals`` marks the rows printed in bold."""

    columns: list[tuple[str, ColumnKind]]
    rows: list[list[Cell]] = field(default_factory=list)
    totals: set[int] = field(default_factory=set)
    title: list[str] = field(default_factory=list)  # lines above the header (XLSX only)
    currency: str = "EUR"

    def add(self, row: list[Cell], *, total: bool = False) -> None:
        if total:
            self.totals.add(len(self.rows))
        self.rows.append(row)


# --- statements -------------------------------------------------------------------------------

_STATEMENT_COLUMNS: list[tuple[str, ColumnKind]] = [
    ("record", "text"), ("booked_on", "date"), ("kind", "text"), ("reference", "text"),
    ("description", "text"), ("currency", "text"), ("net_amount", "money"),
    ("vat_amount", "money"), ("gross_amount", "money"), ("balance", "money"),
    ("energy_kwh", "energy"), ("tax_rule", "text"), ("vat_rate", "rate"),
    ("original_currency", "text"), ("original_amount", "money"), ("fx_rate", "fx"),
    ("fx_rate_date", "date"),
]


def _statement_table(st: Statement) -> _Table:
    table = _Table(list(_STATEMENT_COLUMNS), currency=st.currency)
    table.title = [
        f"{st.title}: {st.issuer.name} → {st.counterparty.name}",
        f"Period {st.period_start.isoformat()} to {st.period_end.isoformat()}, "
        f"currency {st.currency}; + receivable from the counterparty, - payable to it",
        f"Issuer VAT {st.issuer.vat_id or '-'}, counterparty VAT {st.counterparty.vat_id or '-'}",
    ]
    empty: list[Cell] = [None] * 7
    table.add(["OPENING", st.period_start, None, None, "Opening balance", st.currency,
               None, None, None, st.opening_balance, *empty])
    balance = st.opening_balance
    net = vat = gross = energy = Decimal(0)
    for i, line in enumerate(st.lines, start=1):
        if line.currency != st.currency:
            raise InvalidInput(
                f"statement line {i} ({line.reference}) is in {line.currency}, the statement "
                f"in {st.currency}: convert it first (original_currency/original_amount)"
            )
        balance += line.gross_amount
        net, vat, gross = net + line.net_amount, vat + line.vat_amount, gross + line.gross_amount
        energy += line.energy_kwh or 0
        table.add([
            "LINE", line.booked_on, line.kind, line.reference, line.description, line.currency,
            line.net_amount, line.vat_amount, line.gross_amount, balance, line.energy_kwh,
            line.tax_rule, line.vat_rate, line.original_currency, line.original_amount,
            line.fx_rate, line.fx_rate_date,
        ])
    if balance != st.closing_balance:
        raise InvalidInput(
            f"statement {st.issuer.name} -> {st.counterparty.name} does not add up: opening "
            f"{st.opening_balance} + lines {gross} = {balance}, closing balance says "
            f"{st.closing_balance}"
        )
    table.add(["CLOSING", st.period_end, None, None, "Closing balance (totals of the period)",
               st.currency, net, vat, gross, st.closing_balance, energy, None, None, None, None,
               None, None], total=True)
    return table


def statement_csv(st: Statement) -> bytes:
    """One statement as CSV: opening line, one line per ``StatementLine``, closing line."""
    return _csv(_statement_table(st))


def statement_xlsx(st: Statement) -> bytes:
    """One statement as an XLSX workbook with one sheet."""
    return _workbook([(_sheet_name(st.counterparty.name, set()), _statement_table(st))])


def statements_xlsx(sts: Sequence[Statement]) -> bytes:
    """Several statements in one workbook, one sheet per counterparty (in the given order).

    Sheet names are the counterparty names cut to Excel's 31 characters, without the
    characters a sheet name cannot hold, with the currency when the same counterparty has
    statements in several currencies; a repeated name gets " (2)", " (3)"...
    """
    if not sts:
        raise InvalidInput("no statements to write")
    currencies: dict[str, set[str]] = {}
    for st in sts:
        currencies.setdefault(st.counterparty.name, set()).add(st.currency)
    used: set[str] = set()
    sheets = []
    for st in sts:
        several = len(currencies[st.counterparty.name]) > 1
        name = _sheet_name(st.counterparty.name, used, st.currency if several else "")
        used.add(name.lower())
        sheets.append((name, _statement_table(st)))
    return _workbook(sheets)


# --- remittance -------------------------------------------------------------------------------


def _remittance_table(r: Remittance) -> _Table:
    fee_names: list[str] = []
    for line in r.lines:
        for name, _ in line.fees:
            if name not in fee_names:
                fee_names.append(name)
    columns: list[tuple[str, ColumnKind]] = [
        ("record", "text"), ("reference", "text"), ("description", "text"),
        ("currency", "text"), ("sessions", "int"), ("energy_kwh", "energy"),
        ("revenue", "money"), *[(f"fee {n}", "money") for n in fee_names], ("payout", "money"),
    ]
    table = _Table(columns, currency=r.currency)
    table.title = [
        f"Remittance statement: {r.payer.name} → {r.owner.name}",
        f"Period {r.period_start.isoformat()} to {r.period_end.isoformat()}, currency "
        f"{r.currency}; payout = revenue - fees",
        f"Owner VAT {r.owner.vat_id or '-'}, payout to IBAN {r.owner.iban or '-'}",
    ]
    sessions, energy, revenue, payout = 0, Decimal(0), Decimal(0), Decimal(0)
    fee_totals = dict.fromkeys(fee_names, Decimal(0))
    for line in r.lines:
        fees = dict.fromkeys(fee_names, Decimal(0))
        for name, amount in line.fees:
            fees[name] += amount
            fee_totals[name] += amount
        sessions += line.sessions
        energy += line.energy_kwh
        revenue += line.revenue
        payout += line.payout
        table.add(["LINE", line.reference, line.description, r.currency, line.sessions,
                   line.energy_kwh, line.revenue, *fees.values(), line.payout])
    if payout != r.total_payout:
        raise InvalidInput(
            f"remittance to {r.owner.name} does not add up: lines pay out {payout}, "
            f"total_payout says {r.total_payout}"
        )
    table.add(["TOTAL", None, "Total", r.currency, sessions, energy, revenue,
               *fee_totals.values(), r.total_payout], total=True)
    return table


def remittance_csv(r: Remittance) -> bytes:
    """An owner's remittance as CSV: one line per station/site, one column per fee, a total."""
    return _csv(_remittance_table(r))


def remittance_xlsx(r: Remittance) -> bytes:
    return _workbook([("Remittance", _remittance_table(r))])


# --- VAT summary ------------------------------------------------------------------------------

_VAT_COLUMNS: list[tuple[str, ColumnKind]] = [
    ("record", "text"), ("direction", "text"), ("vat_country", "text"), ("tax_rule", "text"),
    ("tax_category", "text"), ("vat_rate", "rate"), ("currency", "text"),
    ("taxable_amount", "money"), ("vat_amount", "money"), ("documents", "int"), ("lines", "int"),
]


def _vat_table(rows: Sequence[VatSummaryRow]) -> _Table:
    table = _Table(list(_VAT_COLUMNS))
    table.title = ["VAT summary per country, rate and rule"]
    ordered = sorted(rows, key=lambda r: (r.currency, r.direction, r.vat_country, r.tax_rule,
                                          r.vat_rate))
    totals: dict[tuple[str, str], list[Decimal]] = {}
    for r in ordered:
        table.add(["ROW", r.direction, r.vat_country, r.tax_rule, TAX_CATEGORY.get(r.tax_rule),
                   r.vat_rate, r.currency, r.taxable_amount, r.vat_amount, r.documents, r.lines])
        t = totals.setdefault((r.currency, r.direction), [Decimal(0), Decimal(0)])
        t[0] += r.taxable_amount
        t[1] += r.vat_amount
    for (currency, direction), (taxable, vat) in totals.items():
        table.add(["TOTAL", direction, None, None, None, None, currency, taxable, vat, None,
                   None], total=True)
    return table


def vat_summary_csv(rows: Sequence[VatSummaryRow]) -> bytes:
    """The VAT summary as CSV, sorted by currency, direction, country, rule and rate, with a
    TOTAL row per currency and direction (VAT of different currencies is never added up)."""
    return _csv(_vat_table(rows))


def vat_summary_xlsx(rows: Sequence[VatSummaryRow]) -> bytes:
    return _workbook([("VAT summary", _vat_table(rows))])


def vat_summary(invoices: Sequence[Invoice]) -> list[VatSummaryRow]:
    """Output-VAT rows from issued invoices and credit notes (credit notes count negative).

    Grouped per VAT country (of the lines), rate, rule and currency. The VAT amount is the
    document's VAT breakdown amount when its lines of that rate and rule share one country
    (the usual case), otherwise the sum of the line VAT amounts of each country.
    """
    acc: dict[tuple[str, Decimal, TaxRule, str], _VatAcc] = {}
    for inv in invoices:
        sign = -1 if inv.kind == "CREDIT_NOTE" else 1
        for b in inv.vat_breakdown:
            lines = [ln for ln in inv.lines
                     if ln.tax_rule == b.tax_rule and ln.vat_rate == b.vat_rate]
            countries = sorted({ln.vat_country for ln in lines}) or [inv.seller.country]
            for country in countries:
                mine = [ln for ln in lines if ln.vat_country == country]
                if len(countries) == 1:
                    taxable, vat = b.taxable_amount, b.vat_amount
                else:
                    taxable = sum((ln.net_amount for ln in mine), Decimal(0))
                    vat = sum((ln.vat_amount for ln in mine), Decimal(0))
                entry = acc.setdefault((country, b.vat_rate, b.tax_rule, inv.currency), _VatAcc())
                entry.taxable += sign * taxable
                entry.vat += sign * vat
                entry.lines += len(mine)
                entry.documents.add(inv.number)
    return [
        VatSummaryRow(vat_country=country, vat_rate=rate, tax_rule=rule, currency=ccy,
                      taxable_amount=e.taxable, vat_amount=e.vat, documents=len(e.documents),
                      lines=e.lines)
        for (country, rate, rule, ccy), e in sorted(acc.items())
    ]


@dataclass
class _VatAcc:
    taxable: Decimal = Decimal(0)
    vat: Decimal = Decimal(0)
    lines: int = 0
    documents: set[str] = field(default_factory=set)


# --- writers ----------------------------------------------------------------------------------


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"^-?[0-9.]+$")


def _csv_cell(value: Cell, kind: ColumnKind, currency: str) -> str:
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return amount_text(value, currency) if kind == "money" else number_text(value)
    text = str(value)
    # CSV injection (OWASP): text from partners (CDR ids, location names) that a spreadsheet
    # would run as a formula gets a leading apostrophe, which Calc and Excel show as text.
    if text.startswith(_FORMULA_START) and not _NUMBER.match(text):
        return "'" + text
    return text


def _csv(table: _Table) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow([name for name, _ in table.columns])
    ccy_col = next((i for i, (n, _) in enumerate(table.columns) if n == "currency"), None)
    for row in table.rows:
        ccy = str(row[ccy_col]) if ccy_col is not None and row[ccy_col] else table.currency
        writer.writerow([_csv_cell(v, kind, ccy)
                         for v, (_, kind) in zip(row, table.columns, strict=True)])
    return buf.getvalue().encode("utf-8-sig")


def _workbook(sheets: Sequence[tuple[str, _Table]]) -> bytes:
    """An XLSX with one sheet per table, written in openpyxl's write-only (streaming) mode:
    memory stays flat for statements of a whole month of CDRs."""
    wb = Workbook(write_only=True)
    for name, table in sheets:
        _write_sheet(wb.create_sheet(name), table)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _write_sheet(ws: Any, table: _Table) -> None:
    # Column widths, freeze panes and the filter must be set before the first row is written.
    widths = [max(_WIDTHS[kind], len(name) + 2) for name, kind in table.columns]
    for row in table.rows:
        for i, (value, (_, kind)) in enumerate(zip(row, table.columns, strict=True)):
            if kind == "text" and value is not None:
                widths[i] = max(widths[i], min(len(str(value)) + 2, 60))
    for col, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(col)].width = width
    header_row = len(table.title) + 2 if table.title else 1
    ws.freeze_panes = f"A{header_row + 1}"
    last = get_column_letter(len(table.columns))
    ws.auto_filter.ref = f"A{header_row}:{last}{header_row + max(len(table.rows), 1)}"

    for i, text in enumerate(table.title, start=1):
        title = WriteOnlyCell(ws, value=text)
        title.font = Font(bold=i == 1, size=13 if i == 1 else 10)
        ws.append([title])
    if table.title:
        ws.append([])
    header = []
    for name, kind in table.columns:
        cell = WriteOnlyCell(ws, value=name)
        cell.font, cell.fill, cell.border = _BOLD, _HEADER_FILL, Border(bottom=_THIN)
        cell.alignment = Alignment(horizontal="left" if kind == "text" else "right")
        header.append(cell)
    ws.append(header)
    for r, row in enumerate(table.rows):
        total = r in table.totals
        out: list[Any] = []
        for value, (_, kind) in zip(row, table.columns, strict=True):
            if isinstance(value, str):
                cell = WriteOnlyCell(ws, value=value)
                cell.data_type = "s"  # openpyxl would store "=..." as a formula
            elif value is not None and kind in _FORMATS:
                cell = WriteOnlyCell(ws, value=value)
                cell.number_format = _FORMATS[kind]
            elif not total:
                out.append(value)
                continue
            else:
                cell = WriteOnlyCell(ws, value=value)
            if total:
                cell.font, cell.border = _BOLD, Border(top=_THIN)
            out.append(cell)
        ws.append(out)


_SHEET_BAD = re.compile(r"[\[\]:*?/\\]")


def _sheet_name(name: str, used: set[str], currency: str = "") -> str:
    tail = f" {currency}" if currency else ""
    base = (_SHEET_BAD.sub(" ", name).strip().strip("'")[: 31 - len(tail)] or "Sheet") + tail
    candidate, n = base, 1
    while candidate.lower() in used:
        n += 1
        suffix = f" ({n})"
        candidate = base[: 31 - len(suffix)] + suffix
    return candidate
