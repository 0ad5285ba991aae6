"""Peers for bench/ocpi_load.py, in their own process: N OCPI Receivers (``/r{i}/...``) that
answer every PUT/PATCH with success and count what arrived, and a baseline Sender that serves
pre-serialised pages of locations from memory (``/page/{n}``).

    python bench/ocpi_peers.py --port P --pages FILE
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI, Request, Response

OK = b'{"status_code":1000,"timestamp":"2026-01-01T00:00:00Z"}'


def build(pages_file: Path | None) -> FastAPI:
    app = FastAPI()
    arrivals: list[tuple[str, float]] = []
    pages: list[bytes] = []
    if pages_file is not None and pages_file.exists():
        pages = [json.dumps(p, separators=(",", ":")).encode()
                 for p in json.loads(pages_file.read_text())]

    @app.api_route("/r{i}/{path:path}", methods=["PUT", "PATCH", "POST"])
    async def receive(i: int, path: str, request: Request) -> Response:
        await request.body()
        arrivals.append((f"r{i}", time.time()))
        return Response(OK, media_type="application/json")

    @app.get("/stats")
    async def stats() -> dict[str, Any]:
        return {"count": len(arrivals), "last": max((t for _, t in arrivals), default=None)}

    @app.post("/reset")
    async def reset() -> dict[str, Any]:
        arrivals.clear()
        return {"count": 0}

    @app.get("/page/{n}")
    async def page(n: int) -> Response:
        body = b'{"status_code":1000,"timestamp":"2026-01-01T00:00:00Z","data":' + \
            pages[n % len(pages)] + b"}"
        return Response(body, media_type="application/json",
                        headers={"X-Total-Count": str(len(pages) * 100), "X-Limit": "100"})

    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--pages", type=Path)
    args = parser.parse_args()
    uvicorn.run(build(args.pages), host="127.0.0.1", port=args.port, log_level="warning",
                access_log=False)


if __name__ == "__main__":
    main()
