"""The OCPI 2.2.1 tariff engine: exact (Decimal), explainable, pure (no database, no clock).

    tariff = parse_tariff(json_object)              # validates, names the bad field
    compiled = compile_tariff(tariff, "Europe/Riga")  # once per tariff and time zone
    usage = build_usage(compiled, start, end, kwh)  # our sessions; parse_usage(cdr) for CDRs
    priced = price(compiled, usage, default_vat=None)
    cost_fields(priced), explanation_text(priced), explanation_json(priced)

Semantics: docs/tariffs.md.
"""

from clearing.tariffs.cdr import cost_fields, credit_cdr, credit_domain_cdr, priced_cdr
from clearing.tariffs.engine import CompiledTariff, compile_tariff, price
from clearing.tariffs.explain import explanation_json, explanation_text
from clearing.tariffs.model import OcpiTariff, Period, TariffError, Usage
from clearing.tariffs.parse import check_validity_overlap, parse_tariff, parse_usage
from clearing.tariffs.sessions import build_usage
from clearing.tariffs.totals import Money, PricedSession

__all__ = [
    "CompiledTariff", "Money", "OcpiTariff", "Period", "PricedSession", "TariffError", "Usage",
    "build_usage", "check_validity_overlap", "compile_tariff", "cost_fields", "credit_cdr",
    "credit_domain_cdr", "explanation_json", "explanation_text", "parse_tariff", "parse_usage",
    "price", "priced_cdr",
]
