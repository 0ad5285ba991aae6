"""Alarm e-mail over SMTP (settings ``HUB_SMTP__*``), as an outbox delivery handler.

``smtplib`` in a worker thread rather than a new dependency (aiosmtplib): alarms are rare, the
outbox already gives retries and ordering, and one blocking send off the event loop costs
nothing worth a package. SMTPS (``ssl``) or STARTTLS, and login, when configured.
"""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from email.message import EmailMessage

import structlog

from hub.context import HubContext
from hub.db.base import transaction
from hub.db.models import AlarmRow
from hub.ports import DeliveryError, DeliveryHandler, OutboxMessage
from hub.services.alarms import EMAIL_KIND
from hub.settings import SmtpSettings

log = structlog.get_logger("hub.notify.email")


def build_message(smtp: SmtpSettings, subject: str, body: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = smtp.from_address
    msg["To"] = ", ".join(smtp.to)
    msg["Subject"] = subject
    msg.set_content(body)
    return msg


def _send_blocking(smtp: SmtpSettings, msg: EmailMessage) -> None:
    assert smtp.host is not None
    context = ssl.create_default_context()
    client: smtplib.SMTP
    if smtp.ssl:
        client = smtplib.SMTP_SSL(smtp.host, smtp.port, timeout=smtp.timeout_seconds,
                                  context=context)
    else:
        client = smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout_seconds)
    with client:
        if smtp.starttls and not smtp.ssl:
            client.starttls(context=context)
        if smtp.username and smtp.password is not None:
            client.login(smtp.username, smtp.password.get_secret_value())
        client.send_message(msg)


async def send_email(smtp: SmtpSettings, subject: str, body: str) -> None:
    if smtp.host is None or not smtp.to:
        raise DeliveryError("SMTP is not configured (HUB_SMTP__HOST, HUB_SMTP__TO)",
                            retryable=False)
    await asyncio.to_thread(_send_blocking, smtp, build_message(smtp, subject, body))


def alarm_text(row: AlarmRow) -> tuple[str, str]:
    subject = f"[hub alarm] {row.kind}: {row.subject}"
    lines = [f"Alarm #{row.id}: {row.kind}", f"Subject: {row.subject}",
             f"Station: {row.station_id or '-'}", f"Raised at: {row.raised_at.isoformat()}",
             "", row.message]
    lines += [f"{k}: {v}" for k, v in sorted((row.details or {}).items())]
    lines += ["", f"Acknowledge: POST /admin/alarms/{row.id}/ack"]
    return subject, "\n".join(lines) + "\n"


def alarm_email_handler(ctx: HubContext) -> DeliveryHandler:
    async def deliver(message: OutboxMessage) -> None:
        async with transaction(ctx.sessionmaker) as session:
            row = await session.get(AlarmRow, int(message.subject))
            if row is None:
                raise DeliveryError(f"unknown alarm {message.subject}", retryable=False)
            subject, body = alarm_text(row)
        try:
            await send_email(ctx.settings.smtp, subject, body)
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryError(f"SMTP: {type(exc).__name__}: {exc}") from exc
        log.info("alarm.emailed", alarm_id=message.subject, to=len(ctx.settings.smtp.to))

    return deliver


def notify_handlers(ctx: HubContext) -> dict[str, DeliveryHandler]:
    """Outbox handlers of this package (merged into the worker's handlers by hub.app)."""
    return {EMAIL_KIND: alarm_email_handler(ctx)}
