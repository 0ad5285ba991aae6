"""Message journal and request/correlation ids on every leg (issue 5, items 3 and 8)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from hub.db.base import transaction
from hub.db.models import OcpiJournalRow
from ocpi.journal import Entry, Journal, module_of, safe_path
from tests.ocpi.conftest import Pair, ocpi_call, the_partner
from tests.ocpi.journal_helpers import journal


async def test_incoming_request_is_journaled_and_ids_echoed(pair: Pair) -> None:
    token = await pair.ee_token_for_lv()
    ids = {"X-Request-ID": "req-1", "X-Correlation-ID": "corr-1",
           "OCPI-from-country-code": "EE", "OCPI-from-party-id": "ELM",
           "OCPI-to-country-code": "LV", "OCPI-to-party-id": "BIM"}
    r = await ocpi_call("GET", f"{pair.lv.url}/ocpi/cpo/2.2.1/locations", token, headers=ids)
    assert r.status_code == 200
    assert r.headers["X-Request-ID"] == "req-1"
    assert r.headers["X-Correlation-ID"] == "corr-1"
    [entry] = await journal(pair.lv, correlation_id="corr-1")
    ee_at_lv = (await the_partner(pair.lv)).id
    assert entry["direction"] == "in" and entry["partner_id"] == ee_at_lv
    assert entry["module"] == "locations" and entry["method"] == "GET"
    assert entry["path"] == "/ocpi/cpo/2.2.1/locations"
    assert (entry["http_status"], entry["status_code"]) == (200, 1000)
    assert entry["request_id"] == "req-1" and entry["deviations"] == []
    assert token not in str(entry)


async def test_correlation_id_is_kept_on_every_leg(pair: Pair) -> None:
    """LV registered with EE: EE, serving LV's credentials POST, called LV's versions back.
    All legs share one X-Correlation-ID; every leg has its own X-Request-ID."""
    incoming = await journal(pair.ee, direction="in", partner_id=(await the_partner(pair.ee)).id)
    [post] = [e for e in incoming if e["module"] == "credentials"]
    assert (post["module"], post["method"], post["status_code"]) == ("credentials", "POST",
                                                                      1000)
    corr = post["correlation_id"]
    at_ee = await journal(pair.ee, correlation_id=corr)
    at_lv = await journal(pair.lv, correlation_id=corr)
    ee_out = [(e["method"], e["module"]) for e in at_ee if e["direction"] == "out"]
    assert ee_out == [("GET", "versions"), ("GET", "versions")]  # details, versions (newest 1st)
    assert ("out", "POST", "credentials") in [(e["direction"], e["method"], e["module"])
                                              for e in at_lv]
    assert [e["direction"] for e in at_lv].count("in") == 2  # LV's versions and details
    request_ids = [e["request_id"] for e in at_ee + at_lv]
    # Each leg is recorded on both sides with the same X-Request-ID: 3 legs, 3 ids.
    assert len(set(request_ids)) == 3 and len(request_ids) == 6


async def test_request_without_ids_is_accepted_and_reported(pair: Pair) -> None:
    token = await pair.ee_token_for_lv()
    r = await ocpi_call("GET", f"{pair.lv.url}/ocpi/cpo/2.2.1/locations", token)
    assert r.status_code == 200 and r.json()["status_code"] == 1000
    corr = r.headers["X-Correlation-ID"]
    [entry] = await journal(pair.lv, correlation_id=corr)
    assert entry["request_id"] == r.headers["X-Request-ID"]
    assert set(entry["deviations"]) == {"no_request_id", "no_correlation_id",
                                        "no_routing_headers"}


async def test_journal_close_flushes_what_is_buffered(hub_ctx: Any) -> None:
    j = Journal(hub_ctx.sessionmaker, interval_s=3600)
    j.start()
    j.record(Entry("out", "GET", "/x/versions", correlation_id="on-shutdown"))
    await j.close()
    async with transaction(hub_ctx.sessionmaker) as session:
        rows = (await session.scalars(select(OcpiJournalRow).where(
            OcpiJournalRow.correlation_id == "on-shutdown"))).all()
    assert [r.path for r in rows] == ["/x/versions"]


def test_paths_keep_no_ids() -> None:
    url = "https://p.example/ocpi/emsp/2.2.1/tokens/SECRET-UID/authorize?type=RFID"
    assert safe_path(url) == "/ocpi/emsp/2.2.1/tokens/*/authorize"
    assert module_of("/ocpi/2.2.1") == "versions"
    assert module_of("/ocpi/emsp/2.2.1/sessions/LV/BIM/1") == "sessions"
