"""Data-quality checks on partners' locations, tariffs and CDRs: accepted, reported, replaced
when the object is pushed again, listed in the admin API."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from ocpi.encoding import dumps, loads
from ocpi.quality import check_cdr, check_location, check_tariff
from ocpi.schemas import Cdr
from ocpi.schemas_objects import Location, Tariff
from tests.ocpi.conftest import fake_partner, ocpi_call
from tests.ocpi.journal_helpers import admin

EXAMPLES = Path(__file__).parent / "examples"
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def example(name: str) -> dict[str, Any]:
    return loads((EXAMPLES / name).read_bytes())


def codes(findings: list[Any]) -> set[str]:
    return {f.code for f in findings}


def test_the_spec_examples_are_clean_apart_from_what_is_really_wrong() -> None:
    assert check_location(Location.model_validate(example("location_example.json")), NOW) == []
    tariff = Tariff.model_validate({**example("tariff_put_example.json"),
                                    "last_updated": "2026-11-01T00:00:00Z"})
    # The example's tariff has no end date; nothing to report.
    assert check_tariff(tariff, NOW) == []
    cdr = Cdr.model_validate(example("cdr_example.json"))
    assert check_cdr(cdr, NOW) == []


def test_location_findings() -> None:
    body = example("location_example.json")
    body["coordinates"] = {"latitude": "0.000000", "longitude": "0.000000"}
    body["time_zone"] = "Europe/Atlantis"
    evse = body["evses"][0]
    evse["evse_id"] = "not an id"
    body["evses"][1]["uid"] = evse["uid"]
    conn = evse["connectors"][0]
    conn["max_voltage"], conn["max_amperage"], conn["max_electric_power"] = 230, 16, 22000
    body["last_updated"] = "2026-11-27T13:00:00Z"
    found = check_location(Location.model_validate(body), NOW)
    assert codes(found) == {"COORDINATES_ZERO", "TIME_ZONE_INVALID", "EVSE_ID_FORMAT",
                            "EVSE_DUPLICATE_UID", "CONNECTOR_POWER_INCONSISTENT",
                            "LAST_UPDATED_FUTURE"}
    power = next(f for f in found if f.code == "CONNECTOR_POWER_INCONSISTENT")
    assert power.path == "evses[0].connectors[0].max_electric_power"
    assert "230 V x 16 A" in power.message


def test_tariff_findings() -> None:
    body = {**example("tariff_put_example.json"), "last_updated": "2026-11-01T00:00:00Z"}
    body["elements"][0]["price_components"][0].update(price="250", step_size=0, vat="99")
    body["elements"][0]["restrictions"] = {"start_time": "25:00", "day_of_week": ["FUNDAY"],
                                           "min_kwh": 10, "max_kwh": 5}
    body["min_price"] = {"excl_vat": "5", "incl_vat": "6"}
    body["max_price"] = {"excl_vat": "4", "incl_vat": "5"}
    body["end_date_time"] = "2020-01-01T00:00:00Z"
    found = check_tariff(Tariff.model_validate(body), NOW)
    assert codes(found) == {"PRICE_IMPLAUSIBLE", "STEP_SIZE_INVALID", "VAT_IMPLAUSIBLE",
                            "RESTRICTION_TIME_FORMAT", "RESTRICTION_DAY_UNKNOWN",
                            "RESTRICTION_EMPTY_RANGE", "MIN_ABOVE_MAX", "EXPIRED"}


def test_cdr_findings_energy_in_wh_and_broken_totals() -> None:
    body = example("cdr_example.json")
    good = Cdr.model_validate(body)
    bad = copy.deepcopy(body)
    bad["total_energy"] = str(good.total_energy * 1000)  # Wh sent as kWh
    bad["total_cost"] = {"excl_vat": "3.00", "incl_vat": "2.50"}  # parts say 4.00
    bad["charging_periods"][0]["dimensions"].append({"type": "ENERGY", "volume": "1.5"})
    bad["credit"] = True
    found = check_cdr(Cdr.model_validate(bad), NOW)
    assert {"POWER_IMPLAUSIBLE", "VAT_NEGATIVE", "PERIODS_ENERGY_MISMATCH",
            "COST_PARTS_EXCEED_TOTAL", "CREDIT_WITHOUT_REFERENCE"} <= codes(found)
    late = copy.deepcopy(body)
    late["end_date_time"] = "2027-01-01T00:00:00Z"
    assert "END_IN_FUTURE" in codes(check_cdr(Cdr.model_validate(late), NOW))
    assert Decimal(bad["total_energy"]) > good.total_energy


async def test_findings_are_reported_replaced_and_listed(lv_hub) -> None:
    _, token = await fake_partner(lv_hub, [("BE", "BEC", "CPO")])
    url = f"{lv_hub.url}/ocpi/emsp/2.2.1/locations/BE/BEC/LOC1"
    body = example("location_example.json")
    broken = {**body, "coordinates": {"latitude": "0.000000", "longitude": "0.000000"}}
    r = await ocpi_call("PUT", url, token, content=dumps(broken))
    assert r.status_code == 201 and r.json()["status_code"] == 1000  # accepted all the same
    r = await ocpi_call("PUT", f"{lv_hub.url}/ocpi/emsp/2.2.1/locations/BE/BEC/LOC2", token,
                        content=dumps({**broken, "id": "LOC2"}))
    assert r.status_code == 201

    listed = (await admin(lv_hub, "GET", "/ocpi/quality",
                          params={"module": "locations"})).json()
    assert sorted(f["object"] for f in listed["findings"]) == ["BE*BEC/LOC1", "BE*BEC/LOC2"]
    assert {f["code"] for f in listed["findings"]} == {"COORDINATES_ZERO"}
    assert listed["counts"][0]["count"] == 2 and listed["counts"][0]["severity"] == "ERROR"

    r = await ocpi_call("PUT", url, token, content=dumps(body))  # fixed by the partner
    assert r.status_code == 200
    listed = (await admin(lv_hub, "GET", "/ocpi/quality")).json()
    assert [f["object"] for f in listed["findings"]] == ["BE*BEC/LOC2"]
    none = (await admin(lv_hub, "GET", "/ocpi/quality", params={"severity": "WARNING"})).json()
    assert none == {"findings": [], "counts": []}
    assert (await admin(lv_hub, "GET", "/ocpi/quality",
                        params={"module": "bogus"})).status_code == 422
