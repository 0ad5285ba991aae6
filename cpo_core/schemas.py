"""OCPP payload validation against the library's JSON schemas, compiled (docs/ocpp.md
"Performance").

The ``ocpp`` library validates every CALL and every CALLRESULT with ``jsonschema``'s
``Draft4Validator``, which interprets the schema on each message: 15-60 us per payload, about a
tenth of the central system's CPU under load. Here the same schemas (the library's files, read
through its ``get_validator``) are compiled once per action into Python code by
``fastjsonschema`` (2-3 us per payload) with the library's semantics: draft 4 for every OCPP
version (the library uses ``Draft4Validator`` for the 2.0.1 draft-06 files too), ``format`` not
checked (``parse_timestamp`` does that for the fields we read), no defaults filled in.

Only the verdict "valid" is taken from the compiled code. A payload it rejects is validated
again by the library, so that the error a station gets (OCPP-J 1.6 section 4.2.3 / 2.0.1
section 4.3: FormationViolation, TypeConstraintViolation, ProtocolError...) and its wording are
exactly the library's. A payload the library would reject is never accepted here: the tests
compare both validators on generated valid and broken payloads of every 1.6 and 2.0.1 action.

The three OCPP 1.6 messages whose decimals the library re-parses before validating
(SetChargingProfile, RemoteStartTransaction, GetCompositeSchedule.conf: the schema's
``multipleOf: 0.1``) always go to the library, which also hands the handler those decimals.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import fastjsonschema
import ocpp.messages
from ocpp.messages import Call, CallResult, MessageType

DRAFT_4 = "http://json-schema.org/draft-04/schema#"

# (version, message type, action) the library validates after re-parsing floats as Decimal.
_LIBRARY_ONLY = frozenset({
    ("1.6", MessageType.Call, "SetChargingProfile"),
    ("1.6", MessageType.Call, "RemoteStartTransaction"),
    ("1.6", MessageType.CallResult, "GetCompositeSchedule"),
})

_compiled: dict[tuple[str, int, str], Callable[[Any], Any] | None] = {}


def compiled(ocpp_version: str, message_type_id: int, action: str
             ) -> Callable[[Any], Any] | None:
    """The compiled validator of one message, or None where the library must decide (an
    unknown action, the decimal-parsed messages, a schema the compiler refuses)."""
    key = (ocpp_version, message_type_id, action)
    try:
        return _compiled[key]
    except KeyError:
        pass
    check: Callable[[Any], Any] | None = None
    if key not in _LIBRARY_ONLY:
        try:
            schema = ocpp.messages.get_validator(message_type_id, action, ocpp_version).schema
            check = fastjsonschema.compile({**schema, "$schema": DRAFT_4},
                                           use_default=False, use_formats=False)
        except Exception:  # no such schema file, or one the compiler cannot take
            check = None
    if len(_compiled) < 4096:  # bounded: a station inventing actions only misses
        _compiled[key] = check
    return check


def is_valid_fast(message: Call | CallResult, ocpp_version: str) -> bool:
    """True when the compiled schema accepts the payload (False: ask the library)."""
    check = compiled(ocpp_version, message.message_type_id, str(message.action))
    if check is None:
        return False
    try:
        check(message.payload)
    except Exception:  # JsonSchemaValueException, or anything odd: the library decides
        return False
    return True


async def validate_payload(message: Call | CallResult, ocpp_version: str) -> None:
    """As ``ocpp.messages.validate_payload``: returns when valid, raises the library's OCPP
    error otherwise."""
    if not is_valid_fast(message, ocpp_version):
        await ocpp.messages.validate_payload(message, ocpp_version)
