"""Small helpers shared by the finance writers: amount text, tax rule names, file locations."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from clearing.finance.documents import TaxRule
from clearing.money import quantum

PACKAGE_DIR = Path(__file__).resolve().parent
SCHEMA_DIR = PACKAGE_DIR / "schemas"
FONT_DIR = PACKAGE_DIR / "fonts"

# EN 16931 / UNCL5305 VAT category codes used by Peppol BIS Billing 3.0 (section 6.1.2).
TAX_CATEGORY: dict[TaxRule, str] = {
    "DOMESTIC_VAT": "S",
    "REVERSE_CHARGE": "AE",
    "EXEMPT": "E",
    "OUT_OF_SCOPE": "O",
}
TAX_RULE_LABEL: dict[TaxRule, str] = {
    "DOMESTIC_VAT": "VAT",
    "REVERSE_CHARGE": "Reverse charge",
    "EXEMPT": "Exempt",
    "OUT_OF_SCOPE": "Outside the scope of VAT",
}
REVERSE_CHARGE_LEGEND = "Reverse charge — VAT Directive 2006/112/EC art. 196"


def amount_text(value: Decimal, currency: str) -> str:
    """An amount with '.' decimals and at least the currency's minor unit: 12.5 -> "12.50".

    A value with more decimals than the minor unit is written in full, never rounded here: the
    documents are rounded by the ledger, and a file must not hide a figure that was not.
    """
    q = quantum(currency)
    if value == value.quantize(q):
        return format(value.quantize(q), "f")
    return format(value, "f")


def number_text(value: Decimal | None) -> str:
    """A quantity or rate without exponent ("12.345", "21"); '' for None."""
    if value is None:
        return ""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"
