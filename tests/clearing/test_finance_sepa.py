"""SEPA pain.001.001.03 out (XSD-valid, refuses what a bank would reject) and camt.053 in."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from lxml import etree

from clearing.finance.sepa import (
    bic_is_valid,
    iban_is_valid,
    pain001,
    parse_camt053,
    sepa_text,
    validate_pain001,
)
from hub.domain import InvalidInput
from tests.clearing.test_finance_samples import OWNER_FI, payment_batch

D = Decimal
DATA = Path(__file__).parent / "data" / "finance"
PAIN = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.001.001.03"}


def test_pain001_is_valid_and_has_totals_and_transliterated_names():
    """CtrlSum 373.05 + 12.50 + 1000.00 = 1385.55 over 3 transactions."""
    xml = pain001(payment_batch())
    assert validate_pain001(xml) == []
    root = etree.fromstring(xml)
    assert root.findtext("p:CstmrCdtTrfInitn/p:GrpHdr/p:NbOfTxs", namespaces=PAIN) == "3"
    assert root.findtext("p:CstmrCdtTrfInitn/p:GrpHdr/p:CtrlSum", namespaces=PAIN) == "1385.55"
    info = root.find("p:CstmrCdtTrfInitn/p:PmtInf", PAIN)
    assert info.findtext("p:PmtTpInf/p:SvcLvl/p:Cd", namespaces=PAIN) == "SEPA"
    assert info.findtext("p:ReqdExctnDt", namespaces=PAIN) == "2026-11-06"
    assert info.findtext("p:Dbtr/p:Nm", namespaces=PAIN) == "Latvijas Uzlades Tikls SIA"
    txs = info.findall("p:CdtTrfTxInf", PAIN)
    assert [t.findtext("p:Cdtr/p:Nm", namespaces=PAIN) for t in txs] == [
        "Assa Lataus Oy", "Orsta Ladestasjon AS", "AEro Energi ApS"]
    assert txs[1].find("p:Amt/p:InstdAmt", PAIN).text == "12.50"
    assert txs[2].findtext("p:RmtInf/p:Ustrd", namespaces=PAIN) == "Okt 2026 AEro + Co"
    assert txs[2].find("p:CdtrAgt", PAIN) is None  # IBAN-only creditor
    assert txs[0].findtext("p:PmtId/p:EndToEndId", namespaces=PAIN) == "PAY-2026-10-FI-ASSA"


def test_iban_bic_and_text_checks():
    assert iban_is_valid("LV80BANK0000435195001")
    assert iban_is_valid("lv80 bank 0000 4351 9500 1")
    assert not iban_is_valid("LV81BANK0000435195001")  # check digits
    assert not iban_is_valid("LV80BANK000043519500")  # Latvian IBANs have 21 characters
    assert bic_is_valid("HABALV22") and bic_is_valid("NDEAFIHHXXX")
    assert not bic_is_valid("HABALV2") and not bic_is_valid("habalv22")
    assert sepa_text("Žūrmala šķērsiela \u2013 Ærø", what="x") == "Zurmala skersiela - AEro"
    with pytest.raises(InvalidInput, match="SEPA character set"):
        sepa_text("Оплата €5", what="remittance")


@pytest.mark.parametrize(("change", "message"), [
    ({"amount": D("0")}, "must be > 0"),
    ({"amount": D("1.005")}, "more than 2 decimals"),
    ({"currency": "SEK"}, "are in EUR"),
    ({"end_to_end_id": "X" * 36}, "1 to 35 characters"),
    ({"end_to_end_id": "A//B"}, "'//'"),
    ({"remittance_info": "R" * 141}, "SEPA allows 140"),
    ({"remittance_info": "Rēķins 5 €"}, "SEPA character set"),
    ({"creditor": replace(OWNER_FI, iban="FI2112345600000786")}, "IBAN FI2112345600000786"),
    ({"creditor": replace(OWNER_FI, iban=None)}, "no IBAN"),
    ({"creditor": replace(OWNER_FI, bic="NDEA")}, "BIC NDEA"),
    ({"creditor": replace(OWNER_FI, name=" ")}, "creditor: no name"),
])
def test_pain001_refuses_what_a_bank_would_reject(change, message):
    batch = payment_batch()
    bad = replace(batch, payouts=(replace(batch.payouts[0], **change), *batch.payouts[1:]))
    with pytest.raises(InvalidInput, match=message):
        pain001(bad)


def test_pain001_batch_level_checks():
    batch = payment_batch()
    with pytest.raises(InvalidInput, match="appears twice"):
        pain001(replace(batch, payouts=(batch.payouts[0], batch.payouts[0])))
    with pytest.raises(InvalidInput, match="no payouts"):
        pain001(replace(batch, payouts=()))
    with pytest.raises(InvalidInput, match="message id"):
        pain001(replace(batch, message_id="Ziņojums 1"))
    no_text = pain001(replace(batch, payouts=(replace(batch.payouts[0], remittance_info=""),)))
    assert b"RmtInf" not in no_text and validate_pain001(no_text) == []
    no_bic = pain001(replace(batch, debtor=replace(batch.debtor, bic=None)))
    assert b"<Id>NOTPROVIDED</Id>" in no_bic and validate_pain001(no_bic) == []


def test_validate_pain001_reports_schema_errors():
    root = etree.fromstring(pain001(payment_batch()))
    root.find(".//p:ChrgBr", PAIN).text = "SHAR-ED"
    errors = validate_pain001(etree.tostring(root))
    assert errors and "ChrgBr" in errors[0]
    assert validate_pain001(b"not xml")[0].startswith("not well-formed XML")


@pytest.mark.parametrize("name", ["camt053_001_02_lv.xml", "camt053_001_08_fi.xml"])
def test_sample_statements_are_schema_valid(name):
    version = name.split("_")[2]
    schema = etree.XMLSchema(etree.parse(str(DATA / "xsd" / f"camt.053.001.{version}.xsd")))
    assert schema.validate(etree.parse(str(DATA / name))), schema.error_log


def test_camt053_v02_parses_every_booked_entry_with_all_fields():
    """5 booked entries -> 6 lines (the payout batch entry has 3 transactions); the pending
    entry is skipped. Balance check: 5000.00 + 80.00 + 70.43 - 1385.55 - 0.35 = 3764.53."""
    lines = parse_camt053((DATA / "camt053_001_02_lv.xml").read_bytes())
    assert len(lines) == 6
    received = lines[0]
    assert received.entry_reference == "2026111700001"
    assert (received.booking_date, received.value_date) == (date(2026, 11, 17),
                                                            date(2026, 11, 17))
    assert (received.amount, received.currency, received.credit) == (D("80.00"), "EUR", True)
    assert received.counterparty_name == "Õunapuu Laadimine OÜ"
    assert received.counterparty_iban == "EE382200221020145685"
    assert received.remittance_info == "Arve LUT-2026-000124"
    assert received.end_to_end_id == "OUNA-2026-11-17-1"
    assert received.account_iban == "LV80BANK0000435195001"
    assert received.extra["bank_transaction_code"] == "PMNT/RCDT/ESCT"
    assert received.extra["account_servicer_ref"] == "RO1117A8F3K2"
    structured = lines[1]
    assert structured.remittance_info == "RF71LUT2026000123"
    assert structured.extra["creditor_reference"] == "RF71LUT2026000123"
    assert structured.end_to_end_id is None  # NOTPROVIDED
    batch = lines[2:5]
    assert [b.entry_reference for b in batch] == [f"2026111700003/{i}" for i in (1, 2, 3)]
    assert [b.amount for b in batch] == [D("373.05"), D("12.50"), D("1000.00")]
    assert all(not b.credit for b in batch)
    assert [b.end_to_end_id for b in batch] == [p.end_to_end_id
                                                for p in payment_batch().payouts]
    assert batch[0].counterparty_iban == "FI2112345600000785"
    fee = lines[5]
    assert (fee.amount, fee.credit, fee.counterparty_name) == (D("0.35"), False, None)
    assert fee.remittance_info == "Komisija par maksājumu"
    net = sum((ln.amount if ln.credit else -ln.amount for ln in lines), D(0))
    assert D("5000.00") + net == D("3764.53")


def test_camt053_v08_reads_nested_party_names_and_datetimes():
    lines = parse_camt053((DATA / "camt053_001_08_fi.xml").read_bytes())
    assert [ln.counterparty_name for ln in lines] == ["Sähköauto Kauppa Oy",
                                                      "Ørsta Ladestasjon AS"]
    assert lines[0].booking_date == date(2026, 11, 18)
    assert lines[0].remittance_info == "Lasku LUT-2026-000125"
    assert lines[1].extra["reversal"] == "true"
    assert lines[1].extra["bank_transaction_code"] == "PMNT/ICDT/RRTN"


def test_camt053_bad_input_gives_clear_errors():
    with pytest.raises(InvalidInput, match=r"not a camt\.053 bank statement"):
        parse_camt053((DATA / "not_camt_pain001.xml").read_bytes())
    with pytest.raises(InvalidInput, match="not well-formed XML"):
        parse_camt053((DATA / "camt053_truncated.xml").read_bytes())
    with pytest.raises(InvalidInput, match="not well-formed XML"):
        parse_camt053(b"IBAN;Amount\nLV80BANK0000435195001;10.00\n")
    good = (DATA / "camt053_001_02_lv.xml").read_bytes()
    with pytest.raises(InvalidInput, match=r"entry 1: amount '8O\.00' is not a number"):
        parse_camt053(good.replace(b">80.00<", b">8O.00<", 1))
    with pytest.raises(InvalidInput, match="entry 1: credit/debit indicator"):
        parse_camt053(good.replace(b"<CdtDbtInd>CRDT</CdtDbtInd>\n        <Sts>BOOK",
                                   b"<CdtDbtInd>CRED</CdtDbtInd>\n        <Sts>BOOK", 1))
    with pytest.raises(InvalidInput, match="no statement"):
        parse_camt053(b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">'
                      b"<BkToCstmrStmt/></Document>")


def test_camt053_refuses_entities():
    evil = (b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">'
            b"<BkToCstmrStmt><Stmt><Id>&x;</Id></Stmt></BkToCstmrStmt></Document>")
    lines = parse_camt053(evil)  # parses, but the entity is never resolved
    assert lines == []
