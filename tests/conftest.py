"""Shared fixtures: a fresh, migrated database per test, on SQLite or PostgreSQL.

SQLite (default): a file under the test's tmp_path. PostgreSQL: set
``HUB_TEST_DATABASE_URL=postgresql+asyncpg://user@host/db`` (``.ci/run`` does, with a database
it creates for the run); each test then gets its own schema in it, dropped afterwards.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
import uvicorn
from hypothesis import settings as hypothesis_settings

from hub.app import create_app, running_hub
from hub.cli.pg import adrop_schema, create_schema
from hub.cli.processes import free_port
from hub.context import HubContext
from hub.db.migrate import upgrade
from hub.settings import Settings

PG_URL = os.environ.get("HUB_TEST_DATABASE_URL")

# CI runs property tests with a fixed seed so that a red run is reproducible and never flaky;
# locally hypothesis explores new examples every run.
hypothesis_settings.register_profile("ci", derandomize=True)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")


SettingsFactory = Callable[..., Settings]


@pytest.fixture
async def make_settings(tmp_path: Path) -> AsyncIterator[SettingsFactory]:
    """Builds migrated settings with a database of their own; several per test are fine."""
    schemas: list[str] = []
    counter = iter(range(1000))

    def factory(**overrides: object) -> Settings:
        n = next(counter)
        data_dir = tmp_path / f"hub{n}"
        base: dict[str, object] = {
            "data_dir": data_dir,
            "http": {"host": "127.0.0.1", "port": free_port()},
            "ocpp": {"host": "127.0.0.1", "port": free_port()},
            "outbox": {"poll_interval_seconds": 0.2, "backoff_base_seconds": 0.2,
                       "backoff_max_seconds": 1.0},
            "scheduler_enabled": False,
            "ocpi": {"allowed_hosts": ["*.test"]},  # respx peers (ocpi.security allow-list)
            "log_level": "WARNING",
        }
        if PG_URL:
            schema = f"t_{uuid.uuid4().hex[:16]}"
            schemas.append(schema)
            create_schema(PG_URL, schema)
            base["database_url"] = PG_URL
            base["database_schema"] = schema
        base.update(overrides)
        settings = Settings(**base)  # type: ignore[arg-type]
        upgrade(settings)
        return settings

    yield factory
    for schema in schemas:
        assert PG_URL is not None
        await adrop_schema(PG_URL, schema)


@pytest.fixture
async def settings(make_settings: SettingsFactory) -> Settings:
    return await asyncio.to_thread(make_settings)


@pytest.fixture
async def hub_ctx(settings: Settings) -> AsyncIterator[HubContext]:
    """A running hub without HTTP: database, OCPP server, outbox worker."""
    async with running_hub(settings) as ctx:
        yield ctx


class LiveHub:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.app = create_app(settings)
        self.server = uvicorn.Server(uvicorn.Config(
            self.app, host=settings.http.host, port=settings.http.port, log_level="warning",
            lifespan="on"))
        self._task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return self.settings.public_url

    @property
    def ctx(self) -> HubContext:
        ctx: HubContext = self.app.state.hub
        return ctx

    async def start(self) -> None:
        self._task = asyncio.create_task(self.server.serve())
        for _ in range(500):
            if self.server.started:
                return
            if self._task.done():
                self._task.result()
            await asyncio.sleep(0.01)
        raise RuntimeError("hub did not start")

    async def stop(self) -> None:
        self.server.should_exit = True
        if self._task is not None:
            await self._task


@pytest.fixture
async def start_hub() -> AsyncIterator[Callable[[Settings], asyncio.Future[LiveHub]]]:
    """Starts real hubs (HTTP on loopback + OCPP + worker) and stops them after the test."""
    hubs: list[LiveHub] = []

    async def starter(settings: Settings) -> LiveHub:
        hub = LiveHub(settings)
        await hub.start()
        hubs.append(hub)
        return hub

    yield starter  # type: ignore[misc]
    for hub in reversed(hubs):
        await hub.stop()

