"""SEPA credit transfers out (pain.001.001.03) and bank statements in (camt.053), issue 6 item 7.

pain.001.001.03 is the version of the EPC SEPA Credit Transfer implementation guidelines
(EPC132-08) that every SEPA bank accepts. ``pain001`` writes one payment information block
(one debtor account, one execution date, service level SEPA, charges SLEV) with one
transaction per payout, refuses what a bank would reject, and validates the result against the
ISO 20022 XSD (vendored: schemas/iso20022/pain.001.001.03.xsd).

Checks before writing (InvalidInput with the payout's id when one fails):
- currency EUR; amount > 0, at most 2 decimals, at most 999,999,999.99 (EPC AT-04);
- IBAN: ISO 13616 format, the country's length where we know it, mod-97 check digits;
  BIC: ISO 9362 (8 or 11 characters); a creditor without BIC is fine (IBAN-only SEPA);
- message id and end-to-end ids: 1-35 characters of the SEPA Latin set, not starting or
  ending with '/', no '//', end-to-end ids unique in the batch;
- names and remittance text: transliterated to the SEPA Latin character set (ā -> a,
  ø -> o, æ -> ae, ß -> ss, & -> +); a character that has no transliteration is refused;
  names are cut to 70 characters (EPC), remittance text over 140 characters is refused.

``parse_camt053`` reads camt.053.001.02 to .08 (the entry structure is the same in the parts
we read): one ``BankLine`` per booked entry, or per transaction of a batch-booked entry.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import cache

from lxml import etree  # type: ignore[import-untyped, unused-ignore]

from clearing.finance._common import SCHEMA_DIR
from clearing.finance.documents import BankLine, LegalParty, PaymentBatch, Payout
from hub.domain import InvalidInput

NS_PAIN = "urn:iso:std:iso:20022:tech:xsd:pain.001.001.03"
_CAMT_NS = re.compile(r"^urn:iso:std:iso:20022:tech:xsd:camt\.053\.001\.(0[2-8])$")

# IBAN lengths (ISO 13616 registry) of the countries we pay into; others: format + mod-97.
IBAN_LENGTHS = {"LV": 21, "EE": 20, "LT": 20, "FI": 18, "SE": 24, "NO": 15, "DK": 18,
                "PL": 28, "DE": 22, "NL": 18, "BE": 16, "FR": 27, "AT": 20, "IE": 22}
_IBAN = re.compile(r"^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$")
_BIC = re.compile(r"^[A-Z]{4}[A-Z]{2}[A-Z0-9]{2}([A-Z0-9]{3})?$")
# EPC SEPA Latin character set (EPC217-08): a-z A-Z 0-9 / - ? : ( ) . , ' + space
_SEPA_TEXT = re.compile(r"^[A-Za-z0-9/\-?:().,'+ ]*$")
_EXTRA = {"ø": "o", "Ø": "O", "æ": "ae", "Æ": "AE", "ß": "ss", "ł": "l", "Ł": "L",
          "đ": "d", "Đ": "D", "þ": "th", "Þ": "TH", "œ": "oe", "Œ": "OE", "&": "+",
          "\u2013": "-", "\u2014": "-", "\u2018": "'", "\u2019": "'", "_": "-", "\u00a0": " "}
MAX_AMOUNT = Decimal("999999999.99")


# --- checks -----------------------------------------------------------------------------------


def iban_is_valid(iban: str) -> bool:
    """ISO 13616: format, the country's length (where known) and mod-97 == 1."""
    iban = iban.replace(" ", "").upper()
    if not _IBAN.match(iban) or len(iban) != IBAN_LENGTHS.get(iban[:2], len(iban)):
        return False
    digits = "".join(str(int(c, 36)) for c in iban[4:] + iban[:4])
    return int(digits) % 97 == 1


def bic_is_valid(bic: str) -> bool:
    return bool(_BIC.match(bic))


def sepa_text(text: str, *, what: str, limit: int | None = None,
              truncate: bool = False) -> str:
    """``text`` in the SEPA Latin character set, transliterated; InvalidInput if impossible."""
    out = "".join(_EXTRA.get(c, c) for c in text)
    out = unicodedata.normalize("NFKD", out)
    out = "".join(c for c in out if not unicodedata.combining(c))
    out = " ".join(out.split())
    bad = sorted({c for c in out if not _SEPA_TEXT.match(c)})
    if bad:
        raise InvalidInput(f"{what}: characters outside the SEPA character set: "
                           f"{' '.join(repr(c) for c in bad)} in {text!r}")
    if limit is not None and len(out) > limit:
        if not truncate:
            raise InvalidInput(f"{what}: {len(out)} characters, SEPA allows {limit}: {text!r}")
        out = out[:limit].rstrip()
    return out


def _check_id(value: str, what: str) -> str:
    if not 1 <= len(value) <= 35:
        raise InvalidInput(f"{what} {value!r}: must be 1 to 35 characters")
    if not _SEPA_TEXT.match(value) or " " in value:
        raise InvalidInput(f"{what} {value!r}: only letters, digits and / - ? : ( ) . , ' +")
    if value.startswith("/") or value.endswith("/") or "//" in value:
        raise InvalidInput(f"{what} {value!r}: must not start or end with '/' or contain '//'")
    return value


def _check_account(party: LegalParty, what: str, *, bic_required: bool) -> tuple[str, str | None]:
    iban = (party.iban or "").replace(" ", "").upper()
    if not iban:
        raise InvalidInput(f"{what} {party.name}: no IBAN")
    if not iban_is_valid(iban):
        raise InvalidInput(f"{what} {party.name}: IBAN {iban} is not valid (format, length or "
                           f"check digits)")
    bic = (party.bic or "").replace(" ", "").upper() or None
    if bic is not None and not bic_is_valid(bic):
        raise InvalidInput(f"{what} {party.name}: BIC {bic} is not valid (8 or 11 characters)")
    if bic is None and bic_required:
        raise InvalidInput(f"{what} {party.name}: no BIC")
    return iban, bic


def _name(party: LegalParty, what: str) -> str:
    name = sepa_text(party.name, what=f"{what} name", limit=70, truncate=True)
    if not name:
        raise InvalidInput(f"{what}: no name")
    return name


def _check_payout(p: Payout) -> None:
    if p.currency != "EUR":
        raise InvalidInput(f"payout {p.end_to_end_id}: SEPA credit transfers are in EUR, "
                           f"not {p.currency}")
    if p.amount <= 0 or p.amount > MAX_AMOUNT:
        raise InvalidInput(f"payout {p.end_to_end_id}: amount {p.amount} must be > 0 and "
                           f"<= {MAX_AMOUNT}")
    if p.amount != p.amount.quantize(Decimal("0.01")):
        raise InvalidInput(f"payout {p.end_to_end_id}: amount {p.amount} has more than 2 "
                           f"decimals")


# --- pain.001 ---------------------------------------------------------------------------------


def _el(parent: etree._Element, path: str, text: str | None = None, **attrs: str) -> etree._Element:
    """Append the '/'-separated element path under ``parent``; text and attrs on the last."""
    el = parent
    for name in path.split("/"):
        el = etree.SubElement(el, f"{{{NS_PAIN}}}{name}")
    for key, value in attrs.items():
        el.set(key, value)
    if text is not None:
        el.text = text
    return el


def pain001(batch: PaymentBatch) -> bytes:
    """The batch as a pain.001.001.03 SEPA credit transfer initiation, XSD-validated."""
    if not batch.payouts:
        raise InvalidInput(f"payment batch {batch.message_id}: no payouts")
    msg_id = _check_id(batch.message_id, "message id")
    debtor_iban, debtor_bic = _check_account(batch.debtor, "debtor", bic_required=False)
    seen: set[str] = set()
    for p in batch.payouts:
        _check_id(p.end_to_end_id, "end-to-end id")
        if p.end_to_end_id in seen:
            raise InvalidInput(f"end-to-end id {p.end_to_end_id} appears twice in the batch")
        seen.add(p.end_to_end_id)
        _check_payout(p)
    total = sum((p.amount for p in batch.payouts), Decimal(0))
    count = str(len(batch.payouts))
    debtor_name = _name(batch.debtor, "debtor")

    doc = etree.Element(f"{{{NS_PAIN}}}Document", nsmap={None: NS_PAIN})
    root = _el(doc, "CstmrCdtTrfInitn")
    hdr = _el(root, "GrpHdr")
    _el(hdr, "MsgId", msg_id)
    _el(hdr, "CreDtTm", batch.created_at.replace(microsecond=0).isoformat())
    _el(hdr, "NbOfTxs", count)
    _el(hdr, "CtrlSum", f"{total:.2f}")
    _el(hdr, "InitgPty/Nm", debtor_name)
    info = _el(root, "PmtInf")
    _el(info, "PmtInfId", msg_id)
    _el(info, "PmtMtd", "TRF")
    _el(info, "BtchBookg", "false")  # one bank line per payout: camt.053 matching stays exact
    _el(info, "NbOfTxs", count)
    _el(info, "CtrlSum", f"{total:.2f}")
    _el(info, "PmtTpInf/SvcLvl/Cd", "SEPA")
    _el(info, "ReqdExctnDt", batch.execution_date.isoformat())
    _el(info, "Dbtr/Nm", debtor_name)
    _el(info, "DbtrAcct/Id/IBAN", debtor_iban)
    if debtor_bic:
        _el(info, "DbtrAgt/FinInstnId/BIC", debtor_bic)
    else:  # EPC: "NOTPROVIDED" when the debtor's BIC is not given
        _el(info, "DbtrAgt/FinInstnId/Othr/Id", "NOTPROVIDED")
    _el(info, "ChrgBr", "SLEV")
    for p in batch.payouts:
        iban, bic = _check_account(p.creditor, f"payout {p.end_to_end_id}: creditor",
                                   bic_required=False)
        tx = _el(info, "CdtTrfTxInf")
        _el(tx, "PmtId/EndToEndId", p.end_to_end_id)
        _el(tx, "Amt/InstdAmt", f"{p.amount:.2f}", Ccy="EUR")
        if bic:
            _el(tx, "CdtrAgt/FinInstnId/BIC", bic)
        _el(tx, "Cdtr/Nm", _name(p.creditor, f"payout {p.end_to_end_id}: creditor"))
        _el(tx, "CdtrAcct/Id/IBAN", iban)
        remittance = sepa_text(p.remittance_info, what=f"payout {p.end_to_end_id}: "
                               "remittance information", limit=140)
        if remittance:
            _el(tx, "RmtInf/Ustrd", remittance)
    xml = bytes(etree.tostring(doc, xml_declaration=True, encoding="UTF-8", pretty_print=True))
    errors = validate_pain001(xml)
    if errors:  # a bug of ours, not of the input: the checks above should have caught it
        raise InvalidInput(f"pain.001 for {batch.message_id} fails its XSD: {errors[0]}")
    return xml


@cache
def _pain_schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(SCHEMA_DIR / "iso20022" / "pain.001.001.03.xsd")))


def _parse(data: bytes) -> etree._Element:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    return etree.fromstring(data, parser)


def validate_pain001(xml: bytes) -> list[str]:
    """[] when ``xml`` is valid against the pain.001.001.03 XSD; else readable errors."""
    try:
        root = _parse(xml)
    except etree.XMLSyntaxError as exc:
        return [f"not well-formed XML: {exc}"]
    schema = _pain_schema()
    if not schema.validate(root):
        return [f"XSD line {e.line}: {e.message}" for e in schema.error_log]
    return []


# --- camt.053 ---------------------------------------------------------------------------------


def parse_camt053(data: bytes) -> list[BankLine]:
    """The booked entries of a camt.053.001.02-.08 bank statement (all its statements).

    Raises InvalidInput for anything else: not XML, another message (camt.052, pain.001...),
    an entry without amount, currency, credit/debit indicator or booking date.
    """
    try:
        root = _parse(data)
    except etree.XMLSyntaxError as exc:
        raise InvalidInput(f"bank statement is not well-formed XML: {exc}") from exc
    ns = etree.QName(root).namespace or ""
    if not _CAMT_NS.match(ns) or etree.QName(root).localname != "Document":
        raise InvalidInput(f"not a camt.053 bank statement (camt.053.001.02 to .08): root "
                           f"{root.tag}")
    n = {"c": ns}
    stmts = root.findall("c:BkToCstmrStmt/c:Stmt", n)
    if not stmts:
        raise InvalidInput("camt.053 has no statement (BkToCstmrStmt/Stmt)")
    lines: list[BankLine] = []
    for s_index, stmt in enumerate(stmts, start=1):
        stmt_id = stmt.findtext("c:Id", "", n) or f"statement {s_index}"
        account = stmt.findtext("c:Acct/c:Id/c:IBAN", None, n)
        for e_index, entry in enumerate(stmt.findall("c:Ntry", n), start=1):
            lines.extend(_entry_lines(entry, n, stmt_id, e_index, account))
    return lines


def _text(el: etree._Element | None, path: str, n: dict[str, str]) -> str | None:
    if el is None:
        return None
    value = el.findtext(path, None, n)
    return value.strip() if value and value.strip() else None


def _date(el: etree._Element, path: str, n: dict[str, str]) -> date | None:
    text = _text(el, f"{path}/c:Dt", n)
    if text:
        return date.fromisoformat(text[:10])
    text = _text(el, f"{path}/c:DtTm", n)
    return datetime.fromisoformat(text).date() if text else None


def _amount(el: etree._Element | None, n: dict[str, str], where: str) -> tuple[Decimal, str]:
    amt = el.find("c:Amt", n) if el is not None else None
    if amt is None or not (amt.text or "").strip() or not amt.get("Ccy"):
        raise InvalidInput(f"{where}: no amount with currency (Amt/@Ccy)")
    try:
        value = Decimal(amt.text.strip())
    except InvalidOperation as exc:
        raise InvalidInput(f"{where}: amount {amt.text!r} is not a number") from exc
    return value, amt.get("Ccy")


def _entry_lines(entry: etree._Element, n: dict[str, str], stmt_id: str, index: int,
                 account: str | None) -> Iterator[BankLine]:
    where = f"camt.053 {stmt_id}, entry {index}"
    status = _text(entry, "c:Sts/c:Cd", n) or _text(entry, "c:Sts", n)
    if status not in (None, "BOOK"):
        return  # pending/information entries are not money moved yet
    amount, currency = _amount(entry, n, where)
    indicator = _text(entry, "c:CdtDbtInd", n)
    if indicator not in ("CRDT", "DBIT"):
        raise InvalidInput(f"{where}: credit/debit indicator {indicator!r} is not CRDT or DBIT")
    try:
        booking = _date(entry, "c:BookgDt", n)
        value_date = _date(entry, "c:ValDt", n)
    except ValueError as exc:
        raise InvalidInput(f"{where}: bad date: {exc}") from exc
    if booking is None:
        raise InvalidInput(f"{where}: no booking date (BookgDt)")
    credit = indicator == "CRDT"
    reference = (_text(entry, "c:NtryRef", n) or _text(entry, "c:AcctSvcrRef", n)
                 or f"{stmt_id}/{index}")
    extra = {"statement_id": stmt_id}
    for key, path in (("status", None), ("account_servicer_ref", "c:AcctSvcrRef"),
                      ("reversal", "c:RvslInd"), ("additional_info", "c:AddtlNtryInf")):
        value = status if path is None else _text(entry, path, n)
        if value:
            extra[key] = value
    # ISO bank transaction code Domain/Family/SubFamily, e.g. PMNT/RCDT/ESCT, or proprietary
    codes = [_text(entry, f"c:BkTxCd/c:Domn/{p}", n)
             for p in ("c:Cd", "c:Fmly/c:Cd", "c:Fmly/c:SubFmlyCd")]
    bank_code = "/".join(c for c in codes if c) or _text(entry, "c:BkTxCd/c:Prtry/c:Cd", n)
    if bank_code:
        extra["bank_transaction_code"] = bank_code
    txs = entry.findall("c:NtryDtls/c:TxDtls", n)
    for t_index, tx in enumerate(txs or [None], start=1):
        tx_amount, tx_ccy = amount, currency
        if tx is not None and len(txs) > 1:
            detail = tx.find("c:AmtDtls/c:TxAmt", n)
            tx_amount, tx_ccy = _amount(detail if detail is not None else tx, n,
                                        f"{where}, transaction {t_index}")
        party = "Dbtr" if credit else "Cdtr"
        # .02 has RltdPties/Dbtr/Nm, .08 RltdPties/Dbtr/Pty/Nm
        name = _text(tx, f"c:RltdPties/c:{party}/c:Nm", n) or _text(
            tx, f"c:RltdPties/c:{party}/c:Pty/c:Nm", n)
        iban = _text(tx, f"c:RltdPties/c:{party}Acct/c:Id/c:IBAN", n)
        ustrd = [u.text.strip() for u in (tx.findall("c:RmtInf/c:Ustrd", n) if tx is not None
                                          else []) if u.text and u.text.strip()]
        structured = _text(tx, "c:RmtInf/c:Strd/c:CdtrRefInf/c:Ref", n)
        remittance = " ".join([*ustrd, *([structured] if structured else [])]) or (
            extra.get("additional_info") if tx is None else None)
        tx_extra = dict(extra)
        if structured:
            tx_extra["creditor_reference"] = structured
        end_to_end = _text(tx, "c:Refs/c:EndToEndId", n)
        yield BankLine(
            entry_reference=reference if len(txs) <= 1 else f"{reference}/{t_index}",
            booking_date=booking, value_date=value_date, amount=abs(tx_amount),
            currency=tx_ccy, credit=credit, counterparty_name=name, counterparty_iban=iban,
            remittance_info=remittance,
            end_to_end_id=None if end_to_end == "NOTPROVIDED" else end_to_end,
            account_iban=account, extra=tx_extra,
        )
