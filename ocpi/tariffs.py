"""Tariffs module (OCPI 2.2.1 mod_tariffs).

Sender (our CPO): ``GET /ocpi/cpo/2.2.1/tariffs`` (paginated) and ``.../tariffs/{tariff_id}``
(one of ours; an extension: the spec's Sender has only the list). Our own tariffs are the
``source="own"`` rows of ``hub.services.tariffs``; the full OCPI JSON is served when the admin
stored one, else it is rebuilt from the row's elements.

Receiver (our eMSP): ``PUT/DELETE/GET /ocpi/emsp/2.2.1/tariffs/{country_code}/{party_id}/
{tariff_id}``. A partner CPO's tariff is stored with ``save_tariff(source="partner")``, so the
clearing re-pricing of that CPO's CDRs finds it; its ``last_updated`` is kept as sent.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Request, Response

from hub.db.base import transaction
from hub.db.models import PartyRow, TariffRow
from hub.domain import TariffPrice
from hub.services import tariffs as store
from ocpi import quality
from ocpi.auth import Ctx, PartnerCaller
from ocpi.encoding import jsonable
from ocpi.errors import GENERIC_CLIENT_ERROR, OcpiError, OcpiRoute
from ocpi.object_store import Window, own_tariff, page_own_tariffs
from ocpi.parsing import PageParams, parse_body
from ocpi.response import ocpi_response
from ocpi.schemas_objects import Tariff
from ocpi.urls import CPO_PREFIX, EMSP_PREFIX, ocpi_url
from ocpi.validation import check_same, owner_party

SENDER_PATH = f"{CPO_PREFIX}/tariffs"
RECEIVER_PATH = f"{EMSP_PREFIX}/tariffs"
OBJECT = RECEIVER_PATH + "/{country_code}/{party_id}/{tariff_id}"
router = APIRouter(route_class=OcpiRoute)

# Fields stored as exact strings (hub.services.tariffs keeps numbers as text) that are OCPI
# numbers: PriceComponent, Price, TariffRestrictions, EnergyMix.
_NUMBERS = {"price", "vat", "excl_vat", "incl_vat", "min_kwh", "max_kwh", "min_current",
            "max_current", "min_power", "max_power", "percentage", "amount"}


def _numbers(value: Any, key: str = "") -> Any:
    if isinstance(value, dict):
        return {k: _numbers(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_numbers(v, key) for v in value]
    if key in _NUMBERS and isinstance(value, str):
        return Decimal(value)
    return value


def tariff_json(row: TariffRow, party: PartyRow) -> dict[str, Any]:
    """The stored tariff as an OCPI Tariff (Decimals, datetimes) with the row's identity."""
    base: dict[str, Any] = dict(row.ocpi) if row.ocpi else {
        "currency": row.currency, "elements": row.elements,
        **({"tariff_alt_text": [{"language": "en", "text": row.alt_text}]}
           if row.alt_text else {}),
    }
    base.update(country_code=party.country_code, party_id=party.party_id, id=row.tariff_id,
                last_updated=row.last_updated)
    return Tariff.model_validate(_numbers(base)).model_dump(exclude_none=True)


# -- Sender ------------------------------------------------------------------------------------


@router.get(SENDER_PATH)
async def list_tariffs(ctx: Ctx, caller: PartnerCaller, page: PageParams) -> Response:
    limit = page.bounded_limit(ctx.settings)
    window = Window(page.date_from, page.date_to, page.offset, limit)
    async with transaction(ctx.sessionmaker) as session:
        rows, total = await page_own_tariffs(session, window)
        data = [tariff_json(row, party) for row, party in rows]
    return ocpi_response(data, headers=page.headers(ocpi_url(ctx.settings, SENDER_PATH),
                                                    total, limit))


@router.get(SENDER_PATH + "/{tariff_id}")
async def get_own_tariff(ctx: Ctx, caller: PartnerCaller, tariff_id: str) -> Response:
    async with transaction(ctx.sessionmaker) as session:
        found = await own_tariff(session, tariff_id)
        if found is None:
            raise OcpiError(GENERIC_CLIENT_ERROR, f"unknown tariff {tariff_id}", 404)
        return ocpi_response(tariff_json(*found))


# -- Receiver ----------------------------------------------------------------------------------


def _fields(t: Tariff) -> store.TariffFields:
    def price(p: Any) -> TariffPrice | None:
        return None if p is None else TariffPrice(p.excl_vat, p.incl_vat)
    return store.TariffFields(
        currency=t.currency, type=t.type, min_price=price(t.min_price),
        max_price=price(t.max_price), start_date_time=t.start_date_time,
        end_date_time=t.end_date_time,
        alt_text=t.tariff_alt_text[0].text if t.tariff_alt_text else None)


def _unknown(tariff_id: str) -> OcpiError:
    return OcpiError(GENERIC_CLIENT_ERROR, f"unknown tariff {tariff_id}", 404)


@router.put(OBJECT)
async def put_tariff(request: Request, ctx: Ctx, caller: PartnerCaller, country_code: str,
                     party_id: str, tariff_id: str) -> Response:
    cpo = await owner_party(ctx, caller, country_code, party_id, "CPO")
    tariff, _ = await parse_body(request, Tariff)
    check_same("country_code", tariff.country_code, cpo.country_code)
    check_same("party_id", tariff.party_id, cpo.party_id)
    check_same("id", tariff.id, tariff_id)
    stored = jsonable(tariff.model_dump(exclude_none=True))
    async with transaction(ctx.sessionmaker) as session:
        party = await store.tariff_party(session, cpo.country_code, cpo.party_id,
                                         store.PARTNER)
        # mod_tariffs (PUT): new or replaced; last_updated stays the CPO's own value.
        _, created = await store.save_tariff(session, party, tariff.id, stored, _fields(tariff),
                                             source=store.PARTNER, now=tariff.last_updated)
        await quality.record_findings(
            session, module="tariffs", partner_id=caller.partner_id,
            object_key=quality.object_key(cpo.country_code, cpo.party_id, tariff.id),
            findings=quality.check_tariff(tariff, ctx.clock()), now=ctx.clock())
    return ocpi_response(http_status=201 if created else 200)


async def _partner_row(session: Any, country_code: str, party_id: str, tariff_id: str
                       ) -> tuple[TariffRow, PartyRow]:
    party = await store.tariff_party(session, country_code, party_id, store.PARTNER)
    row = await store.find_tariff_row(session, tariff_id, source=store.PARTNER,
                                      party_pk=party.id)
    if row is None:
        raise _unknown(tariff_id)
    return row, party


@router.get(OBJECT)
async def get_partner_tariff(ctx: Ctx, caller: PartnerCaller, country_code: str,
                             party_id: str, tariff_id: str) -> Response:
    cpo = await owner_party(ctx, caller, country_code, party_id, "CPO")
    async with transaction(ctx.sessionmaker) as session:
        row, party = await _partner_row(session, cpo.country_code, cpo.party_id, tariff_id)
        return ocpi_response(tariff_json(row, party))


@router.delete(OBJECT)
async def delete_partner_tariff(ctx: Ctx, caller: PartnerCaller, country_code: str,
                                party_id: str, tariff_id: str) -> Response:
    cpo = await owner_party(ctx, caller, country_code, party_id, "CPO")
    async with transaction(ctx.sessionmaker) as session:
        row, _ = await _partner_row(session, cpo.country_code, cpo.party_id, tariff_id)
        # mod_tariffs (DELETE): the tariff is no longer in use; re-pricing results that
        # referred to it keep their figures (hub.services.tariffs.delete_tariff).
        await store.delete_tariff(session, row)
    return ocpi_response()
