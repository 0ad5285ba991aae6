"""Two real hubs on loopback: ours (LV*BIM CPO + LV*BIE eMSP) and the Estonian eMSP EE*ELM."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from hub.db.base import transaction
from hub.db.models import PartnerRow
from hub.services.partners import issue_token_a
from ocpi.handshake import register_with_partner

EE_PARTIES = [{"country_code": "EE", "party_id": "ELM", "role": "EMSP", "name": "Elmo"}]

StartHub = Callable[[Any], Awaitable[Any]]


async def new_token_a(hub: Any, name: str = "partner") -> str:
    async with transaction(hub.ctx.sessionmaker) as session:
        _, token = await issue_token_a(session, name, hub.ctx.clock())
    return token


async def partners(hub: Any) -> list[PartnerRow]:
    async with transaction(hub.ctx.sessionmaker) as session:
        return list((await session.scalars(select(PartnerRow).order_by(PartnerRow.id))).all())


async def the_partner(hub: Any) -> PartnerRow:
    rows = await partners(hub)
    assert len(rows) == 1, rows
    return rows[0]


def auth(token: str, *, b64: bool = True) -> dict[str, str]:
    value = base64.b64encode(token.encode()).decode() if b64 else token
    return {"Authorization": f"Token {value}"}


async def ocpi_call(method: str, url: str, token: str | None = None, **kwargs: Any
                    ) -> httpx.Response:
    headers = dict(kwargs.pop("headers", {}))
    if token is not None:
        headers.update(auth(token))
    async with httpx.AsyncClient(timeout=10) as client:
        return await client.request(method, url, headers=headers, **kwargs)


@dataclass
class Pair:
    lv: Any  # our hub (CPO + eMSP)
    ee: Any  # the Estonian eMSP platform

    async def lv_token_for_ee(self) -> str:
        """The token LV presents to EE (and EE accepts)."""
        token = (await the_partner(self.lv)).token_out
        assert token
        return token

    async def ee_token_for_lv(self) -> str:
        token = (await the_partner(self.ee)).token_out
        assert token
        return token


@pytest.fixture
async def lv_hub(settings: Any, start_hub: StartHub) -> Any:
    return await start_hub(settings)


@pytest.fixture
async def ee_hub(make_settings: Any, start_hub: StartHub) -> Any:
    ee_settings = await asyncio.to_thread(make_settings, parties=EE_PARTIES)
    return await start_hub(ee_settings)


@pytest.fixture
async def pair(lv_hub: Any, ee_hub: Any) -> Pair:
    """LV registered with EE (LV is the credentials Sender, EE issued token A)."""
    token_a = await new_token_a(ee_hub, "Latvian hub")
    await register_with_partner(lv_hub.ctx, f"{ee_hub.url}/ocpi/versions", token_a)
    return Pair(lv_hub, ee_hub)


async def fake_partner(hub: Any, parties: list[tuple[str, str, str]] | None = None,
                       endpoints: list[dict[str, str]] | None = None,
                       token_out: str = "token-we-send") -> tuple[int, str]:
    """A CONNECTED partner row without a live platform behind it: (partner id, its token)."""
    from hub.domain import PartyRef
    from hub.security import new_token, token_hash
    from hub.services.parties import upsert_partner_party

    token = new_token()
    async with transaction(hub.ctx.sessionmaker) as session:
        row = PartnerRow(name="fake", status="CONNECTED", token_in_hash=token_hash(token),
                         token_out=token_out, endpoints=endpoints or [], version="2.2.1")
        session.add(row)
        await session.flush()
        for cc, pid, role in parties or [("EE", "ELM", "EMSP")]:
            await upsert_partner_party(session, PartyRef(cc, pid, role), row.id, "Elmo")
        return row.id, token
