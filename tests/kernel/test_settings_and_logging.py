from __future__ import annotations

import asyncio

import pytest

from hub.app import SchemaNotMigrated, running_hub
from hub.logging import redact
from hub.settings import Settings


def test_nested_settings_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUB_OCPP__PORT", "9100")
    monkeypatch.setenv("HUB_OUTBOX__MAX_ATTEMPTS", "7")
    monkeypatch.setenv("HUB_PARTIES", '[{"country_code":"EE","party_id":"ELM","role":"EMSP",'
                       '"name":"Elmo"}]')
    s = Settings()
    assert s.ocpp.port == 9100
    assert s.outbox.max_attempts == 7
    assert s.own_party("EMSP") is not None and s.own_party("CPO") is None
    assert s.effective_database_url.startswith("sqlite+aiosqlite:///")
    assert s.effective_database_url.endswith("var/hub.db")


def test_defaults_match_the_issue() -> None:
    s = Settings()
    assert (s.http.host, s.http.port, s.ocpp.port) == ("127.0.0.1", 8080, 9000)
    assert {(p.country_code, p.party_id, p.role) for p in s.parties} == {
        ("LV", "BIM", "CPO"), ("LV", "BIE", "EMSP")}


def test_logs_never_carry_secrets() -> None:
    event = redact(None, "info", {"event": "x", "token": "abcdef", "id_tag": "04A2B3C4D5",
                                  "password": "pw", "station": "S1"})
    assert event["token"] == "[redacted]"
    assert event["password"] == "[redacted]"
    assert event["id_tag"] == "****C4D5"
    assert event["station"] == "S1"


async def test_refuses_to_start_on_unmigrated_schema(tmp_path) -> None:
    s = Settings(data_dir=tmp_path / "empty")
    with pytest.raises(SchemaNotMigrated):
        async with running_hub(s):
            await asyncio.sleep(0)
