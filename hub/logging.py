"""Structured logging (structlog) with a redaction step: secrets never reach a log line.

Keys that name a secret are masked whatever logs them; idTags/token uids keep their last four
characters so that an operator can still correlate (DEVELOPERS.md: never full idTag values).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

SECRET_KEYS = {"token", "password", "authorization", "token_a", "token_b", "token_c",
               "secret", "credentials_token", "token_out"}
PARTIAL_KEYS = {"id_tag", "idtag", "token_uid", "uid", "contract_id", "card"}


def mask(value: object) -> str:
    text = str(value)
    return "****" + text[-4:] if len(text) > 4 else "****"


def redact(_logger: Any, _name: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key in list(event.keys()):
        low = key.lower()
        if low in SECRET_KEYS:
            event[key] = "[redacted]"
        elif low in PARTIAL_KEYS and event[key] is not None:
            event[key] = mask(event[key])
    return event


class _CurrentStderr:
    """Writes to whatever ``sys.stderr`` is at the time (test runners swap and close it)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def configure_logging(level: str = "INFO", fmt: str = "console") -> None:
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            redact,
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
        ),
        logger_factory=structlog.PrintLoggerFactory(file=_CurrentStderr()),  # type: ignore[arg-type]
        cache_logger_on_first_use=False,
    )
    logging.basicConfig(level=level.upper(), stream=sys.stderr,
                        format="%(levelname)s %(name)s %(message)s")
    # The ocpp library logs every frame at INFO, idTags included (PROTOCOL_NOTES, OCPP).
    logging.getLogger("ocpp").setLevel(logging.WARNING)
    logging.getLogger("websockets").setLevel(logging.WARNING)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
