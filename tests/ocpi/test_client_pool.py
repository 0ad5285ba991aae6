"""ocpi.client.KeepAlivePool (forwarded requests) against a real uvicorn server on loopback:
connections are reused, a connection the server closed is replaced, chunked answers, paths
percent-encoded like httpx does, and failures raised as httpx's exception types."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI, Request, Response
from fastapi.responses import StreamingResponse

from ocpi.client import KeepAlivePool
from tests.conftest import free_port


class Server:
    def __init__(self) -> None:
        self.port = free_port()
        self.clients: list[tuple[str, int]] = []  # (host, port) of each request's connection
        self.seen: list[tuple[str, str, bytes, dict[str, str]]] = []
        self.release = asyncio.Event()
        app = FastAPI()

        @app.api_route("/{path:path}", methods=["GET", "POST", "PUT"])
        async def anything(path: str, request: Request) -> Response:
            assert request.client is not None
            self.clients.append((request.client.host, request.client.port))
            self.seen.append((request.method, request.scope["raw_path"].decode()
                              + "?" + request.scope["query_string"].decode(),
                              await request.body(), dict(request.headers)))
            if path == "hang":
                await self.release.wait()
            if path == "chunked":
                async def parts() -> AsyncIterator[bytes]:
                    for chunk in (b'{"status_code":', b"1000", b"}"):
                        yield chunk

                return StreamingResponse(parts(), media_type="application/json")
            return Response(b'{"status_code":1000}', media_type="application/json",
                            headers={"Link": "<http://x.test/next>; rel=\"next\""})

        # The server closes keep-alive connections idle for 1 s (uvicorn's own timer).
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port,
                                                    log_level="warning", lifespan="off",
                                                    timeout_keep_alive=1))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@pytest.fixture(name="server")
async def server_fixture() -> AsyncIterator[Server]:
    server = Server()
    task = asyncio.create_task(server.server.serve())
    while not server.server.started:
        await asyncio.sleep(0.01)
    yield server
    server.release.set()
    server.server.should_exit = True
    await task


@pytest.fixture(name="pool")
async def pool_fixture() -> AsyncIterator[KeepAlivePool]:
    pool = KeepAlivePool()
    yield pool
    await pool.aclose()


async def test_sequential_requests_share_one_connection(server: Server, pool: KeepAlivePool
                                                        ) -> None:
    for _ in range(3):
        answer = await pool.request("GET", f"{server.url}/a", {"X-Test": "1"}, None, 5)
        assert answer.status_code == 200 and answer.content == b'{"status_code":1000}'
        assert answer.headers["link"] == '<http://x.test/next>; rel="next"'
    assert len(set(server.clients)) == 1
    assert server.seen[0][3]["x-test"] == "1" and "content-length" not in server.seen[0][3]


async def test_concurrent_requests_use_their_own_connections(server: Server,
                                                             pool: KeepAlivePool) -> None:
    answers = await asyncio.gather(*(pool.request("GET", f"{server.url}/c{i}", {}, None, 5)
                                     for i in range(4)))
    assert [a.status_code for a in answers] == [200] * 4
    assert len(set(server.clients)) == 4
    await pool.request("GET", f"{server.url}/again", {}, None, 5)
    assert server.clients[-1] in server.clients[:4]  # an idle one is reused


async def test_a_connection_the_server_closed_is_replaced(server: Server, pool: KeepAlivePool
                                                          ) -> None:
    await pool.request("GET", f"{server.url}/a", {}, None, 5)
    await asyncio.sleep(1.5)  # past the server's keep-alive timeout: it closes the connection
    answer = await pool.request("POST", f"{server.url}/b", {}, b'{"x":1}', 5)
    assert answer.status_code == 200
    assert len(set(server.clients)) == 2
    assert server.seen[-1][2] == b'{"x":1}' and server.seen[-1][3]["content-length"] == "7"


async def test_chunked_answer_and_encoded_path(server: Server, pool: KeepAlivePool) -> None:
    answer = await pool.request("GET", f"{server.url}/chunked", {}, None, 5)
    assert answer.content == b'{"status_code":1000}'
    await pool.request("PUT", f"{server.url}/loc/A B/é?offset=0&limit=10", {}, b"{}", 5)
    assert server.seen[-1][1] == "/loc/A%20B/%C3%A9?offset=0&limit=10"


async def test_failures_are_httpx_exceptions(server: Server, pool: KeepAlivePool) -> None:
    with pytest.raises(httpx.ReadTimeout):
        await pool.request("GET", f"{server.url}/hang", {}, None, 0.3)
    with pytest.raises(httpx.ConnectError):
        await pool.request("GET", f"http://127.0.0.1:{free_port()}/x", {}, None, 5)
    with pytest.raises(httpx.UnsupportedProtocol):
        await pool.request("GET", "ftp://127.0.0.1/x", {}, None, 5)
    server.release.set()
    answer: Any = await pool.request("GET", f"{server.url}/a", {}, None, 5)
    assert answer.status_code == 200  # the timed-out connection was not put back


async def test_a_header_with_a_line_break_is_refused_before_sending(server: Server,
                                                                    pool: KeepAlivePool) -> None:
    with pytest.raises(httpx.LocalProtocolError):
        await pool.request("GET", f"{server.url}/a", {"X-Evil": "a\r\nX-Injected: 1"}, None, 5)
    assert server.seen == []
