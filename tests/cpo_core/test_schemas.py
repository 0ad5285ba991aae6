"""Compiled OCPP schema validation (cpo_core.schemas) against the library's own: for every
1.6 and 2.0.1 message, a valid payload generated from its schema and hundreds of broken ones
(wrong types, booleans for numbers, integral floats, missing and unknown keys, overlong
strings, values outside enums) get the same verdict from both validators; a rejected one gets
the library's error."""

from __future__ import annotations

import copy
import glob
import json
import os
from collections.abc import Iterator
from typing import Any

import ocpp
import ocpp.messages
import pytest
from ocpp.exceptions import OCPPError
from ocpp.messages import Call, CallResult

from cpo_core import schemas

SCHEMA_DIRS = {"1.6": "v16", "2.0.1": "v201"}
ODD_VALUES: list[Any] = [None, True, False, 0, 1, -1, 1.0, 2.5, "", "x", "x" * 600, [], [1], {},
                         {"a": 1}, 10**12]


def messages() -> Iterator[tuple[str, int, str, dict[str, Any]]]:
    """Every message's schema, read from the library's files (not through its
    ``get_validator``, whose cache would then hold float-parsed schemas for the messages it
    validates with Decimals)."""
    root = os.path.dirname(ocpp.__file__)
    for version, folder in SCHEMA_DIRS.items():
        for path in sorted(glob.glob(f"{root}/{folder}/schemas/*.json")):
            name = os.path.basename(path)[:-5]
            with open(path, encoding="utf-8-sig") as f:
                schema = json.load(f)
            if name.endswith("Response"):
                yield version, 3, name[:-len("Response")], schema
            else:
                yield version, 2, name.removesuffix("Request"), schema


def _resolve(node: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = root["definitions"][node["$ref"].rsplit("/", 1)[-1]]
    return node


def sample(node: dict[str, Any], root: dict[str, Any], depth: int = 0) -> Any:
    """A payload valid under ``node``, every optional property included (to be broken)."""
    node = _resolve(node, root)
    if "enum" in node:
        return node["enum"][-1]
    kind = node.get("type", "object")
    if isinstance(kind, list):
        kind = kind[0]
    if kind == "object":
        props = node.get("properties", {})
        keys = props if depth < 6 else node.get("required", [])
        return {key: sample(props[key], root, depth + 1) for key in keys}
    if kind == "array":
        return [sample(node.get("items", {}), root, depth + 1)
                for _ in range(max(1, node.get("minItems", 1)))]
    if kind == "string":
        return "s" * max(1, min(node.get("maxLength", 8), 8))
    if kind == "integer":
        return max(node.get("minimum", 1), 1)
    if kind == "number":
        return float(max(node.get("minimum", 1), 1))
    if kind == "boolean":
        return True
    return None


def _paths(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield (*path, key)
            yield from _paths(item, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield (*path, i)
            yield from _paths(item, (*path, i))


def _set(payload: Any, path: tuple[Any, ...], value: Any) -> Any:
    out = copy.deepcopy(payload)
    target = out
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return out


def _delete(payload: Any, path: tuple[Any, ...]) -> Any:
    out = copy.deepcopy(payload)
    target = out
    for step in path[:-1]:
        target = target[step]
    del target[path[-1]]
    return out


def variants(valid: Any) -> Iterator[Any]:
    yield valid
    yield {**valid, "unknownKey": 1}
    for path in list(_paths(valid)):
        for odd in ODD_VALUES:
            yield _set(valid, path, odd)
        yield _delete(valid, path)
        parent = valid
        for step in path[:-1]:
            parent = parent[step]
        if isinstance(parent, dict) and isinstance(parent[path[-1]], dict):
            yield _set(valid, path, {**parent[path[-1]], "unknownKey": "x"})


def library_verdict(message: Call | CallResult, version: str) -> str | None:
    """None when the library accepts the payload, else its error code and description."""
    try:
        ocpp.messages._validate_payload(copy.deepcopy(message), version)
    except OCPPError as exc:
        return f"{exc.code}: {exc.description}"
    return None


def build(version: str, kind: int, action: str, payload: Any) -> Call | CallResult:
    if kind == 2:
        return Call("1", action, payload)
    result = CallResult("1", payload)
    result.action = action
    return result


@pytest.mark.parametrize("version", sorted(SCHEMA_DIRS))
def test_compiled_validation_agrees_with_the_library(version: str) -> None:
    compared = rejected = 0
    for v, kind, action, schema in messages():
        if v != version:
            continue
        for payload in variants(sample(schema, schema)):
            message = build(version, kind, action, payload)
            expected = library_verdict(message, version)
            fast = schemas.is_valid_fast(message, version)
            if schemas.compiled(version, kind, action) is None:
                assert not fast  # the library decides
            else:
                assert fast == (expected is None), (action, kind, payload, expected)
            compared += 1
            rejected += expected is not None
    # The generated payloads exercise both verdicts, in quantity.
    assert compared > 3000 and rejected > compared // 3


async def test_a_rejected_payload_gets_the_library_error() -> None:
    message = Call("1", "StartTransaction", {"connectorId": "one", "idTag": "X",
                                             "meterStart": 0, "timestamp": "t"})
    with pytest.raises(OCPPError) as ours:
        await schemas.validate_payload(copy.deepcopy(message), "1.6")
    with pytest.raises(OCPPError) as theirs:
        await ocpp.messages.validate_payload(copy.deepcopy(message), "1.6")
    assert type(ours.value) is type(theirs.value)
    assert ours.value.code == "TypeConstraintViolation"
    assert ours.value.description == theirs.value.description


async def test_decimal_parsed_messages_still_get_the_library_decimals() -> None:
    """SetChargingProfile's limits are re-parsed as Decimal by the library (multipleOf 0.1);
    that path is kept, so 21.4 stays valid."""
    profile = {"connectorId": 1, "csChargingProfiles": {
        "chargingProfileId": 1, "stackLevel": 0, "chargingProfilePurpose": "TxDefaultProfile",
        "chargingProfileKind": "Absolute", "chargingSchedule": {
            "chargingRateUnit": "A",
            "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 21.4}]}}}
    message = Call("1", "SetChargingProfile", profile)
    assert schemas.compiled("1.6", 2, "SetChargingProfile") is None
    await schemas.validate_payload(message, "1.6")
    limit = message.payload["csChargingProfiles"]["chargingSchedule"][
        "chargingSchedulePeriod"][0]["limit"]
    assert str(limit) == "21.4" and not isinstance(limit, float)


def test_answers_serialise_as_the_library_serialises_them() -> None:
    """cpo_core.base answers in one pass what the library builds with serialize_as_dict,
    remove_nones and snake_to_camel_case (and encodes with the library's encoder)."""
    import json
    from decimal import Decimal

    from ocpp.charge_point import remove_nones, serialize_as_dict
    from ocpp.v16 import call_result as r16
    from ocpp.v16.datatypes import IdTagInfo
    from ocpp.v16.enums import AuthorizationStatus, RegistrationStatus
    from ocpp.v201 import call_result as r201
    from ocpp.v201.datatypes import (
        ComponentType,
        GetVariableResultType,
        IdTokenInfoType,
        VariableType,
    )
    from ocpp.v201.enums import GetVariableStatusEnumType

    from cpo_core.base import _FRAME_ENCODER, _wire_payload
    from cpo_core.base import _library_snake_to_camel as snake_to_camel_case

    answers: list[Any] = [
        r16.BootNotification(current_time="2026-01-01T00:00:00Z", interval=300,
                             status=RegistrationStatus.accepted),
        r16.StartTransaction(transaction_id=7, id_tag_info=IdTagInfo(
            status=AuthorizationStatus.accepted, expiry_date=None, parent_id_tag="P1")),
        r16.StartTransaction(transaction_id=8, id_tag_info={"status": "Accepted",
                                                            "expiry_date": None}),
        r16.StatusNotification(),
        r16.DataTransfer(status="Accepted", data=None),
        r201.Authorize(id_token_info=IdTokenInfoType(status="Accepted", group_id_token=None)),
        r201.GetVariables(get_variable_result=[GetVariableResultType(
            attribute_status=GetVariableStatusEnumType.accepted,
            component=ComponentType(name="OCPPCommCtrlr", evse=None),
            variable=VariableType(name="HeartbeatInterval"), attribute_value="300")]),
        r201.Heartbeat(current_time="2026-01-01T00:00:00Z"),
    ]
    for answer in answers:
        library = snake_to_camel_case(remove_nones(serialize_as_dict(answer)))
        ours = _wire_payload(answer)
        assert ours == library
        assert _FRAME_ENCODER.encode([3, "1", ours]) == CallResult("1", library).to_json()
    assert _FRAME_ENCODER.encode([3, "1", {"limit": Decimal("21.4")}]) == \
        CallResult("1", {"limit": Decimal("21.4")}).to_json()
    assert json.loads(_FRAME_ENCODER.encode([3, "1", _wire_payload(answers[0])]))[2] == {
        "currentTime": "2026-01-01T00:00:00Z", "interval": 300, "status": "Accepted"}
