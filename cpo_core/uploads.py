"""Diagnostics upload: GetDiagnostics with a one-time upload location on the hub's HTTP app.

OCPP 1.6 section 5.9: the central system names a ``location`` the station uploads its
diagnostics file to (the protocol is the station's choice; we offer HTTP). For each request we
create an upload slot with a random token (only its SHA-256 is stored) and send
``{public_url}/ocpp-uploads/{token}``. Stations either PUT/POST the raw file to
``.../{token}/{filename}`` or POST ``multipart/form-data`` to ``.../{token}``; both are accepted.
A token works once, and expires after ``UPLOAD_TTL``. Files land in
``settings.data_dir/uploads/{station}/{upload id}-{file name}``.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import secrets
from datetime import datetime, timedelta
from email import policy
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import structlog
from fastapi import APIRouter, HTTPException, Request
from ocpp.v16 import call
from sqlalchemy import select, update

from cpo_core.base import format_timestamp
from cpo_core.commands import StationCommands
from hub.context import HubContext
from hub.db.base import transaction
from hub.db.models import OcppUploadRow

log = structlog.get_logger("cpo_core.uploads")

UPLOAD_TTL = timedelta(hours=24)
MAX_UPLOAD_BYTES = 64 * 1024 * 1024
CLAIMABLE = ("Waiting", "NoFile")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def safe_name(name: str, fallback: str) -> str:
    cleaned = _UNSAFE.sub("_", name).lstrip(".")[:100]
    return cleaned or fallback


async def request_diagnostics(ctx: HubContext, station_id: str, *,
                              start_time: datetime | None = None,
                              stop_time: datetime | None = None, retries: int | None = None,
                              retry_interval: int | None = None) -> dict[str, Any]:
    """GetDiagnostics with a fresh upload slot; the station's answer plus ``uploadId``."""
    commands = StationCommands(ctx)
    await commands.station(station_id)
    token = secrets.token_urlsafe(24)
    now = ctx.clock()
    async with transaction(ctx.sessionmaker) as session:
        row = OcppUploadRow(token_hash=token_hash(token), station_id=station_id,
                            kind="diagnostics", status="Waiting", created_at=now,
                            expires_at=now + UPLOAD_TTL)
        session.add(row)
        await session.flush()
        upload_id = row.id
    location = f"{ctx.settings.public_url}/ocpp-uploads/{token}"
    answer: dict[str, Any] = {}
    try:
        answer = await commands.send(station_id, call.GetDiagnostics(
            location=location, retries=retries, retry_interval=retry_interval,
            start_time=format_timestamp(start_time) if start_time else None,
            stop_time=format_timestamp(stop_time) if stop_time else None))
    finally:
        async with transaction(ctx.sessionmaker) as session:
            stored = await session.get(OcppUploadRow, upload_id)
            if stored is not None and stored.status == "Waiting":
                stored.station_file_name = answer.get("fileName")
                if not answer:
                    stored.status = "Failed"
                elif not answer.get("fileName"):
                    stored.status = "NoFile"  # nothing to upload, says the station
    return {**answer, "uploadId": upload_id}


async def list_uploads(ctx: HubContext, station_id: str | None = None) -> list[dict[str, Any]]:
    async with ctx.sessionmaker() as session:
        stmt = select(OcppUploadRow).order_by(OcppUploadRow.id.desc()).limit(500)
        if station_id:
            stmt = stmt.where(OcppUploadRow.station_id == station_id)
        rows = (await session.scalars(stmt)).all()
    return [upload_json(r) for r in rows]


def upload_json(r: OcppUploadRow) -> dict[str, Any]:
    return {"id": r.id, "station_id": r.station_id, "kind": r.kind, "status": r.status,
            "station_file_name": r.station_file_name, "file_name": r.file_name,
            "size": r.size, "created_at": r.created_at, "expires_at": r.expires_at,
            "uploaded_at": r.uploaded_at}


async def upload_path(ctx: HubContext, upload_id: int) -> Path | None:
    async with ctx.sessionmaker() as session:
        row = await session.get(OcppUploadRow, upload_id)
    if row is None or row.status != "Uploaded" or row.path is None:
        return None
    return Path(row.path)


# -- the HTTP endpoint the stations upload to (no admin token: the one-time token is the key) --

upload_router = APIRouter(tags=["ocpp-uploads"])


@upload_router.api_route("/{token}", methods=["POST", "PUT"])
async def upload(token: str, request: Request) -> dict[str, Any]:
    return await _receive(request, token, None)


@upload_router.api_route("/{token}/{filename}", methods=["POST", "PUT"])
async def upload_named(token: str, filename: str, request: Request) -> dict[str, Any]:
    return await _receive(request, token, filename)


async def _receive(request: Request, token: str, filename: str | None) -> dict[str, Any]:
    ctx: HubContext = request.app.state.hub
    upload_id = await _claim(ctx, token)
    try:
        body = await _read_body(request)
        content_type = request.headers.get("content-type", "")
        if content_type.startswith("multipart/form-data"):
            part_name, body = await asyncio.to_thread(_multipart_file, content_type, body)
            filename = filename or part_name
        path = await _store(ctx, upload_id, filename, body)
    except BaseException:
        await _finish(ctx, upload_id, status="Failed")
        raise
    await _finish(ctx, upload_id, status="Uploaded", path=path, size=len(body))
    log.info("ocpp.upload.received", upload=upload_id, size=len(body))
    return {"status": "Uploaded", "size": len(body)}


async def _claim(ctx: HubContext, token: str) -> int:
    """Takes the slot atomically: a second upload with the same token is refused."""
    digest = token_hash(token)
    async with transaction(ctx.sessionmaker) as session:
        claimed = await session.execute(
            update(OcppUploadRow)
            .where(OcppUploadRow.token_hash == digest, OcppUploadRow.status.in_(CLAIMABLE),
                   OcppUploadRow.expires_at > ctx.clock())
            .values(status="Receiving"))
        row = (await session.scalars(select(OcppUploadRow).where(
            OcppUploadRow.token_hash == digest))).first()
    if row is None:
        raise HTTPException(404, "unknown upload location")
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise HTTPException(410, "upload location already used or expired")
    return row.id


async def _read_body(request: Request) -> bytes:
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > MAX_UPLOAD_BYTES:
            raise HTTPException(413, "upload too large")
    return bytes(body)


def _multipart_file(content_type: str, body: bytes) -> tuple[str | None, bytes]:
    message = BytesParser(policy=policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body)
    if message.is_multipart():
        for part in message.iter_parts():
            payload = part.get_payload(decode=True)
            if part.get_filename() is not None:
                return part.get_filename(), payload if isinstance(payload, bytes) else b""
    raise HTTPException(400, "multipart upload without a file part")


async def _store(ctx: HubContext, upload_id: int, filename: str | None, body: bytes) -> Path:
    async with ctx.sessionmaker() as session:
        row = await session.get(OcppUploadRow, upload_id)
        assert row is not None
        station, fallback = row.station_id, row.station_file_name or "diagnostics.bin"
    directory = ctx.settings.data_dir / "uploads" / safe_name(station, "station")
    path = directory / f"{upload_id}-{safe_name(filename or fallback, 'diagnostics.bin')}"

    def write() -> None:
        directory.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)

    await asyncio.to_thread(write)
    return path


async def _finish(ctx: HubContext, upload_id: int, *, status: str, path: Path | None = None,
                  size: int | None = None) -> None:
    async with transaction(ctx.sessionmaker) as session:
        row = await session.get(OcppUploadRow, upload_id)
        if row is None:
            return
        row.status = status
        if path is not None:
            row.path, row.file_name, row.size = str(path), path.name, size
            row.uploaded_at = ctx.clock()
