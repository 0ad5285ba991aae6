"""Helpers for the issue-5 OCPI tests: the admin journal, and a tiny real HTTP receiver."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI, Request

from tests.conftest import free_port


async def journal(hub: Any, **params: Any) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(timeout=10) as client:
        r = await client.get(f"{hub.url}/admin/ocpi/journal", params=params)
    assert r.status_code == 200, r.text
    entries: list[dict[str, Any]] = r.json()
    return entries


async def admin(hub: Any, method: str, path: str, **kwargs: Any) -> httpx.Response:
    async with httpx.AsyncClient(timeout=10) as client:
        return await client.request(method, f"{hub.url}/admin{path}", **kwargs)


class Recorder:
    """A real loopback server answering every PUT with an OCPI success, remembering it."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.received: list[tuple[str, dict[str, Any]]] = []
        app = FastAPI()

        @app.put("/{path:path}")
        async def put(path: str, request: Request) -> dict[str, Any]:
            self.received.append(("/" + path, await request.json()))
            return {"status_code": 1000, "timestamp": "2026-01-01T00:00:00Z"}

        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port,
                                                    log_level="warning", lifespan="off"))
        self.task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Recorder:
        self.task = asyncio.create_task(self.server.serve())
        while not self.server.started:
            await asyncio.sleep(0.01)
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.server.should_exit = True
        if self.task is not None:
            await self.task
