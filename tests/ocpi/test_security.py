"""Partner URL allow-list and HTTPS in production (issue 5, item 9)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from hub.settings import Settings
from ocpi.client import OcpiUnreachable, ocpi_request
from ocpi.errors import INVALID_PARAMETERS, OcpiError
from ocpi.security import check_response_url, refusal
from tests.ocpi.conftest import new_token_a, ocpi_call, partners
from tests.ocpi.journal_helpers import journal


def _settings(environment: str = "development", hosts: list[str] | None = None) -> Settings:
    return Settings(environment=environment, ocpi={"allowed_hosts": hosts or []})  # type: ignore[arg-type]


def test_refusal_rules() -> None:
    dev, prod = _settings(hosts=["*.partner.example", "ocpi.ee"]), \
        _settings("production", ["ocpi.ee"])
    assert refusal(dev, "http://127.0.0.1:9000/ocpi/versions") is None
    assert refusal(dev, "http://localhost/ocpi") is None
    assert refusal(dev, "https://api.partner.example/v") is None
    assert refusal(dev, "https://ocpi.ee/versions") is None
    assert "not in HUB_OCPI__ALLOWED_HOSTS" in (refusal(dev, "http://169.254.169.254/") or "")
    assert refusal(dev, "file:///etc/passwd") == "not an http(s) URL"
    assert refusal(prod, "https://ocpi.ee/versions") is None
    assert refusal(prod, "http://ocpi.ee/versions") == "HTTPS is required in production"
    assert refusal(prod, "https://127.0.0.1/versions") is not None  # no loopback in production


def test_response_url_refused_with_2001() -> None:
    with pytest.raises(OcpiError) as exc:
        check_response_url(_settings(), "http://10.0.0.1/internal")
    assert exc.value.status_code == INVALID_PARAMETERS
    check_response_url(_settings(), "http://127.0.0.1:8000/ocpi/commands/1")  # allowed


async def test_credentials_url_outside_allow_list_gets_3001(lv_hub: Any) -> None:
    token_a = await new_token_a(lv_hub)
    r = await ocpi_call("POST", f"{lv_hub.url}/ocpi/2.2.1/credentials", token_a, json={
        "token": "b-token", "url": "http://169.254.169.254/latest/meta-data",
        "roles": [{"role": "EMSP", "party_id": "ELM", "country_code": "EE",
                   "business_details": {"name": "Elmo"}}]},
        headers={"X-Correlation-ID": "ssrf"})
    assert r.status_code == 200 and r.json()["status_code"] == 3001
    assert "HUB_OCPI__ALLOWED_HOSTS" in r.json()["status_message"]
    legs = await journal(lv_hub, correlation_id="ssrf")
    assert [(e["direction"], e["http_status"], e["deviations"]) for e in legs] == [
        ("in", 200, ["no_request_id"]), ("out", None, ["url_refused"])]
    assert [p.status for p in await partners(lv_hub)] == ["PLANNED"]


async def test_production_refuses_plain_http(make_settings: Any, start_hub: Any) -> None:
    settings = await asyncio.to_thread(make_settings, environment="production",
                                       ocpi={"allowed_hosts": ["127.0.0.1"]})
    hub = await start_hub(settings)
    with pytest.raises(OcpiUnreachable, match="HTTPS is required"):
        await ocpi_request(hub.ctx.http, "GET", f"{hub.url}/ocpi/versions", token="t",
                           use_base64=True)
