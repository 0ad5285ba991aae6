"""Locations module, Receiver interface of our eMSP: partner CPOs push Locations, EVSEs and
Connectors (PUT, PATCH) and read them back (GET); parents' last_updated follow the children."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from hub.db.base import transaction
from hub.db.models import OcpiPartnerLocationRow
from ocpi.encoding import dumps, loads
from tests.ocpi.conftest import fake_partner, ocpi_call

EXAMPLES = Path(__file__).parent / "examples"
PATCH_TIME = "2019-06-24T12:39:09Z"


def example(name: str) -> dict:
    return loads((EXAMPLES / name).read_bytes())


async def pushed(hub) -> tuple[str, str]:
    """The spec's example Location (BE*BEC LOC1) pushed by a partner CPO; (token, its URL)."""
    _, token = await fake_partner(hub, [("BE", "BEC", "CPO")])
    url = f"{hub.url}/ocpi/emsp/2.2.1/locations/BE/BEC/LOC1"
    r = await ocpi_call("PUT", url, token, content=dumps(example("location_example.json")))
    assert r.status_code == 201 and r.json()["status_code"] == 1000
    return token, url


async def test_put_then_get_returns_the_location_exactly(lv_hub) -> None:
    token, url = await pushed(lv_hub)
    r = await ocpi_call("GET", url, token)
    assert r.status_code == 200
    assert loads(r.content)["data"] == loads(dumps(example("location_example.json")))
    r = await ocpi_call("GET", f"{url}/3256/2", token)
    assert r.json()["data"]["standard"] == "IEC_62196_T2"
    r = await ocpi_call("PUT", url, token, content=dumps(example("location_example.json")))
    assert r.status_code == 200  # a replacement, not a new object
    async with transaction(lv_hub.ctx.sessionmaker) as session:
        assert await session.scalar(select(func.count()).select_from(
            OcpiPartnerLocationRow)) == 1


async def test_patch_evse_status_updates_the_location_last_updated(lv_hub) -> None:
    token, url = await pushed(lv_hub)
    body = example("location_patch_example_status.json")
    r = await ocpi_call("PATCH", f"{url}/3256", token, content=dumps(body))
    assert r.status_code == 200 and r.json()["status_code"] == 1000
    loc = (await ocpi_call("GET", url, token)).json()["data"]
    evse = next(e for e in loc["evses"] if e["uid"] == "3256")
    assert evse["status"] == "CHARGING" and evse["last_updated"] == PATCH_TIME
    assert loc["last_updated"] == PATCH_TIME
    assert len(evse["connectors"]) == 2  # untouched fields kept
    other = next(e for e in loc["evses"] if e["uid"] == "3257")
    assert other["last_updated"] == "2015-06-29T20:39:09Z"

    r = await ocpi_call("PATCH", url, token,
                        content=dumps(example("location_patch_example_location.json")))
    loc = (await ocpi_call("GET", url, token)).json()["data"]
    assert loc["name"] == "Interparking Gent Zuid" and loc["address"] == "F.Rooseveltlaan 3A"


async def test_connector_put_and_patch_set_parents_last_updated(lv_hub) -> None:
    token, url = await pushed(lv_hub)
    connector = {"id": "3", "standard": "CHADEMO", "format": "CABLE", "power_type": "DC",
                 "max_voltage": 500, "max_amperage": 120, "last_updated": "2020-01-01T00:00:00Z"}
    r = await ocpi_call("PUT", f"{url}/3257/3", token, content=dumps(connector))
    assert r.status_code == 200 and r.json()["status_code"] == 1000
    evse = (await ocpi_call("GET", f"{url}/3257", token)).json()["data"]
    assert [c["id"] for c in evse["connectors"]] == ["1", "3"]
    assert evse["last_updated"] == "2020-01-01T00:00:00Z"
    r = await ocpi_call("PATCH", f"{url}/3256/2", token,
                        content=dumps(example("location_patch_example_tariff.json")))
    assert r.json()["status_code"] == 1000
    got = (await ocpi_call("GET", f"{url}/3256/2", token)).json()["data"]
    assert got["tariff_ids"] == ["15"] and got["last_updated"] == PATCH_TIME
    loc = (await ocpi_call("GET", url, token)).json()["data"]
    assert loc["last_updated"] == PATCH_TIME


async def test_bad_pushes_are_refused_and_store_nothing(lv_hub) -> None:
    token, url = await pushed(lv_hub)
    r = await ocpi_call("PATCH", f"{url}/3256", token, content=dumps({"status": "CHARGING"}))
    assert r.status_code == 200 and r.json()["status_code"] == 2001
    assert "last_updated" in r.json()["status_message"]
    other = {**example("location_example.json"), "id": "LOC2"}
    r = await ocpi_call("PUT", url, token, content=dumps(other))
    assert r.json()["status_code"] == 2001 and "id" in r.json()["status_message"]
    evse = {**example("location_example.json")["evses"][0], "uid": "9999"}
    r = await ocpi_call("PUT", f"{url}/3256", token, content=dumps(evse))
    assert r.json()["status_code"] == 2001
    bad_status = {"status": "BROKEN", "last_updated": PATCH_TIME}
    r = await ocpi_call("PATCH", f"{url}/3256", token, content=dumps(bad_status))
    assert r.json()["status_code"] == 2001 and "status" in r.json()["status_message"]
    r = await ocpi_call("PUT", url, token, content=b"[oops")
    assert r.status_code == 400
    evse = (await ocpi_call("GET", f"{url}/3256", token)).json()["data"]
    assert evse["status"] == "AVAILABLE"  # nothing stored half-way


async def test_unknown_objects_and_foreign_parties(lv_hub) -> None:
    token, _ = await pushed(lv_hub)
    patch = example("location_patch_example_status.json")
    base = f"{lv_hub.url}/ocpi/emsp/2.2.1/locations/BE/BEC"
    for method, path in (("GET", "NOPE"), ("PATCH", "NOPE"), ("PUT", "NOPE/3256"),
                         ("GET", "LOC1/0000"), ("PATCH", "LOC1/0000"),
                         ("GET", "LOC1/3256/9"), ("PATCH", "LOC1/3256/9")):
        r = await ocpi_call(method, f"{base}/{path}", token,
                            content=dumps(patch) if method != "GET" else None)
        assert (r.status_code, r.json()["status_code"]) == (404, 2003), (method, path)
    r = await ocpi_call("GET", f"{lv_hub.url}/ocpi/emsp/2.2.1/locations/NL/TNM/LOC1", token)
    assert r.status_code == 404 and r.json()["status_code"] == 2000
    r = await ocpi_call("GET", f"{base}/loc1", token)  # CiString: case-insensitive ids
    assert r.json()["data"]["id"] == "LOC1"
