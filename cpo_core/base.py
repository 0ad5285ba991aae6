"""``ChargePoint`` base classes around ocpp 2.1.0 that fix the library's traps, shared by
OCPP 1.6J (``OcppChargePoint``) and OCPP 2.0.1 (``OcppChargePoint201``): the fixes live in one
mixin, ``OcppFixes``; each version only declares its error-code spelling and its actions.

Traps fixed here (PROTOCOL_NOTES.md, OCPP):

- Malformed frames (invalid JSON, wrong array shape, unknown MessageTypeId) are dropped silently
  by the library, and a CALL whose id, action or payload has the wrong type kills the connection.
  We answer with a CALLERROR wherever a unique id can be recovered and keep the connection open.
- The library answers a schema violation with ``FormatViolation`` (the OCPP 2.0 spelling);
  OCPP-J 1.6 section 4.2.3 spells it ``FormationViolation`` (and ``OccurenceConstraintViolation``).
  OCPP-J 2.0.1 section 4.3 uses ``FormatViolation`` / ``OccurrenceConstraintViolation`` and has
  ``MessageTypeNotSupported`` for an unknown MessageTypeId.
- ocpp 2.1.0 swaps ``NotImplemented`` (unknown action) and ``NotSupported`` (known action
  without a handler) relative to OCPP-J 1.6 section 4.2.3 and 2.0.1 section 4.3; we answer per
  the spec. Every action is answered: one without a handler gets one of the two.
- ``call()`` returns ``None`` on a CALLERROR unless ``suppress=False``: we always raise.
- ``date-time`` fields are not validated by the library: handlers parse them with
  ``parse_timestamp`` (naive -> assumed UTC with a warning; unparsable -> FormationViolation).
- Decimals are encoded with one decimal place: ``call()`` refuses payloads containing Decimal.
- Side effects in ``@on`` happen before the reply is on the wire: ``after_reply`` schedules a
  follow-up that starts only once the CALLRESULT has been sent.
- The library logs every frame (idTags included): its logger is ours, at WARNING, without
  message arguments.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import inspect
import json
import logging
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import ocpp.charge_point
import ocpp.messages
import ocpp.routing
import structlog
from ocpp.charge_point import ChargePoint as LibraryChargePoint
from ocpp.charge_point import serialize_as_dict
from ocpp.exceptions import FormationViolationError, OCPPError
from ocpp.messages import Call, CallError, CallResult, MessageType
from ocpp.v16 import ChargePoint as LibraryChargePoint16
from ocpp.v16.enums import Action as Action16
from ocpp.v201 import ChargePoint as LibraryChargePoint201
from ocpp.v201.enums import Action as Action201

from cpo_core import schemas

log = structlog.get_logger("cpo_core.ocpp")

# CALLs from stations being handled right now, in this process (all connections, both
# versions): the boot-storm guard's measure of how busy the central system is
# (cpo_core.bootstorm).
_calls_in_flight = 0


def calls_in_flight() -> int:
    return _calls_in_flight

# The thread hop of async validation costs ~20% throughput (PROTOCOL_NOTES, OCPP).
ocpp.messages.ASYNC_VALIDATION = False

# The library renames every key of every payload with two regular expressions, both ways, on
# every CALL (about 3% of the hub's CPU under load). Same result, each distinct key converted
# once (bounded: a station sending made-up keys only churns the cache).
_library_camel_to_snake = ocpp.charge_point.camel_to_snake_case
_library_snake_to_camel = ocpp.charge_point.snake_to_camel_case


@functools.lru_cache(maxsize=4096)
def _snake_key(key: str) -> str:
    return str(next(iter(_library_camel_to_snake({key: None}))))


@functools.lru_cache(maxsize=4096)
def _camel_key(key: str) -> str:
    return str(next(iter(_library_snake_to_camel({key: None}))))


def _rename_keys(data: Any, rename: Callable[[str], str]) -> Any:
    if isinstance(data, dict):
        return {rename(key): _rename_keys(value, rename) for key, value in data.items()}
    if isinstance(data, list):
        return [_rename_keys(value, rename) for value in data]
    return data


def camel_to_snake_case(data: Any) -> Any:
    return _rename_keys(data, _snake_key)


def snake_to_camel_case(data: Any) -> Any:
    return _rename_keys(data, _camel_key)


ocpp.charge_point.camel_to_snake_case = camel_to_snake_case
ocpp.charge_point.snake_to_camel_case = snake_to_camel_case
# Outbound CALLs (``call()``) and their answers: compiled schemas too (cpo_core.schemas).
ocpp.charge_point.validate_payload = schemas.validate_payload

# Per class: action -> the names of its hooks and its ``_skip_schema_validation`` flag.
_RoutePlan = dict[str, tuple[str | None, str | None, bool]]
_route_plans: dict[tuple[type, int], _RoutePlan] = {}


def create_route_map(obj: Any) -> dict[str, dict[str, Any]]:
    """The library's ``create_route_map`` (``@on``/``@after`` handlers by action) with the
    class's routes found once: the library tries every decorated name of every class on each
    new connection, mostly raising AttributeError (about 140 us per connection)."""
    key = (type(obj), len(ocpp.routing.routables))  # a class defined later adds names
    plan = _route_plans.get(key)
    if plan is None:
        plan = {}
        for action, hooks in _library_create_route_map(obj).items():
            on_action, after_action = hooks.get("_on_action"), hooks.get("_after_action")
            plan[action] = (getattr(on_action, "__name__", None),
                            getattr(after_action, "__name__", None),
                            bool(hooks.get("_skip_schema_validation", False)))
        _route_plans[key] = plan
    routes: dict[str, dict[str, Any]] = {}
    for action, (on_name, after_name, skip) in plan.items():
        hooks = routes[action] = {}
        if on_name is not None:
            hooks["_skip_schema_validation"] = skip
            hooks["_on_action"] = getattr(obj, on_name)
        if after_name is not None:
            hooks["_after_action"] = getattr(obj, after_name)
    return routes


_library_create_route_map = ocpp.charge_point.create_route_map
ocpp.charge_point.create_route_map = create_route_map


def _wire_payload(data: Any) -> Any:
    """A handler's answer as the library puts it on the wire - ``serialize_as_dict``
    (``dataclasses.asdict``), ``remove_nones``, ``snake_to_camel_case`` - in one pass without
    the deep copies."""
    if isinstance(data, dict):
        return {_camel_key(k) if isinstance(k, str) else k: _wire_payload(v)
                for k, v in data.items() if v is not None}
    if isinstance(data, list):
        return [_wire_payload(v) for v in data if v is not None]
    fields = getattr(type(data), "__dataclass_fields__", None)
    if fields is not None and not isinstance(data, type):
        return {_camel_key(name): _wire_payload(value) for name in fields
                if (value := getattr(data, name)) is not None}
    if isinstance(data, tuple):
        return tuple(serialize_as_dict(v) if dataclasses.is_dataclass(v) else v for v in data)
    return data


# The library's encoder (Decimals with one decimal place, OCPP-J compact separators), built
# once instead of per frame by ``json.dumps(..., cls=...)``.
_FRAME_ENCODER = ocpp.messages._DecimalEncoder(separators=(",", ":"))


def _wants_unique_id(handler: Any) -> bool:
    """Does the handler declare ``call_unique_id``? (The library passes it only then, and
    asks ``inspect.signature`` on every CALL to find out: about 3% of the hub's CPU.)"""
    func = getattr(handler, "__func__", handler)
    wanted = _UNIQUE_ID_WANTED.get(func)
    if wanted is None:
        wanted = "call_unique_id" in inspect.signature(handler).parameters
        if len(_UNIQUE_ID_WANTED) < 4096:  # handler functions: a fixed set
            _UNIQUE_ID_WANTED[func] = wanted
    return wanted


_UNIQUE_ID_WANTED: dict[Any, bool] = {}

# OCPP-J 1.6 section 4.2.3 error codes where the library uses the OCPP 2.0 spelling.
ERROR_CODES_16 = {
    "FormatViolation": "FormationViolation",
    "OccurrenceConstraintViolation": "OccurenceConstraintViolation",
}
# OCPP-J 2.0.1 section 4.3: the other way round (our helpers raise FormationViolationError).
ERROR_CODES_201 = {
    "FormationViolation": "FormatViolation",
    "OccurenceConstraintViolation": "OccurrenceConstraintViolation",
}
# Internal marker for "unknown MessageTypeId", spelled per version.
_UNKNOWN_MESSAGE_TYPE = "UnknownMessageType"

# OCPP-J 1.6 section 4.1.4: the unique id is a string of at most 36 characters.
MAX_UNIQUE_ID = 36
# Only a CALL (type 2) is ever answered.
_CALL_ID_IN_BROKEN_JSON = re.compile(r'^\s*\[\s*2\s*,\s*"([^"\\]{1,36})"')


class _DropArguments(logging.Filter):
    """The library formats whole frames into its log lines: keep only the format string."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.args = None
        return True


def library_logger() -> logging.Logger:
    """The logger handed to the library's ChargePoint: WARNING and up, no frame contents."""
    logger = logging.getLogger("cpo_core.ocpp_library")
    if not any(isinstance(f, _DropArguments) for f in logger.filters):
        logger.addFilter(_DropArguments())
    # setLevel empties every logger's level cache: once, not per connection.
    for target in (logger, logging.getLogger("ocpp")):
        if target.level != logging.WARNING:
            target.setLevel(logging.WARNING)
    return logger


def parse_timestamp(value: str, field: str, *, station_id: str) -> datetime:
    """An OCPP ``dateTime`` (RFC 3339) as an aware UTC datetime.

    Naive values are common in the field; we assume UTC and log it. Unparsable values are a
    FormationViolation (the schema's ``format: date-time``, which the library doesn't check).
    """
    try:
        parsed = datetime.fromisoformat(value)
    except (TypeError, ValueError) as exc:
        raise FormationViolationError(
            description=f"{field} is not an RFC 3339 date-time", details={"field": field}
        ) from exc
    if parsed.tzinfo is None:
        log.warning("ocpp.timestamp.naive", station=station_id, field=field)
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def format_timestamp(value: datetime) -> str:
    """RFC 3339 in UTC with milliseconds and a ``Z``, as most stations expect."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _contains_decimal(data: Any) -> bool:
    if isinstance(data, Decimal):
        return True
    if isinstance(data, dict):
        return any(_contains_decimal(v) for v in data.values())
    if isinstance(data, list | tuple):
        return any(_contains_decimal(v) for v in data)
    return False


def _recover_unique_id(frame: Any) -> str | None:
    if isinstance(frame, list) and len(frame) > 1 and isinstance(frame[1], str):
        return frame[1][:MAX_UNIQUE_ID] if frame[1] else None
    return None


def _frame_problem(frame: Any) -> str | None:
    """Why a decoded frame is not a well-formed OCPP-J message (section 4.1), or None."""
    if not isinstance(frame, list) or not frame:
        return "a message is a non-empty JSON array"
    kind = frame[0]
    if isinstance(kind, bool) or kind not in (2, 3, 4):
        return f"{_UNKNOWN_MESSAGE_TYPE}: MessageTypeId {kind!r}"
    if len(frame) < 2 or not isinstance(frame[1], str) or not frame[1] \
            or len(frame[1]) > MAX_UNIQUE_ID:
        return "UniqueId must be a string of 1-36 characters"
    if kind == MessageType.Call:
        if len(frame) != 4 or not isinstance(frame[2], str) or not isinstance(frame[3], dict):
            return "CALL is [2, UniqueId, Action, {Payload}]"
    elif kind == MessageType.CallResult:
        if len(frame) != 3 or not isinstance(frame[2], dict):
            return "CALLRESULT is [3, UniqueId, {Payload}]"
    elif len(frame) not in (4, 5) or not isinstance(frame[2], str):
        return "CALLERROR is [4, UniqueId, ErrorCode, ErrorDescription, {ErrorDetails}]"
    return None


class OcppFixes(LibraryChargePoint):
    """The trap fixes, for any OCPP version. A version's class puts this before the library's
    versioned ``ChargePoint`` (which only sets the version and its message modules) and
    declares ``error_codes`` (library spelling -> the version's spelling),
    ``unknown_message_type_code`` and ``known_actions`` (for NotImplemented vs NotSupported).
    """

    error_codes: dict[str, str] = {}
    unknown_message_type_code = "FormatViolation"
    known_actions: frozenset[str] = frozenset()

    def __init__(self, station_id: str, connection: Any, *, response_timeout: float = 30) -> None:
        super().__init__(station_id, connection, response_timeout=response_timeout,
                         logger=library_logger())
        self._follow_ups: list[Callable[[], Awaitable[None]]] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._last_sent_result = False

    # -- outbound ------------------------------------------------------------------------------

    async def call(self, payload: Any, suppress: bool = False, unique_id: str | None = None,
                   skip_schema_validation: bool = False) -> Any:
        """As the library's, but a CALLERROR always raises and Decimals are refused."""
        if _contains_decimal(serialize_as_dict(payload)):
            raise TypeError("Decimal in an OCPP payload: send a str or int instead")
        return await super().call(
            payload, suppress=False, unique_id=unique_id,
            skip_schema_validation=skip_schema_validation)

    async def close(self, code: int = 1000, reason: str = "") -> None:
        await self._connection.close(code, reason)

    def after_reply(self, follow_up: Callable[[], Awaitable[None]]) -> None:
        """Run ``follow_up()`` once the reply to the CALL being handled is on the wire."""
        self._follow_ups.append(follow_up)

    # -- inbound -------------------------------------------------------------------------------

    async def route_message(self, raw_msg: str | bytes) -> None:
        try:
            frame = json.loads(raw_msg)
        except (ValueError, UnicodeDecodeError):
            text = raw_msg if isinstance(raw_msg, str) else raw_msg.decode(errors="replace")
            match = _CALL_ID_IN_BROKEN_JSON.match(text)
            log.warning("ocpp.frame.invalid_json", station=self.id, answered=bool(match))
            if match:
                await self._send_error(match.group(1), "FormatViolation",
                                       "Message is not valid JSON")
            return
        problem = _frame_problem(frame)
        if problem is not None:
            log.warning("ocpp.frame.malformed", station=self.id, problem=problem)
            unique_id = _recover_unique_id(frame)
            # Never answer something that claims to be an answer itself.
            if unique_id and not (isinstance(frame, list) and frame[0] in (3, 4)):
                code = (self.unknown_message_type_code
                        if problem.startswith(_UNKNOWN_MESSAGE_TYPE) else "FormatViolation")
                await self._send_error(unique_id, code, problem)
            return
        if frame[0] == MessageType.Call:
            await self._dispatch(Call(frame[1], frame[2], frame[3]))
        elif frame[0] == MessageType.CallResult:
            self._response_queue.put_nowait(CallResult(frame[1], frame[2]))
        else:
            details = frame[4] if len(frame) == 5 and isinstance(frame[4], dict) else {}
            self._response_queue.put_nowait(
                CallError(frame[1], frame[2], str(frame[3]), details))

    async def _send(self, message: str) -> None:
        # Remember whether the last frame was a CALLRESULT: the library answers a failing
        # handler with a CALLERROR itself and then returns normally.
        self._last_sent_result = message.startswith("[3,")
        if message.startswith("[4,"):
            # The library answers a failing handler itself, in its own spelling.
            message = self._respell_error(message)
        await super()._send(message)

    def _respell_error(self, message: str) -> str:
        frame = json.loads(message)
        code = frame[2] if len(frame) > 2 and isinstance(frame[2], str) else None
        if code not in self.error_codes:
            return message
        frame[2] = self.error_codes[code]
        return json.dumps(frame, separators=(",", ":"))

    async def _dispatch(self, msg: Call) -> None:
        global _calls_in_flight
        _calls_in_flight += 1
        try:
            await self._dispatch_counted(msg)
        finally:
            _calls_in_flight -= 1

    async def _dispatch_counted(self, msg: Call) -> None:
        self._follow_ups = []
        self._last_sent_result = False
        if "_on_action" not in self.route_map.get(msg.action, {}):
            await self._unhandled(msg)
            return
        try:
            if await self.inbound_lenient(msg):
                await self._handle_call_lenient(msg)
            else:
                await self._handle_call(msg)
        except OCPPError as exc:
            log.warning("ocpp.call.rejected", station=self.id, action=msg.action,
                        code=exc.code, reason=exc.description)
            await self._send_error(msg.unique_id, exc.code, exc.description,
                                   _plain_details(exc.details))
            self._follow_ups = []
            return
        except Exception:
            log.exception("ocpp.call.failed", station=self.id, action=msg.action)
            await self._send_error(msg.unique_id, "InternalError", "An internal error occurred")
            self._follow_ups = []
            return
        follow_ups, self._follow_ups = self._follow_ups, []
        if not self._last_sent_result:
            return
        for follow_up in follow_ups:
            self._spawn(follow_up())

    async def _handle_call(self, msg: Call) -> Any:
        """The library's ``ChargePoint._handle_call``, step for step (validate the request,
        call ``_on_action``, answer, validate the answer, send, then ``_after_action``) with
        its per-CALL overheads removed: compiled schemas (cpo_core.schemas), the handler's
        ``call_unique_id`` parameter looked up once, the answer serialised in one pass and
        encoded by a prebuilt encoder. Same frames, same errors (tests/cpo_core/test_base.py,
        test_frames.py, test_schemas.py)."""
        handlers = self.route_map[msg.action]  # known: _dispatch_counted checked
        validate = not handlers.get("_skip_schema_validation", False)
        if validate:
            await schemas.validate_payload(msg, self._ocpp_version)
        snake_case_payload = camel_to_snake_case(msg.payload)
        handler = handlers["_on_action"]
        try:
            if _wants_unique_id(handler):
                response = handler(**snake_case_payload, call_unique_id=msg.unique_id)
            else:
                response = handler(**snake_case_payload)
            if inspect.isawaitable(response):
                response = await response
        except Exception as e:
            self.logger.exception("Error while handling request '%s'", msg)
            await self._send(msg.create_call_error(e).to_json())
            return None
        result = msg.create_call_result(_wire_payload(response))
        if validate:
            await schemas.validate_payload(result, self._ocpp_version)
        await self._send(_FRAME_ENCODER.encode(
            [result.message_type_id, result.unique_id, result.payload]))
        after = handlers.get("_after_action")
        if after is None:
            return response
        if _wants_unique_id(after):
            response = after(**snake_case_payload, call_unique_id=msg.unique_id)
        else:
            response = after(**snake_case_payload)
        if inspect.isawaitable(response):  # a task: the hook may itself make a CALL
            self._spawn(response)
        return response

    async def inbound_lenient(self, msg: Call) -> bool:
        """Lenient inbound validation for this CALL? Off here; vendor profiles turn it on
        (``cpo_core.vendors``). Outbound stays strict."""
        return False

    async def _handle_call_lenient(self, msg: Call) -> None:
        """Validate ourselves: a schema violation is logged and the message accepted."""
        try:
            await schemas.validate_payload(msg, self._ocpp_version)
        except OCPPError as exc:
            log.warning("ocpp.inbound.lenient_accept", station=self.id, action=msg.action,
                        code=exc.code, reason=str(exc.description)[:200])
        handlers = self.route_map[msg.action]  # per instance: create_route_map(self)
        self.route_map[msg.action] = {**handlers, "_skip_schema_validation": True}
        try:
            await self._handle_call(msg)
        finally:
            self.route_map[msg.action] = handlers

    def _spawn(self, coro: Awaitable[None]) -> None:
        async def run() -> None:
            try:
                await coro
            except Exception:
                log.exception("ocpp.follow_up.failed", station=self.id)

        task = asyncio.create_task(run(), name=f"ocpp-follow-up-{self.id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _unhandled(self, msg: Call) -> None:
        """OCPP-J 1.6 section 4.2.3 / 2.0.1 section 4.3: NotImplemented = action not known;
        NotSupported = known but not supported. ocpp 2.1.0 swaps the two."""
        known = msg.action in self.known_actions
        code = "NotSupported" if known else "NotImplemented"
        log.info("ocpp.call.unhandled", station=self.id, action=str(msg.action)[:64], code=code)
        await self._send_error(msg.unique_id, code, f"{code}: {str(msg.action)[:64]}")

    async def _send_error(self, unique_id: str, code: str, description: str,
                          details: dict[str, Any] | None = None) -> None:
        error = CallError(unique_id, self.error_codes.get(code, code), description, details or {})
        await self._send(error.to_json())

    def cancel_follow_ups(self) -> None:
        for task in list(self._tasks):
            task.cancel()


class OcppChargePoint(OcppFixes, LibraryChargePoint16):
    """Base for both ends of an OCPP 1.6J connection (central system and simulator)."""

    error_codes = ERROR_CODES_16
    unknown_message_type_code = "FormationViolation"
    known_actions = frozenset(a.value for a in Action16)


class OcppChargePoint201(OcppFixes, LibraryChargePoint201):
    """Base for both ends of an OCPP 2.0.1 connection (CSMS and simulator)."""

    error_codes = ERROR_CODES_201
    unknown_message_type_code = "MessageTypeNotSupported"  # OCPP-J 2.0.1 section 4.3
    known_actions = frozenset(a.value for a in Action201)


def _plain_details(details: Any) -> dict[str, Any]:
    """Only a string ``cause``: the library puts whole frames (idTags) into its details."""
    if isinstance(details, dict) and isinstance(details.get("cause"), str):
        return {"cause": details["cause"][:500]}
    return {}
