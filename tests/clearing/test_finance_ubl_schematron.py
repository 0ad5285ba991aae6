"""Our UBL documents against the official CEN EN 16931 Schematron (UBL binding, 1.3.15).

The rules are XPath 2.0 (queryBinding xslt2), so they need Saxon: the test runs when the
``saxonche`` package is installed and is skipped otherwise. The runner below evaluates each
rule's context and each assert with Saxon's XPath processor, with Schematron's semantics that
within one pattern a node is handled by the first rule whose context matches it. The
Schematron file has no <let>, <function> or abstract patterns, so that is all it needs.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest
from lxml import etree

from clearing.finance.documents import VatBreakdown
from clearing.finance.ubl import invoice_ubl
from tests.clearing.test_finance_samples import (
    credit_note,
    invoice_domestic,
    invoice_reverse_charge,
)

saxonche = pytest.importorskip("saxonche", reason="Saxon-HE runs the XPath 2.0 Schematron")

SCH = Path(__file__).parent / "data" / "finance" / "schematron" / "CEN-EN16931-UBL.sch"
S = "http://purl.oclc.org/dsdl/schematron"


def _select(context: str) -> str:
    """A rule context (an XSLT pattern) as an expression selecting the nodes it matches."""
    parts, depth, current = [], 0, ""
    for c in context:
        if c in "([":
            depth += 1
        elif c in ")]":
            depth -= 1
        if c == "|" and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += c
    parts.append(current)
    return " | ".join(p.strip() if p.strip().startswith("/") else "//" + p.strip()
                      for p in parts)


def _failed_asserts(xml: bytes) -> list[str]:
    sch = etree.parse(str(SCH))
    fails: list[str] = []
    with saxonche.PySaxonProcessor(license=False) as proc:
        text = xml.decode("utf-8")
        if text.startswith("<?xml"):  # Saxon reads a str: drop the encoding declaration
            text = text.split("?>", 1)[1]
        doc = proc.parse_xml(xml_text=text)
        xp = proc.new_xpath_processor()
        for ns in sch.iter(f"{{{S}}}ns"):
            xp.declare_namespace(ns.get("prefix"), ns.get("uri"))
        for pattern in sch.iter(f"{{{S}}}pattern"):
            handled: set[str] = set()
            for rule in pattern.iter(f"{{{S}}}rule"):
                xp.set_context(xdm_item=doc)
                nodes = xp.evaluate(_select(rule.get("context")))
                for i in range(nodes.size if nodes is not None else 0):
                    xp.set_context(xdm_item=nodes.item_at(i))
                    where = str(xp.evaluate_single("path(.)"))
                    if where in handled:
                        continue
                    handled.add(where)
                    fails += [f"{a.get('id')}: {(a.text or '').strip()}"
                              for a in rule.iter(f"{{{S}}}assert")
                              if not xp.effective_boolean_value(a.get("test"))]
    return fails


def _out_of_scope():
    inv = invoice_reverse_charge()
    line = replace(inv.lines[0], tax_rule="OUT_OF_SCOPE")
    return replace(inv, lines=(line,), vat_breakdown=(
        VatBreakdown("OUT_OF_SCOPE", Decimal("0"), Decimal("80.00"), Decimal("0.00")),))


def _exempt():
    inv = invoice_reverse_charge()
    line = replace(inv.lines[0], tax_rule="EXEMPT")
    return replace(inv, lines=(line,), vat_breakdown=(
        VatBreakdown("EXEMPT", Decimal("0"), Decimal("80.00"), Decimal("0.00"),
                     exemption_reason="Exempt under national law", exemption_reason_code=None),))


@pytest.mark.parametrize("make", [invoice_domestic, invoice_reverse_charge, credit_note,
                                  _out_of_scope, _exempt])
def test_documents_pass_the_cen_en16931_rules(make):
    assert _failed_asserts(invoice_ubl(make())) == []


def test_the_runner_catches_a_broken_total():
    broken = replace(invoice_domestic(), total_gross=Decimal("70.44"))
    fails = _failed_asserts(invoice_ubl(broken))
    assert [f.split(":")[0] for f in fails] == ["BR-CO-15"]
