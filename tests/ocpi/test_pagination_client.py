"""Pagination client (issue 5, items 2 and 7): follows good Link headers, falls back to
offset/limit from X-Total-Count/X-Limit on broken ones, stops on loops, reports the deviation
per peer, and pulls a partner CPO's Locations into the hub's store."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI, Request, Response
from sqlalchemy import select

from hub.db.base import transaction
from hub.db.models import OcpiPartnerLocationRow
from ocpi.encoding import loads
from ocpi.pagination import fetch_all, pull_locations
from tests.conftest import free_port
from tests.ocpi.conftest import fake_partner
from tests.ocpi.journal_helpers import admin

EXAMPLE = loads((Path(__file__).parent / "examples" / "location_example.json").read_bytes())
TOTAL = 5


class Sender:
    """A partner's locations Sender: TOTAL objects, pages of 2, with a Link of ``mode``."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/ocpi/cpo/2.2.1/locations"
        self.mode = "good"
        self.calls: list[dict[str, str]] = []
        app = FastAPI()

        @app.get("/ocpi/cpo/2.2.1/locations")
        async def page(request: Request) -> Response:
            q = dict(request.query_params)
            self.calls.append(q)
            offset, limit = int(q.get("offset", 0)), min(int(q.get("limit", 2)), 2)
            objs = [{**json.loads(json.dumps(EXAMPLE, default=str)), "id": f"LOC{i}"}
                    for i in range(offset, min(offset + limit, TOTAL))]
            headers = {"X-Total-Count": str(TOTAL), "X-Limit": "2"}
            nxt = f"{self.url}?offset={offset + limit}&limit={limit}"
            if offset + limit < TOTAL:
                links = {"good": f'<{nxt}>; rel="next"',
                         "other_host": f'<http://10.9.9.9:1/x?offset={offset + limit}>; '
                                       'rel="next"',
                         "garbage": "next page please",
                         "loop": f'<{self.url}?offset=0&limit=2>; rel="next"'}
                if self.mode in links:
                    headers["Link"] = links[self.mode]
            return Response(json.dumps({"status_code": 1000, "data": objs,
                                        "timestamp": "2026-01-01T00:00:00Z"}),
                            headers=headers, media_type="application/json")

        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port,
                                                    log_level="warning", lifespan="off"))


@pytest.fixture
async def sender() -> Any:
    s = Sender()
    task = asyncio.create_task(s.server.serve())
    while not s.server.started:
        await asyncio.sleep(0.01)
    yield s
    s.server.should_exit = True
    await task


async def _deviations(hub: Any, partner_id: int) -> dict[str, int]:
    r = await admin(hub, "GET", "/ocpi/deviations")
    found: dict[str, int] = r.json().get(str(partner_id), {})
    return found


@pytest.mark.parametrize("mode,deviation", [
    ("good", None), ("other_host", "unusable_link"), ("garbage", "unusable_link"),
    ("loop", "link_loop"), ("missing", "missing_link")])
async def test_every_object_once_whatever_the_link(lv_hub: Any, sender: Sender, mode: str,
                                                   deviation: str | None) -> None:
    sender.mode = mode
    partner_id, _ = await fake_partner(lv_hub, [("BE", "BEC", "CPO")], [
        {"identifier": "locations", "role": "SENDER", "url": sender.url}])
    pulled = await fetch_all(lv_hub.ctx.http, sender.url, token="t", use_base64=True,
                             partner_id=partner_id)
    assert [o["id"] for o in pulled.items] == [f"LOC{i}" for i in range(TOTAL)]
    # A loop costs one page fetched twice (the first page, named again by its Link).
    expected_pages = 4 if mode == "loop" else 3
    assert pulled.pages == expected_pages and len(sender.calls) == expected_pages
    assert all("10.9.9.9" not in str(c) for c in sender.calls)
    if deviation is None:
        assert pulled.deviations == set()
        assert await _deviations(lv_hub, partner_id) == {}
    else:
        assert deviation in pulled.deviations
        assert (await _deviations(lv_hub, partner_id)).get(deviation, 0) >= 1


async def test_pull_locations_stores_the_partner_objects(lv_hub: Any, sender: Sender) -> None:
    sender.mode = "garbage"
    partner_id, _ = await fake_partner(lv_hub, [("BE", "BEC", "CPO")], [
        {"identifier": "locations", "role": "SENDER", "url": sender.url}])
    assert await pull_locations(lv_hub.ctx, partner_id) == TOTAL
    async with transaction(lv_hub.ctx.sessionmaker) as session:
        rows = (await session.scalars(select(OcpiPartnerLocationRow)
                                      .order_by(OcpiPartnerLocationRow.location_id))).all()
    assert [r.location_id for r in rows] == [f"LOC{i}" for i in range(TOTAL)]
    assert all(r.partner_id == partner_id for r in rows)
    assert loads(rows[0].body)["last_updated"] == EXAMPLE["last_updated"]
