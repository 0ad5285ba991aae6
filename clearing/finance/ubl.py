"""E-invoices in Peppol BIS Billing 3.0: UBL 2.1 Invoice and CreditNote (issue 6 item 7).

``invoice_ubl`` writes an ``Invoice`` (kind INVOICE or CREDIT_NOTE) as the Peppol BIS Billing
3.0 syntax binding of EN 16931 (docs.peppol.eu/poacc/billing/3.0, "Syntax binding"):

- CustomizationID ``urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0``
  and ProfileID ``urn:fdc:peppol.eu:2017:poacc:billing:01:1.0``; type code 380 (invoice) or
  381 (credit note); a credit note names the credited invoice in BillingReference (BT-25).
- Tax categories (UNCL5305): DOMESTIC_VAT -> S, REVERSE_CHARGE -> AE, EXEMPT -> E,
  OUT_OF_SCOPE -> O, with the exemption reason text/VATEX code for AE, E and O. An O document
  carries no VAT identifiers (BR-O-02).
- Electronic addresses (EndpointID, BT-34/BT-49): the party's ``peppol_id`` ("scheme:id");
  without one, the VAT number under its Peppol EAS scheme (see ``_VAT_SCHEME``).
- No allowances or charges: LegalMonetaryTotal is line total = tax exclusive, + VAT = tax
  inclusive = payable.

``validate_ubl`` checks a document against the OASIS UBL 2.1 XSD (vendored under
schemas/ubl-2.1, see its NOTICE) and then against a subset of the EN 16931 / Peppol business
rules that our documents can break (listed in ``_rules``), returning readable messages that
start with the rule id. The full Schematron (CEN and Peppol) is not run here; docs/
finance-files.md says how to run an external validator.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import cache

from lxml import etree  # type: ignore[import-untyped, unused-ignore]

from clearing.finance._common import SCHEMA_DIR, TAX_CATEGORY, amount_text, number_text
from clearing.finance.documents import Invoice, InvoiceLine, LegalParty

CUSTOMIZATION_ID = (
    "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0"
)
PROFILE_ID = "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"
NS_INVOICE = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
NS_CREDIT_NOTE = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
NS_CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
NS_CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
_NS = {"cac": NS_CAC, "cbc": NS_CBC}

# Peppol EAS (electronic address scheme) codes for VAT numbers, used when a party has no
# peppol_id. SE and NO register the organisation number (digits of the VAT id).
_VAT_SCHEME = {"LV": "9939", "EE": "9931", "LT": "9937", "DE": "9930", "PL": "9945",
               "FI": "0213", "DK": "0198"}
_DEFAULT_REASON = {  # (VATEX code, text) when the breakdown gives none
    "AE": ("VATEX-EU-AE", "Reverse charge"),
    "E": (None, "Exempt from VAT"),
    "O": ("VATEX-EU-O", "Not subject to VAT"),
}
_MAX_LINE_REFERENCES = 20


def _q(prefix: str, name: str) -> str:
    return f"{{{_NS[prefix]}}}{name}"


def _add(parent: etree._Element, tag: str, text: str | None = None,
         **attrs: str) -> etree._Element:
    prefix, name = tag.split(":")
    el = etree.SubElement(parent, _q(prefix, name), attrs)
    if text is not None:
        el.text = text
    return el


def _endpoint(p: LegalParty) -> tuple[str, str] | None:
    if p.peppol_id and ":" in p.peppol_id:
        scheme, ident = p.peppol_id.split(":", 1)
        return scheme, ident
    if not p.vat_id:
        return None
    if p.country in _VAT_SCHEME:
        return _VAT_SCHEME[p.country], p.vat_id
    digits = "".join(c for c in p.vat_id if c.isdigit())
    if p.country == "SE" and len(digits) >= 10:
        return "0007", digits[:10]
    if p.country == "NO" and len(digits) >= 9:
        return "0192", digits[:9]
    return None


def _party(parent: etree._Element, tag: str, p: LegalParty, with_vat: bool) -> None:
    party = _add(_add(parent, tag), "cac:Party")
    endpoint = _endpoint(p)
    if endpoint:
        _add(party, "cbc:EndpointID", endpoint[1], schemeID=endpoint[0])
    _add(_add(party, "cac:PartyName"), "cbc:Name", p.name)
    address = _add(party, "cac:PostalAddress")
    if p.street:
        _add(address, "cbc:StreetName", p.street)
    if p.city:
        _add(address, "cbc:CityName", p.city)
    if p.postal_code:
        _add(address, "cbc:PostalZone", p.postal_code)
    _add(_add(address, "cac:Country"), "cbc:IdentificationCode", p.country)
    if with_vat and p.vat_id:
        scheme = _add(party, "cac:PartyTaxScheme")
        _add(scheme, "cbc:CompanyID", p.vat_id)
        _add(_add(scheme, "cac:TaxScheme"), "cbc:ID", "VAT")
    legal = _add(party, "cac:PartyLegalEntity")
    _add(legal, "cbc:RegistrationName", p.name)
    if p.registration_id:
        _add(legal, "cbc:CompanyID", p.registration_id)
    if p.email:
        _add(_add(party, "cac:Contact"), "cbc:ElectronicMail", p.email)


def _tax_category(parent: etree._Element, tag: str, category: str, rate: Decimal,
                  reason: tuple[str | None, str | None] | None = None) -> None:
    cat = _add(parent, tag)
    _add(cat, "cbc:ID", category)
    if category != "O":  # BR-O-05/BR-O-10: no rate for "not subject to VAT"
        _add(cat, "cbc:Percent", number_text(rate))
    if reason:
        code, text = reason
        if code:
            _add(cat, "cbc:TaxExemptionReasonCode", code)
        if text:
            _add(cat, "cbc:TaxExemptionReason", text)
    _add(_add(cat, "cac:TaxScheme"), "cbc:ID", "VAT")


def _line(root: etree._Element, inv: Invoice, line: InvoiceLine, credit: bool) -> None:
    ccy = inv.currency
    el = _add(root, "cac:CreditNoteLine" if credit else "cac:InvoiceLine")
    _add(el, "cbc:ID", line.line_id)
    if line.references:
        shown = ", ".join(line.references[:_MAX_LINE_REFERENCES])
        more = len(line.references) - _MAX_LINE_REFERENCES
        _add(el, "cbc:Note", f"CDRs: {shown}" + (f" (+{more} more)" if more > 0 else ""))
    quantity, price = line.quantity, line.unit_price
    if price < 0:  # BR-27: the price is never negative; the quantity carries the sign
        quantity, price = -quantity, -price
    _add(el, "cbc:CreditedQuantity" if credit else "cbc:InvoicedQuantity",
         format(quantity, "f"), unitCode=line.unit)
    _add(el, "cbc:LineExtensionAmount", amount_text(line.net_amount, ccy), currencyID=ccy)
    item = _add(el, "cac:Item")
    _add(item, "cbc:Name", line.description)
    _tax_category(item, "cac:ClassifiedTaxCategory", TAX_CATEGORY[line.tax_rule],
                  line.vat_rate)
    _add(_add(el, "cac:Price"), "cbc:PriceAmount", format(price, "f"), currencyID=ccy)


def invoice_ubl(inv: Invoice) -> bytes:
    """The invoice or credit note as Peppol BIS Billing 3.0 UBL 2.1 XML (UTF-8)."""
    credit = inv.kind == "CREDIT_NOTE"
    ccy = inv.currency
    ns = NS_CREDIT_NOTE if credit else NS_INVOICE
    root = etree.Element(f"{{{ns}}}{'CreditNote' if credit else 'Invoice'}",
                         nsmap={None: ns, "cac": NS_CAC, "cbc": NS_CBC})
    _add(root, "cbc:CustomizationID", CUSTOMIZATION_ID)
    _add(root, "cbc:ProfileID", PROFILE_ID)
    _add(root, "cbc:ID", inv.number)
    _add(root, "cbc:IssueDate", inv.issue_date.isoformat())
    if credit:
        _add(root, "cbc:CreditNoteTypeCode", "381")
    else:
        _add(root, "cbc:DueDate", inv.due_date.isoformat())
        _add(root, "cbc:InvoiceTypeCode", "380")
    if inv.note:
        _add(root, "cbc:Note", inv.note)
    _add(root, "cbc:DocumentCurrencyCode", ccy)
    _add(root, "cbc:BuyerReference", inv.buyer_reference or inv.number)
    period = _add(root, "cac:InvoicePeriod")
    _add(period, "cbc:StartDate", inv.period_start.isoformat())
    _add(period, "cbc:EndDate", inv.period_end.isoformat())
    if inv.credited_number:
        ref = _add(_add(root, "cac:BillingReference"), "cac:InvoiceDocumentReference")
        _add(ref, "cbc:ID", inv.credited_number)
        if inv.credited_issue_date:
            _add(ref, "cbc:IssueDate", inv.credited_issue_date.isoformat())
    out_of_scope = any(ln.tax_rule == "OUT_OF_SCOPE" for ln in inv.lines)
    _party(root, "cac:AccountingSupplierParty", inv.seller, with_vat=not out_of_scope)
    _party(root, "cac:AccountingCustomerParty", inv.buyer, with_vat=not out_of_scope)
    if inv.seller.iban:
        means = _add(root, "cac:PaymentMeans")
        _add(means, "cbc:PaymentMeansCode", "58", name="SEPA credit transfer")
        if credit:
            _add(means, "cbc:PaymentDueDate", inv.due_date.isoformat())
        _add(means, "cbc:PaymentID", inv.payment_reference or inv.number)
        account = _add(means, "cac:PayeeFinancialAccount")
        _add(account, "cbc:ID", inv.seller.iban)
        _add(account, "cbc:Name", inv.seller.name)
        if inv.seller.bic:
            _add(_add(account, "cac:FinancialInstitutionBranch"), "cbc:ID", inv.seller.bic)
    tax_total = _add(root, "cac:TaxTotal")
    _add(tax_total, "cbc:TaxAmount", amount_text(inv.total_vat, ccy), currencyID=ccy)
    for b in inv.vat_breakdown:
        sub = _add(tax_total, "cac:TaxSubtotal")
        _add(sub, "cbc:TaxableAmount", amount_text(b.taxable_amount, ccy), currencyID=ccy)
        _add(sub, "cbc:TaxAmount", amount_text(b.vat_amount, ccy), currencyID=ccy)
        category = TAX_CATEGORY[b.tax_rule]
        reason = None
        if category in _DEFAULT_REASON:
            code, text = _DEFAULT_REASON[category]
            reason = (b.exemption_reason_code or code, b.exemption_reason or text)
        _tax_category(sub, "cac:TaxCategory", category, b.vat_rate, reason)
    totals = _add(root, "cac:LegalMonetaryTotal")
    line_total = sum((ln.net_amount for ln in inv.lines), Decimal(0))
    for tag, value in (("LineExtensionAmount", line_total),
                       ("TaxExclusiveAmount", inv.total_net),
                       ("TaxInclusiveAmount", inv.total_gross),
                       ("PayableAmount", inv.total_gross)):
        _add(totals, f"cbc:{tag}", amount_text(value, ccy), currencyID=ccy)
    for line in inv.lines:
        _line(root, inv, line, credit)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8",
                                pretty_print=True))


# --- validation -------------------------------------------------------------------------------


@cache
def _schema(kind: str) -> etree.XMLSchema:
    path = SCHEMA_DIR / "ubl-2.1" / "maindoc" / f"UBL-{kind}-2.1.xsd"
    return etree.XMLSchema(etree.parse(str(path)))


def _parse(xml: bytes) -> etree._Element:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    return etree.fromstring(xml, parser)


def validate_ubl(xml: bytes) -> list[str]:
    """[] when ``xml`` is a valid UBL 2.1 Invoice/CreditNote that passes our Peppol checks;
    otherwise one message per problem: the XSD errors ("XSD line N: ...") of a document that
    is not schema-valid, else the business rules it breaks ("[BR-CO-15] ...")."""
    try:
        root = _parse(xml)
    except etree.XMLSyntaxError as exc:
        return [f"not well-formed XML: {exc}"]
    kinds = {f"{{{NS_INVOICE}}}Invoice": "Invoice", f"{{{NS_CREDIT_NOTE}}}CreditNote": "CreditNote"}
    kind = kinds.get(root.tag)
    if kind is None:
        return [f"not a UBL 2.1 Invoice or CreditNote: root element {root.tag}"]
    schema = _schema(kind)
    if not schema.validate(root):
        return [f"XSD line {e.line}: {e.message}" for e in schema.error_log]
    return list(_rules(root, kind))


def _dec(el: etree._Element | None) -> Decimal | None:
    if el is None or el.text is None:
        return None
    try:
        return Decimal(el.text.strip())
    except InvalidOperation:
        return None


def _amount(root: etree._Element, path: str) -> Decimal:
    return _dec(root.find(path, _NS)) or Decimal(0)


def _round(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _category(el: etree._Element, path: str) -> tuple[str, Decimal | None]:
    cat = el.find(path, _NS)
    if cat is None:
        return "", None
    return cat.findtext("cbc:ID", "", _NS), _dec(cat.find("cbc:Percent", _NS))


def _rules(root: etree._Element, kind: str) -> Iterator[str]:
    """EN 16931 (BR-*) and Peppol (PEPPOL-EN16931-*) rules our documents can break."""
    if root.findtext("cbc:CustomizationID", "", _NS) != CUSTOMIZATION_ID:
        yield f"[PEPPOL-EN16931-R004] CustomizationID must be {CUSTOMIZATION_ID}"
    if root.findtext("cbc:ProfileID", "", _NS) != PROFILE_ID:
        yield f"[PEPPOL-EN16931-R001] ProfileID must be {PROFILE_ID}"
    if not root.findtext("cbc:BuyerReference", "", _NS) and root.find(
        "cac:OrderReference", _NS
    ) is None:
        yield "[PEPPOL-EN16931-R003] a buyer reference or an order reference must be given"
    for who, rule in (("AccountingSupplierParty", "R020"), ("AccountingCustomerParty", "R010")):
        ep = root.find(f"cac:{who}/cac:Party/cbc:EndpointID", _NS)
        if ep is None or not (ep.text or "").strip() or not ep.get("schemeID"):
            yield (f"[PEPPOL-EN16931-{rule}] {who}: electronic address (EndpointID with "
                   f"schemeID) must be given")
    if kind == "CreditNote" and root.find("cac:BillingReference", _NS) is None:
        yield "[HUB-CN-01] a credit note must name the invoice it credits (BillingReference)"
    currency = root.findtext("cbc:DocumentCurrencyCode", "", _NS)
    for el in root.iter():
        ccy = el.get("currencyID")
        if ccy is None:
            continue
        name = etree.QName(el).localname
        if ccy != currency:
            yield f"[PEPPOL-EN16931-R051] {name} is in {ccy}, the document in {currency}"
        value = _dec(el)
        if name not in ("PriceAmount", "BaseAmount") and value is not None and (
            value != value.quantize(Decimal("0.01"))
        ):
            yield f"[BR-DEC] {name} {el.text} has more than 2 decimals"
    yield from _total_rules(root, kind)
    yield from _vat_rules(root, kind)


def _total_rules(root: etree._Element, kind: str) -> Iterator[str]:
    line_tag = "cac:CreditNoteLine" if kind == "CreditNote" else "cac:InvoiceLine"
    qty_tag = "cbc:CreditedQuantity" if kind == "CreditNote" else "cbc:InvoicedQuantity"
    lines = root.findall(line_tag, _NS)
    line_sum = Decimal(0)
    for line in lines:
        net = _amount(line, "cbc:LineExtensionAmount")
        line_sum += net
        qty = _dec(line.find(qty_tag, _NS))
        price = _dec(line.find("cac:Price/cbc:PriceAmount", _NS))
        base = _dec(line.find("cac:Price/cbc:BaseQuantity", _NS)) or Decimal(1)
        if price is not None and price < 0:
            yield (f"[BR-27] line {line.findtext('cbc:ID', '', _NS)}: the item net price "
                   f"{price} must not be negative (use a negative quantity or a credit note)")
        if qty is not None and price is not None and _round(qty * price / base) != net:
            yield (f"[PEPPOL-EN16931-R120] line {line.findtext('cbc:ID', '', _NS)}: net amount "
                   f"{net} != quantity {qty} x price {price} = {_round(qty * price / base)}")
    mt = "cac:LegalMonetaryTotal/cbc:"
    lext = _amount(root, mt + "LineExtensionAmount")
    texcl = _amount(root, mt + "TaxExclusiveAmount")
    tincl = _amount(root, mt + "TaxInclusiveAmount")
    payable = _amount(root, mt + "PayableAmount")
    allowances = _amount(root, mt + "AllowanceTotalAmount")
    charges = _amount(root, mt + "ChargeTotalAmount")
    prepaid = _amount(root, mt + "PrepaidAmount")
    rounding = _amount(root, mt + "PayableRoundingAmount")
    vat_total = _amount(root, "cac:TaxTotal/cbc:TaxAmount")
    if line_sum != lext:
        yield f"[BR-CO-10] sum of line net amounts {line_sum} != line extension amount {lext}"
    if lext - allowances + charges != texcl:
        yield (f"[BR-CO-13] total without VAT {texcl} != lines {lext} - allowances "
               f"{allowances} + charges {charges}")
    subtotal_vat = sum((_amount(s, "cbc:TaxAmount")
                        for s in root.findall("cac:TaxTotal/cac:TaxSubtotal", _NS)), Decimal(0))
    if subtotal_vat != vat_total:
        yield f"[BR-CO-14] VAT total {vat_total} != sum of the VAT breakdown {subtotal_vat}"
    if texcl + vat_total != tincl:
        yield (f"[BR-CO-15] total with VAT {tincl} != total without VAT {texcl} + VAT "
               f"{vat_total}")
    if tincl - prepaid + rounding != payable:
        yield (f"[BR-CO-16] amount due {payable} != total with VAT {tincl} - prepaid "
               f"{prepaid} + rounding {rounding}")


def _vat_rules(root: etree._Element, kind: str) -> Iterator[str]:
    line_tag = "cac:CreditNoteLine" if kind == "CreditNote" else "cac:InvoiceLine"
    by_category: dict[tuple[str, Decimal | None], Decimal] = defaultdict(Decimal)
    categories: set[str] = set()
    for line in root.findall(line_tag, _NS):
        cat, rate = _category(line, "cac:Item/cac:ClassifiedTaxCategory")
        line_id = line.findtext("cbc:ID", "", _NS)
        categories.add(cat)
        if cat in ("AE", "E") and rate != 0:
            yield f"[BR-{cat}-05] line {line_id}: VAT rate of category {cat} must be 0"
        if cat == "O" and rate is not None:
            yield f"[BR-O-05] line {line_id}: category O must not carry a VAT rate"
        by_category[(cat, rate if cat == "S" else None)] += _amount(line, "cbc:LineExtensionAmount")
    seller_vat = root.findtext(
        "cac:AccountingSupplierParty/cac:Party/cac:PartyTaxScheme/cbc:CompanyID", "", _NS)
    buyer_vat = root.findtext(
        "cac:AccountingCustomerParty/cac:Party/cac:PartyTaxScheme/cbc:CompanyID", "", _NS)
    if "S" in categories and not seller_vat:
        yield "[BR-S-02] standard-rated lines need the seller's VAT identifier"
    if "AE" in categories and not (seller_vat and buyer_vat):
        yield "[BR-AE-02] reverse charge needs both the seller's and the buyer's VAT identifier"
    if "E" in categories and not seller_vat:
        yield "[BR-E-02] exempt lines need the seller's VAT identifier"
    if "O" in categories and (seller_vat or buyer_vat):
        yield "[BR-O-02] a document with 'not subject to VAT' lines must carry no VAT identifier"
    seen: set[tuple[str, Decimal | None]] = set()
    for sub in root.findall("cac:TaxTotal/cac:TaxSubtotal", _NS):
        cat, rate = _category(sub, "cac:TaxCategory")
        key = (cat, rate if cat == "S" else None)
        seen.add(key)
        taxable, vat = _amount(sub, "cbc:TaxableAmount"), _amount(sub, "cbc:TaxAmount")
        expected = by_category.get(key, Decimal(0))
        if taxable != expected:
            yield (f"[BR-{cat}-08] VAT breakdown {cat} {number_text(rate)}: taxable amount "
                   f"{taxable} != sum of its lines {expected}")
        if cat == "S" and rate is not None and _round(taxable * rate / 100) != vat:
            yield (f"[BR-S-09] VAT breakdown S {number_text(rate)}: VAT {vat} != {taxable} x "
                   f"{number_text(rate)} % = {_round(taxable * rate / 100)}")
        if cat in ("AE", "E", "O", "Z") and vat != 0:
            yield f"[BR-{cat}-09] VAT breakdown {cat}: VAT amount must be 0, is {vat}"
        has_reason = sub.findtext("cac:TaxCategory/cbc:TaxExemptionReasonCode", "", _NS) or (
            sub.findtext("cac:TaxCategory/cbc:TaxExemptionReason", "", _NS))
        if cat in ("AE", "E", "O") and not has_reason:
            yield f"[BR-{cat}-10] VAT breakdown {cat}: an exemption reason (code or text) needed"
        if cat == "O" and len(root.findall("cac:TaxTotal/cac:TaxSubtotal", _NS)) > 1:
            yield "[BR-O-11] a 'not subject to VAT' breakdown excludes any other VAT breakdown"
    for cat, rate in by_category:
        if (cat, rate) not in seen:
            yield f"[BR-CO-18] lines of VAT category {cat} {number_text(rate)} lack a breakdown"
