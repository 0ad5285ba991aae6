"""Invoices, credit notes and owner remittance statements as PDF (issue 6 item 7), with fpdf2.

Text is set in DejaVu Sans (vendored, subset to Latin: clearing/finance/fonts/, licence beside
it), so Latvian, Lithuanian, Estonian, Polish and Nordic letters (ā č ē š ž ų õ ä ö ü å ø æ ł)
print as they are. fpdf2 embeds only the glyphs used, with a ToUnicode map: the text can be
copied out of the PDF and searched.

An invoice shows what EN 16931 asks of a VAT invoice (VAT Directive 2006/112/EC art. 226):
seller and buyer with VAT ids, number, issue and due date, the period of supply, the lines,
the VAT breakdown per category and rate with the exemption reason, the reverse-charge legend
where it applies, the totals and the payment details (IBAN/BIC, reference). A credit note
names the invoice it credits. Amounts are printed as given (the ledger rounds them).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import Decimal

from fpdf import FPDF
from fpdf.enums import XPos, YPos
from fpdf.fonts import FontFace

from clearing.finance._common import (
    FONT_DIR,
    REVERSE_CHARGE_LEGEND,
    TAX_CATEGORY,
    TAX_RULE_LABEL,
    amount_text,
    number_text,
)
from clearing.finance.documents import Invoice, LegalParty, Remittance, TaxRule

FONT = "DejaVu"
_UNITS = {"KWH": "kWh", "HUR": "h", "MIN": "min", "C62": "pcs", "MON": "month", "E48": "session"}
_HEADING = FontFace(emphasis="BOLD", fill_color=(221, 227, 234))
_WIDTH = 190.0  # A4 minus 10 mm margins


class _Doc(FPDF):
    """A4 portrait with our font and a footer naming the issuer and the page."""

    def __init__(self, footer: str) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.footer_text = footer
        self.add_font(FONT, "", FONT_DIR / "DejaVuSans.ttf")
        self.add_font(FONT, "B", FONT_DIR / "DejaVuSans-Bold.ttf")
        self.set_margins(10, 12, 10)
        self.set_auto_page_break(auto=True, margin=16)
        self.alias_nb_pages()

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FONT, "", 7)
        self.cell(0, 5, f"{self.footer_text} · page {self.page_no()}/{{nb}}", align="C")

    def text_line(self, text: str, size: float = 9, bold: bool = False, h: float = 4.6) -> None:
        self.set_font(FONT, "B" if bold else "", size)
        self.multi_cell(0, h, text, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _party_lines(p: LegalParty) -> list[str]:
    lines = [p.name]
    if p.street:
        lines.append(p.street)
    place = " ".join(x for x in (p.postal_code, p.city) if x)
    lines.append(f"{place}, {p.country}" if place else p.country)
    if p.vat_id:
        lines.append(f"VAT ID: {p.vat_id}")
    if p.registration_id:
        lines.append(f"Reg. no.: {p.registration_id}")
    if p.peppol_id:
        lines.append(f"Peppol ID: {p.peppol_id}")
    if p.email:
        lines.append(p.email)
    return lines


def _two_blocks(pdf: _Doc, left: tuple[str, LegalParty], right: tuple[str, LegalParty]) -> None:
    """Two address blocks side by side (seller | buyer, payer | owner)."""
    top = pdf.get_y()
    bottoms = []
    for x, (label, party) in ((10.0, left), (105.0, right)):
        pdf.set_xy(x, top)
        pdf.set_font(FONT, "B", 8)
        pdf.cell(90, 4.5, label.upper(), new_x=XPos.LEFT, new_y=YPos.NEXT)
        for i, text in enumerate(_party_lines(party)):
            pdf.set_x(x)
            pdf.set_font(FONT, "B" if i == 0 else "", 9)
            pdf.multi_cell(90, 4.5, text, new_x=XPos.LEFT, new_y=YPos.NEXT)
        bottoms.append(pdf.get_y())
    pdf.set_xy(10, max(bottoms) + 4)


def _facts(pdf: _Doc, rows: Sequence[tuple[str, str]]) -> None:
    for label, value in rows:
        pdf.set_font(FONT, "B", 9)
        pdf.cell(42, 4.8, label)
        pdf.set_font(FONT, "", 9)
        pdf.multi_cell(0, 4.8, value, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(3)


def _rate_text(rule: TaxRule, rate: Decimal) -> str:
    if rule == "DOMESTIC_VAT":
        return f"{number_text(rate)} %"
    return {"REVERSE_CHARGE": "RC 0 %", "EXEMPT": "exempt", "OUT_OF_SCOPE": "n/a"}[rule]


def _metadata(pdf: _Doc, title: str, author: str, on: date) -> None:
    pdf.set_title(title)
    pdf.set_author(author)
    pdf.set_creator("hub clearing house")
    # A fixed creation date (the document date) keeps the bytes reproducible.
    pdf.set_creation_date(datetime(on.year, on.month, on.day, tzinfo=UTC))


def invoice_pdf(inv: Invoice) -> bytes:
    """An invoice or a credit note (``inv.kind``) as a PDF."""
    ccy = inv.currency
    credit = inv.kind == "CREDIT_NOTE"
    title = "CREDIT NOTE" if credit else "INVOICE"
    pdf = _Doc(f"{inv.seller.name} · {title.title()} {inv.number}")
    _metadata(pdf, f"{title.title()} {inv.number}", inv.seller.name, inv.issue_date)
    pdf.add_page()
    pdf.set_font(FONT, "B", 18)
    pdf.cell(95, 10, title)
    pdf.set_font(FONT, "B", 12)
    pdf.cell(95, 10, f"No. {inv.number}", align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(3)
    _two_blocks(pdf, ("Seller", inv.seller), ("Buyer", inv.buyer))
    facts = [("Issue date", inv.issue_date.isoformat()),
             ("Due date", inv.due_date.isoformat()),
             ("Period of supply",
              f"{inv.period_start.isoformat()} to {inv.period_end.isoformat()}"),
             ("Currency", ccy)]
    if credit:
        credited = inv.credited_number or "(not given)"
        if inv.credited_issue_date:
            credited += f" of {inv.credited_issue_date.isoformat()}"
        facts.insert(0, ("Credits invoice", credited))
    if inv.buyer_reference:
        facts.append(("Buyer reference", inv.buyer_reference))
    _facts(pdf, facts)

    pdf.set_font(FONT, "", 8)
    with pdf.table(col_widths=(8, 64, 20, 12, 20, 22, 18, 26), headings_style=_HEADING,
                   text_align=("RIGHT", "LEFT", "RIGHT", "LEFT", "RIGHT", "RIGHT", "RIGHT",
                               "RIGHT"),
                   line_height=4.6, width=_WIDTH, first_row_as_headings=True) as table:
        table.row(["#", "Description", "Quantity", "Unit", "Unit price", f"Net {ccy}", "VAT",
                   f"VAT {ccy}"])
        for line in inv.lines:
            desc = line.description
            if line.references:
                desc += f" ({len(line.references)} CDR{'s' if len(line.references) != 1 else ''})"
            table.row([line.line_id, desc, format(line.quantity, "f"),
                       _UNITS.get(line.unit, line.unit), format(line.unit_price, "f"),
                       amount_text(line.net_amount, ccy),
                       _rate_text(line.tax_rule, line.vat_rate),
                       amount_text(line.vat_amount, ccy)])
    pdf.ln(4)

    pdf.text_line("VAT breakdown", 10, bold=True)
    pdf.set_font(FONT, "", 8)
    with pdf.table(col_widths=(46, 18, 30, 30, 66), headings_style=_HEADING,
                   text_align=("LEFT", "RIGHT", "RIGHT", "RIGHT", "LEFT"), line_height=4.6,
                   width=_WIDTH) as table:
        table.row(["VAT category", "Rate", f"Taxable {ccy}", f"VAT {ccy}", "Exemption reason"])
        for b in inv.vat_breakdown:
            table.row([f"{TAX_CATEGORY[b.tax_rule]} · {TAX_RULE_LABEL[b.tax_rule]}",
                       _rate_text(b.tax_rule, b.vat_rate), amount_text(b.taxable_amount, ccy),
                       amount_text(b.vat_amount, ccy), b.exemption_reason or ""])
    pdf.ln(2)
    if any(b.tax_rule == "REVERSE_CHARGE" for b in inv.vat_breakdown) or any(
        ln.tax_rule == "REVERSE_CHARGE" for ln in inv.lines
    ):
        pdf.text_line(REVERSE_CHARGE_LEGEND, 9, bold=True)
        pdf.text_line("The customer accounts for the VAT due on this supply.", 8)
    pdf.ln(2)

    for label, value, bold in (("Total without VAT", inv.total_net, False),
                               ("Total VAT", inv.total_vat, False),
                               (f"Total {'credited' if credit else 'due'} ({ccy})",
                                inv.total_gross, True)):
        pdf.set_font(FONT, "B" if bold else "", 11 if bold else 9)
        pdf.cell(150, 6, label, align="R")
        pdf.cell(40, 6, amount_text(value, ccy), align="R", new_x=XPos.LMARGIN,
                 new_y=YPos.NEXT)
    pdf.ln(4)

    reference = inv.payment_reference or inv.number
    pdf.text_line("Payment details", 10, bold=True)
    if credit:
        credited = inv.credited_number or "(not given)"
        pdf.text_line(f"This credit note reduces the amount due under invoice {credited} by "
                      f"{amount_text(inv.total_gross, ccy)} {ccy}; it is settled with the next "
                      f"payment or netting.")
    else:
        pdf.text_line(f"Please pay {amount_text(inv.total_gross, ccy)} {ccy} by "
                      f"{inv.due_date.isoformat()} quoting reference {reference}.")
    _facts(pdf, [("Payee", inv.seller.name), ("IBAN", inv.seller.iban or "-"),
                 ("BIC", inv.seller.bic or "-"), ("Reference", reference)])
    if inv.note:
        pdf.text_line(inv.note, 8)
    return bytes(pdf.output())


def remittance_pdf(r: Remittance) -> bytes:
    """An owner's remittance statement: per station/site revenue, fees and payout."""
    ccy = r.currency
    pdf = _Doc(f"{r.payer.name} · Remittance {r.owner.name}")
    _metadata(pdf, f"Remittance statement {r.owner.name}", r.payer.name, r.period_end)
    pdf.add_page()
    pdf.set_font(FONT, "B", 16)
    pdf.cell(0, 10, "REMITTANCE STATEMENT", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(2)
    _two_blocks(pdf, ("Payer", r.payer), ("Owner (payee)", r.owner))
    _facts(pdf, [("Period", f"{r.period_start.isoformat()} to {r.period_end.isoformat()}"),
                 ("Currency", ccy)])
    fee_totals: dict[str, Decimal] = {}
    pdf.set_font(FONT, "", 8)
    with pdf.table(col_widths=(28, 50, 16, 22, 26, 22, 26), headings_style=_HEADING,
                   text_align=("LEFT", "LEFT", "RIGHT", "RIGHT", "RIGHT", "RIGHT", "RIGHT"),
                   line_height=4.6, width=_WIDTH) as table:
        table.row(["Reference", "Description", "Sessions", "kWh", f"Revenue {ccy}",
                   f"Fees {ccy}", f"Payout {ccy}"])
        for line in r.lines:
            fees = sum((amount for _, amount in line.fees), Decimal(0))
            for name, amount in line.fees:
                fee_totals[name] = fee_totals.get(name, Decimal(0)) + amount
            table.row([line.reference, line.description, str(line.sessions),
                       format(line.energy_kwh, "f"), amount_text(line.revenue, ccy),
                       amount_text(fees, ccy), amount_text(line.payout, ccy)])
        revenue = sum((line.revenue for line in r.lines), Decimal(0))
        total_fees = sum(fee_totals.values(), Decimal(0))
        energy = sum((line.energy_kwh for line in r.lines), Decimal(0))
        sessions = sum(line.sessions for line in r.lines)
        table.row(["Total", "", str(sessions), format(energy, "f"), amount_text(revenue, ccy),
                   amount_text(total_fees, ccy), amount_text(r.total_payout, ccy)],
                  style=FontFace(emphasis="BOLD"))
    pdf.ln(4)
    if fee_totals:
        pdf.text_line("Fees by party", 10, bold=True)
        pdf.set_font(FONT, "", 8)
        with pdf.table(col_widths=(120, 40), headings_style=_HEADING,
                       text_align=("LEFT", "RIGHT"), line_height=4.6, width=160,
                       align="LEFT") as table:
            table.row(["Party / role", f"Amount {ccy}"])
            for name, amount in fee_totals.items():
                table.row([name, amount_text(amount, ccy)])
        pdf.ln(4)
    pdf.text_line(f"Payout: {amount_text(r.total_payout, ccy)} {ccy} to IBAN "
                  f"{r.owner.iban or '-'}" + (f" (BIC {r.owner.bic})" if r.owner.bic else ""),
                  10, bold=True)
    return bytes(pdf.output())
