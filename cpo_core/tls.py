"""Security profiles 2 and 3: TLS server context and client-certificate checks (placeholder)."""

from __future__ import annotations

import ssl

from websockets.asyncio.server import ServerConnection
from websockets.http11 import Request, Response

from hub.context import HubContext


def server_ssl_context(ctx: HubContext) -> ssl.SSLContext | None:
    """None: plain ws:// (security profile 1)."""
    return None


async def check_client_certificate(
    ctx: HubContext, conn: ServerConnection, request: Request, station_id: str
) -> Response | None:
    """A refusal before the upgrade, or None when the certificate (if any) is acceptable."""
    return None
