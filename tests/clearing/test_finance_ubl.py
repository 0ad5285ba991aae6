"""Peppol BIS Billing 3.0 UBL: our documents validate against the UBL 2.1 XSD and the rules we
check; broken documents give the XSD or business-rule message."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from lxml import etree

from clearing.finance.documents import InvoiceLine, VatBreakdown
from clearing.finance.ubl import CUSTOMIZATION_ID, PROFILE_ID, invoice_ubl, validate_ubl
from tests.clearing.test_finance_samples import (
    EMSP_EE,
    HUB_LV,
    credit_note,
    invoice_domestic,
    invoice_reverse_charge,
)

D = Decimal
NS = {"cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
      "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"}


def _tree(xml: bytes) -> etree._Element:
    return etree.fromstring(xml)


def test_domestic_invoice_is_valid_and_carries_the_peppol_fields():
    xml = invoice_ubl(invoice_domestic())
    assert validate_ubl(xml) == []
    root = _tree(xml)
    assert etree.QName(root).localname == "Invoice"
    assert root.findtext("cbc:CustomizationID", namespaces=NS) == CUSTOMIZATION_ID
    assert root.findtext("cbc:ProfileID", namespaces=NS) == PROFILE_ID
    assert root.findtext("cbc:InvoiceTypeCode", namespaces=NS) == "380"
    assert root.findtext("cbc:DueDate", namespaces=NS) == "2026-11-17"
    assert root.findtext("cbc:BuyerReference", namespaces=NS) == "AGR-LV-7"
    seller = root.find("cac:AccountingSupplierParty/cac:Party", NS)
    endpoint = seller.find("cbc:EndpointID", NS)
    assert (endpoint.get("schemeID"), endpoint.text) == ("9939", "LV40003012345")
    assert seller.findtext("cac:PartyName/cbc:Name", namespaces=NS) == "Latvijas Uzlādes Tīkls SIA"
    sub = root.find("cac:TaxTotal/cac:TaxSubtotal", NS)
    assert sub.findtext("cac:TaxCategory/cbc:ID", namespaces=NS) == "S"
    assert sub.findtext("cac:TaxCategory/cbc:Percent", namespaces=NS) == "21"
    assert sub.findtext("cbc:TaxAmount", namespaces=NS) == "12.22"
    totals = root.find("cac:LegalMonetaryTotal", NS)
    assert [totals.findtext(f"cbc:{t}", namespaces=NS) for t in (
        "LineExtensionAmount", "TaxExclusiveAmount", "TaxInclusiveAmount", "PayableAmount")
    ] == ["58.21", "58.21", "70.43", "70.43"]
    line = root.find("cac:InvoiceLine", NS)
    assert line.find("cbc:InvoicedQuantity", NS).get("unitCode") == "KWH"
    assert line.findtext("cbc:Note", namespaces=NS) == "CDRs: CDR-1, CDR-2"
    means = root.find("cac:PaymentMeans", NS)
    assert means.findtext("cbc:PaymentMeansCode", namespaces=NS) == "58"
    assert means.findtext("cac:PayeeFinancialAccount/cbc:ID", namespaces=NS) == HUB_LV.iban


def test_reverse_charge_invoice_uses_category_ae_with_exemption_reason():
    xml = invoice_ubl(invoice_reverse_charge())
    assert validate_ubl(xml) == []
    cat = _tree(xml).find("cac:TaxTotal/cac:TaxSubtotal/cac:TaxCategory", NS)
    assert cat.findtext("cbc:ID", namespaces=NS) == "AE"
    assert cat.findtext("cbc:Percent", namespaces=NS) == "0"
    assert cat.findtext("cbc:TaxExemptionReasonCode", namespaces=NS) == "VATEX-EU-AE"
    assert cat.findtext("cbc:TaxExemptionReason", namespaces=NS) == "Reverse charge"
    buyer_ep = _tree(xml).find("cac:AccountingCustomerParty/cac:Party/cbc:EndpointID", NS)
    assert (buyer_ep.get("schemeID"), buyer_ep.text) == ("0191", "12345678")


def test_credit_note_is_a_ubl_credit_note_referencing_the_invoice():
    xml = invoice_ubl(credit_note())
    assert validate_ubl(xml) == []
    root = _tree(xml)
    assert etree.QName(root).localname == "CreditNote"
    assert root.findtext("cbc:CreditNoteTypeCode", namespaces=NS) == "381"
    ref = root.find("cac:BillingReference/cac:InvoiceDocumentReference", NS)
    assert ref.findtext("cbc:ID", namespaces=NS) == "LUT-2026-000124"
    assert ref.findtext("cbc:IssueDate", namespaces=NS) == "2026-11-03"
    assert root.find("cac:CreditNoteLine/cbc:CreditedQuantity", NS).text == "10.000"
    assert root.findtext("cac:PaymentMeans/cbc:PaymentDueDate", namespaces=NS) == "2026-11-20"


def test_out_of_scope_invoice_omits_vat_ids_and_rate():
    """A Norwegian customer (outside the EU VAT area): category O, no VAT identifiers."""
    inv = invoice_reverse_charge()
    line = replace(inv.lines[0], tax_rule="OUT_OF_SCOPE")
    inv = replace(inv, lines=(line,),
                  vat_breakdown=(VatBreakdown("OUT_OF_SCOPE", D("0"), D("80.00"), D("0.00")),))
    xml = invoice_ubl(inv)
    assert validate_ubl(xml) == []
    root = _tree(xml)
    assert root.find(".//cac:PartyTaxScheme", NS) is None
    assert root.find(".//cac:ClassifiedTaxCategory/cbc:Percent", NS) is None
    assert root.findtext(".//cac:TaxCategory/cbc:TaxExemptionReasonCode",
                         namespaces=NS) == "VATEX-EU-O"


def test_broken_totals_break_the_calculation_rules():
    inv = replace(invoice_domestic(), total_gross=D("70.44"))
    errors = validate_ubl(invoice_ubl(inv))
    assert any(e.startswith("[BR-CO-15]") and "70.44" in e for e in errors), errors
    inv = replace(invoice_domestic(), total_vat=D("12.23"), total_gross=D("70.44"))
    errors = validate_ubl(invoice_ubl(inv))
    assert any(e.startswith("[BR-CO-14]") for e in errors), errors


def test_vat_breakdown_must_match_its_lines():
    inv = invoice_domestic()
    bad = replace(inv, vat_breakdown=(VatBreakdown("DOMESTIC_VAT", D("21"), D("58.00"),
                                                   D("12.18")),),
                  total_net=D("58.00"), total_vat=D("12.18"), total_gross=D("70.18"))
    errors = validate_ubl(invoice_ubl(bad))
    assert any(e.startswith("[BR-S-08]") and "58.21" in e for e in errors), errors
    wrong_vat = replace(inv, vat_breakdown=(VatBreakdown("DOMESTIC_VAT", D("21"), D("58.21"),
                                                         D("12.30")),),
                        total_vat=D("12.30"), total_gross=D("70.51"))
    assert any(e.startswith("[BR-S-09]") for e in validate_ubl(invoice_ubl(wrong_vat)))


def test_reverse_charge_needs_both_vat_ids():
    inv = replace(invoice_reverse_charge(), buyer=replace(EMSP_EE, vat_id=None))
    errors = validate_ubl(invoice_ubl(inv))
    assert any(e.startswith("[BR-AE-02]") for e in errors), errors


def test_line_amount_must_equal_quantity_times_price():
    inv = invoice_domestic()
    line = InvoiceLine("1", "Charging", D("123.45"), "KWH", D("0.36"), D("43.21"),
                       "DOMESTIC_VAT", D("21"), D("9.07"), "LV")
    errors = validate_ubl(invoice_ubl(replace(inv, lines=(line, inv.lines[1]))))
    assert any(e.startswith("[PEPPOL-EN16931-R120]") and "44.44" in e for e in errors), errors


def test_missing_endpoint_and_credited_invoice_are_reported():
    cn = replace(credit_note(), credited_number=None,
                 buyer=replace(EMSP_EE, peppol_id=None, vat_id=None, country="US"),
                 vat_breakdown=(VatBreakdown("REVERSE_CHARGE", D("0"), D("3.20"), D("0.00")),))
    errors = validate_ubl(invoice_ubl(cn))
    assert any(e.startswith("[PEPPOL-EN16931-R010]") for e in errors), errors
    assert any(e.startswith("[HUB-CN-01]") for e in errors), errors


def test_schema_violations_are_reported_with_line_numbers():
    root = _tree(invoice_ubl(invoice_domestic()))
    root.remove(root.find("cac:LegalMonetaryTotal", NS))  # mandatory in UBL 2.1
    errors = validate_ubl(etree.tostring(root))
    assert errors and errors[0].startswith("XSD line ")
    assert "LegalMonetaryTotal" in errors[0] or "InvoiceLine" in errors[0]
    root = _tree(invoice_ubl(invoice_domestic()))
    issue = root.find("cbc:IssueDate", NS)
    issue.text = "03.11.2026"
    assert any("IssueDate" in e for e in validate_ubl(etree.tostring(root)))


def test_not_xml_and_not_an_invoice():
    assert validate_ubl(b"<Invoice>")[0].startswith("not well-formed XML")
    assert validate_ubl(b"<Order xmlns='urn:x'/>")[0].startswith("not a UBL 2.1 Invoice")


def test_negative_price_line_is_written_with_a_negative_quantity():
    """A correction line of -5.00 (1 x -5.00) becomes -1 x 5.00: BR-27 and R120 both hold."""
    inv = invoice_domestic()
    fix = InvoiceLine("3", "Correction", D("1"), "C62", D("-5.00"), D("-5.00"), "DOMESTIC_VAT",
                      D("21"), D("-1.05"), "LV")
    # 58.21 - 5.00 = 53.21; VAT 53.21 x 21 % = 11.1741 -> 11.17; gross 64.38
    inv = replace(inv, lines=(*inv.lines, fix),
                  vat_breakdown=(VatBreakdown("DOMESTIC_VAT", D("21"), D("53.21"), D("11.17")),),
                  total_net=D("53.21"), total_vat=D("11.17"), total_gross=D("64.38"))
    xml = invoice_ubl(inv)
    assert validate_ubl(xml) == []
    line = _tree(xml).findall("cac:InvoiceLine", NS)[2]
    assert line.findtext("cbc:InvoicedQuantity", namespaces=NS) == "-1"
    assert line.findtext("cac:Price/cbc:PriceAmount", namespaces=NS) == "5.00"
    root = _tree(xml)
    root.findall("cac:InvoiceLine", NS)[2].find("cac:Price/cbc:PriceAmount", NS).text = "-5.00"
    root.findall("cac:InvoiceLine", NS)[2].find("cbc:InvoicedQuantity", NS).text = "1"
    assert any(e.startswith("[BR-27]") for e in validate_ubl(etree.tostring(root)))


def test_exempt_invoice_carries_the_exemption_text():
    inv = invoice_reverse_charge()
    inv = replace(inv, lines=(replace(inv.lines[0], tax_rule="EXEMPT"),), vat_breakdown=(
        VatBreakdown("EXEMPT", D("0"), D("80.00"), D("0.00"),
                     exemption_reason="Exempt under national law"),))
    xml = invoice_ubl(inv)
    assert validate_ubl(xml) == []
    cat = _tree(xml).find("cac:TaxTotal/cac:TaxSubtotal/cac:TaxCategory", NS)
    assert cat.findtext("cbc:ID", namespaces=NS) == "E"
    assert cat.findtext("cbc:TaxExemptionReason", namespaces=NS) == "Exempt under national law"
    assert cat.find("cbc:TaxExemptionReasonCode", NS) is None
